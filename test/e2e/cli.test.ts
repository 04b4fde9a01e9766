import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paas, scratchDir, examplesDir, repoRoot } from './helpers.js';

const scratch = scratchDir('paas-cli-');
afterAll(() => scratch.cleanup());

function app(name: string, files: Record<string, string>): string {
  const dir = path.join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** A clear failure: the expected exit code, the message on stderr, and no stack trace. */
function expectCleanFailure(result: { exitCode: number; stderr: string }, exitCode: number, ...fragments: (string | RegExp)[]) {
  expect(result.exitCode, result.stderr).toBe(exitCode);
  for (const fragment of fragments) expect(result.stderr).toMatch(fragment);
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe('the CLI', () => {
  it('prints its version and help with examples for every command', async () => {
    const version = await paas(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^paas\/\d+\.\d+\.\d+ /);
    for (const command of ['detect', 'init', 'build', 'sandbox:up', 'sandbox:down', 'sandbox:list']) {
      const help = await paas([command, '--help']);
      expect(help.exitCode, command).toBe(0);
      expect(help.stdout, command).toContain('EXAMPLES');
      expect(help.stdout, command).toContain(`$ paas ${command}`);
    }
  });

  it('docs/commands.md covers every command (npm run docs regenerates it)', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
    const docs = readFileSync(path.join(repoRoot, 'docs', 'commands.md'), 'utf8');
    for (const id of Object.keys(manifest.commands)) expect(docs, id).toContain(`## \`paas ${id}`);
  });

  it('detect --json prints the plan of an example', async () => {
    const result = await paas(['detect', path.join(examplesDir, 'node'), '--json']);
    expect(result.exitCode).toBe(0);
    const { plan } = JSON.parse(result.stdout);
    expect(plan.stack).toBe('node');
    expect(plan.packageManager).toBe('npm');
    expect(plan.processes).toEqual({ web: 'node server.js' });
    expect(plan.reasons.join('\n')).toContain('package.json');
  });

  it('init writes a paas.yml that paas then reads, and refuses to overwrite it', async () => {
    const dir = app('init-me', { 'package.json': '{"name":"x","scripts":{"start":"node a.js"}}', 'Procfile': 'web: node a.js\nworker: node w.js\n' });
    const first = await paas(['init', dir, '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).written).toHaveLength(1);
    const detected = JSON.parse((await paas(['detect', dir, '--json'])).stdout);
    expect(detected.app).toBe('init-me');
    expectCleanFailure(await paas(['init', dir]), 2, /paas\.yml already exists/, /--force/);
    const ejected = await paas(['init', dir, '--eject', '--force', '--json']);
    expect(ejected.exitCode, ejected.stderr).toBe(0);
    expect(JSON.parse(ejected.stdout).written.map((f: string) => path.basename(f))).toEqual(['paas.yml', 'Dockerfile', '.dockerignore']);
    const afterEject = JSON.parse((await paas(['detect', dir, '--json'])).stdout);
    expect(afterEject.plan.stack).toBe('dockerfile');
  });
});

describe('bad input: clear message, non-zero exit, no stack trace', () => {
  it('missing DIR', async () => {
    expectCleanFailure(await paas(['detect', path.join(scratch.dir, 'nope')]), 4, /no such directory/);
    expectCleanFailure(await paas(['build', path.join(scratch.dir, 'nope')]), 4, /no such directory/);
  });

  it('malformed package.json names the file and line', async () => {
    const dir = app('bad-json', { 'package.json': '{\n  "name": "x",\n  "scripts": { "start": "node a.js", }\n}\n' });
    expectCleanFailure(await paas(['detect', dir]), 3, /package\.json:3/);
  });

  it('a package.json that cannot be read as a file', async () => {
    const dir = app('dir-json', {});
    mkdirSync(path.join(dir, 'package.json'));
    expectCleanFailure(await paas(['detect', dir]), 3, /package\.json is a directory/);
  });

  it('malformed Procfile names the line', async () => {
    const dir = app('bad-procfile', { 'package.json': '{"name":"x"}', 'Procfile': 'web: node a.js\n\nthis is not a process\n' });
    expectCleanFailure(await paas(['detect', dir]), 3, /Procfile:3/);
  });

  it('malformed paas.yml names file, line and key', async () => {
    const dir = app('bad-yml', { 'package.json': '{"name":"x","main":"a.js"}', 'paas.yml': 'app: shop\nhelthcheck:\n  path: /up\n' });
    expectCleanFailure(await paas(['build', dir]), 3, /paas\.yml:2:1/, /helthcheck/, /did you mean "healthcheck"/);
  });

  it('nothing recognisable says what was looked for', async () => {
    const dir = app('empty-app', { 'README.md': '# nothing to run\n' });
    expectCleanFailure(await paas(['detect', dir]), 4, /no recognisable app/, /package\.json/, /requirements\.txt/, /go\.mod/, /Gemfile/, /index\.html/, /Dockerfile/);
  });

  it('--json failures are one JSON document on stdout', async () => {
    const result = await paas(['detect', path.join(scratch.dir, 'nope'), '--json']);
    expect(result.exitCode).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: 'detect', exitCode: 4 });
  });

  it('Docker Engine not running says how to start it', async () => {
    const env = { DOCKER_HOST: `unix://${path.join(scratch.dir, 'no-engine.sock')}` };
    expectCleanFailure(await paas(['build', path.join(examplesDir, 'node')], { env }), 5, /Docker Engine is not running/, /systemctl start docker|scripts\/engine\.sh/);
    expectCleanFailure(await paas(['sandbox:list'], { env }), 5, /Docker Engine is not running/);
  });

  it('--debug shows the stack trace', async () => {
    const result = await paas(['detect', path.join(scratch.dir, 'nope'), '--debug']);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
