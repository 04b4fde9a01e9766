import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellCommand } from '../../src/util/shell.js';
import { cliPath, copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

const world = testWorld('config');
const app = 'cfg';
const example = copyExample('node');
let host: TestHost;

/** Hostile values, each with a marker of its own so that a grep for it cannot hit anything else. */
const HOSTILE: Record<string, string> = {
  SPACED: 'a b qz1',
  QUOTES: `"'$(touch /tmp/pwned) qz2`,
  EQUALS: 'x=y=z qz3',
  NEWLINE: 'line one qz4\nline two',
  UNICODE: 'héllo ✓ 日本 🚀 qz5',
  EMPTY: '',
};
const assignments = Object.entries(HOSTILE).map(([k, v]) => `${k}=${v}`);
/** Strings that must appear nowhere on the host but in the encrypted files and docker's own container config. */
const NEEDLES = ['a b qz1', '$(touch /tmp/pwned) qz2', 'x=y=z qz3', 'line one qz4', 'héllo ✓ 日本 🚀 qz5'];

const hostExec = (...args: string[]) => execa('docker', ['exec', host.container, ...args], { reject: false });
const cli = (...args: string[]) => world.cli([...args, '--app', app, ...world.at(host)]);
/** `paas run --app … -- argv`: everything after -- is the command, so the flags go before it. */
const run = (...argv: string[]) => world.cli(['run', '--app', app, ...world.at(host), '--', ...argv]);
const env = async (name: string) => viaNginx(host, app, `/env/${name}`);
const versionServed = async () => /version (\d+)/.exec((await viaNginx(host, app)).body)?.[1];
const releases = async () => world.cliJson<{ current: number; releases: { version: number; description: string; configVars?: string[] }[] }>(['releases', '--app', app, ...world.at(host)]);

function setFile(name: string, text: string): void {
  writeFileSync(path.join(example.dir, name), text);
}
function setVersion(version: number): void {
  const file = path.join(example.dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
}

function expectNoValue(text: string, where: string): void {
  for (const needle of NEEDLES) expect(text.includes(needle), `${JSON.stringify(needle)} in ${where}`).toBe(false);
}

beforeAll(async () => {
  setFile('Procfile', 'web: node server.js\nrelease: node release.js\n');
  setFile('release.js', "console.log(`release phase of ${process.env.PAAS_RELEASE}: GREETING is ${process.env.SPACED === undefined ? 'unset' : 'set'}`);\nif (process.env.FAIL_RELEASE) { console.error('migration failed: ' + process.env.FAIL_RELEASE_REASON); process.exit(4); }\n");
  host = await world.addHost('a');
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('config vars, release phase and paas run on a sandbox host', () => {
  it('deploy runs the release phase before any web container starts', async () => {
    const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
    const output = result.stdout + result.stderr;
    const phase = output.indexOf('release phase of v1: GREETING is unset');
    expect(phase).toBeGreaterThan(-1);
    expect(output.indexOf('started web.1')).toBeGreaterThan(phase);
    expect((await viaNginx(host, app)).body).toBe('Hello from the node example, version 1\n');
  });

  it('config:set of hostile values under constant load: exact bytes reach the app, 0 failed requests', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from the node example, version \d+\n$/, maxDurationMs: 180_000 });
    const result = await cli('config:set', ...assignments, 'NODE_ENV=from-config');
    const report = await load.stop();
    console.log(`config:set under load: ${formatLoadReport(report)}`);
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.sent).toBeGreaterThan(100);
    // The release phase ran for the config change too, and saw the new vars.
    expect(result.stderr + result.stdout).toContain('release phase of v2: GREETING is set');
    expectNoValue(result.stdout + result.stderr, 'the output of config:set');
    for (const [name, value] of Object.entries(HOSTILE)) {
      const answer = await env(name);
      expect(answer, name).toEqual({ status: 200, body: value });
    }
    expect((await env('NODE_ENV')).body).toBe('from-config');
    // Not run by any shell anywhere.
    expect((await hostExec('test', '-e', '/tmp/pwned')).exitCode).toBe(1);
    const list = await releases();
    expect(list.current).toBe(2);
    expect(list.releases[0]).toMatchObject({ version: 2, description: 'Set SPACED, QUOTES, EQUALS, NEWLINE, UNICODE, EMPTY, NODE_ENV config vars' });
    expect(list.releases[0]!.configVars).toEqual(['EMPTY', 'EQUALS', 'NEWLINE', 'NODE_ENV', 'QUOTES', 'SPACED', 'UNICODE']);
  });

  it('config shows masks, --reveal and config:get the exact values', async () => {
    const masked = await cli('config');
    expect(masked.exitCode, masked.stderr).toBe(0);
    expectNoValue(masked.stdout + masked.stderr, 'paas config');
    expect(masked.stdout).toContain('EQUALS:   ••••••••'); // 9 characters: all hidden
    expect(masked.stdout).toContain(`QUOTES:   "'••••••`);
    expect(masked.stdout).toContain('UNICODE:  hé••••••');
    const revealed = JSON.parse((await cli('config', '--reveal', '--json')).stdout) as { vars: Record<string, string> };
    expect(revealed.vars).toEqual({ ...HOSTILE, NODE_ENV: 'from-config' });
    for (const [name, value] of Object.entries(HOSTILE)) {
      const got = await cli('config:get', name);
      expect(got.exitCode, got.stderr).toBe(0);
      expect(got.stdout, name).toBe(value); // printed with a newline, which execa strips
    }
    const missing = await cli('config:get', 'NOPE');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('has no config var NOPE');
  });

  it('no value in plaintext on the host: state files, process argv, container Args/Cmd', async () => {
    for (const needle of NEEDLES) {
      const grep = await hostExec('grep', '-r', '-l', '-F', '-e', needle, '/var/lib/paas');
      expect(grep.exitCode, `${needle} found in ${grep.stdout}`).toBe(1);
    }
    const files = await hostExec('sh', '-c', 'ls -l /var/lib/paas/secret.key /var/lib/paas/apps/cfg/config.enc /var/lib/paas/apps/cfg/config/');
    expect(files.stdout).toMatch(/^-rw------- 1 root root +32 .*secret\.key$/m);
    expect(files.stdout).toMatch(/^-rw------- 1 root root +\d+ .*config\.enc$/m);
    expect(files.stdout).toMatch(/^-rw------- 1 root root +\d+ .*v2\.enc$/m);
    const ps = await hostExec('ps', '-eo', 'args');
    expect(ps.exitCode).toBe(0);
    expectNoValue(ps.stdout, 'ps -eo args');
    const ids = (await hostExec('docker', 'ps', '--all', '--quiet', '--filter', `label=paas.app=${app}`)).stdout.split('\n').filter(Boolean);
    expect(ids.length).toBeGreaterThan(0);
    const inspect = await hostExec('docker', 'inspect', '--format', '{{json .Path}} {{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.Labels}}', ...ids);
    expectNoValue(inspect.stdout, 'docker inspect Path/Args/Cmd/Entrypoint/Labels');
    // What the app sees does come from the environment (docker keeps it in the container's config).
    const envs = await hostExec('docker', 'inspect', '--format', '{{json .Config.Env}}', ids[0]!);
    expect(JSON.parse(envs.stdout.split('\n')[0]!) as string[]).toContain(`SPACED=${HOSTILE.SPACED}`);
  });

  it('a deploy keeps the config vars; config:unset removes one; rollback restores the previous config', async () => {
    setVersion(2);
    const deployed = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
    expect(deployed.exitCode, deployed.stderr.slice(-3000)).toBe(0);
    expectNoValue(deployed.stdout + deployed.stderr, 'the deploy output');
    expect(await versionServed()).toBe('2');
    expect(await env('UNICODE')).toEqual({ status: 200, body: HOSTILE.UNICODE });

    const unset = await cli('config:unset', 'NEWLINE', 'NODE_ENV');
    expect(unset.exitCode, unset.stderr.slice(-3000)).toBe(0);
    expect((await env('NEWLINE')).status).toBe(404);
    expect((await env('NODE_ENV')).body).toBe('production'); // paas.yml/stack env again once the config var is gone
    expect(await versionServed()).toBe('2');

    const back = await world.cliJson<{ release: number }>(['rollback', '--app', app, ...world.at(host)]);
    expect(back.release).toBe(5);
    expect(await env('NEWLINE')).toEqual({ status: 200, body: HOSTILE.NEWLINE });
    expect((await env('NODE_ENV')).body).toBe('from-config');
    expect((await cli('config:get', 'NEWLINE')).stdout).toBe(HOSTILE.NEWLINE);
    // The rollback ran no release phase.
    expect((await releases()).releases[0]).toMatchObject({ version: 5, description: 'Rollback to v3' });
  });

  it('a failing release phase (config:set, then deploy): exit 13 with its output, the old release keeps serving, nothing switched or recorded', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version 2\n$/, maxDurationMs: 300_000 });
    // FAIL_RELEASE as a config var: the release phase of a config change sees the new config.
    const setFail = await cli('config:set', 'FAIL_RELEASE=1', 'FAIL_RELEASE_REASON=table users exists');
    expect(setFail.exitCode, setFail.stderr.slice(-2000)).toBe(13);
    expect(setFail.stderr).toContain('the release phase of v6 (node release.js) exited with code 4');
    expect(setFail.stderr).toContain('migration failed: table users exists');
    expect((await cli('config:get', 'FAIL_RELEASE')).exitCode).toBe(2); // not stored

    // A deploy whose release phase fails.
    setVersion(3);
    setFile('release.js', "console.error('cannot migrate: schema v9 unknown');\nprocess.exit(5);\n");
    const failed = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
    expect(failed.exitCode, failed.stderr.slice(-2000)).toBe(13);
    expect(failed.stderr).toContain('exited with code 5');
    expect(failed.stderr).toContain('cannot migrate: schema v9 unknown');
    expect(failed.stderr.indexOf('started web.1')).toBe(-1);

    const report = await load.stop();
    console.log(`failing release phases under load: ${formatLoadReport(report)}`);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(await versionServed()).toBe('2');
    const list = await releases();
    expect(list.current).toBe(5);
    expect(list.releases.map((r) => r.version)).toEqual([5, 4, 3, 2, 1]);
    expect((await hostExec('docker', 'ps', '--all', '--quiet', '--filter', 'label=paas.release=6')).stdout.trim()).toBe('');
    expect((await hostExec('test', '-e', `/var/lib/paas/apps/${app}/config/v6.enc`)).exitCode).toBe(1);
    setFile('release.js', "console.log('release phase ok');\n");
  });

  it('paas run: the command\'s output and exit code, the release\'s env, no container left', async () => {
    const result = await run('sh', '-c', 'echo hi; exit 3');
    expect(result.stdout, result.stderr).toBe('hi'); // execa strips the final newline
    expect(result.exitCode).toBe(3);
    const quoted = await run('sh', '-c', 'printf %s "$QUOTES"');
    expect(quoted.exitCode, quoted.stderr).toBe(0);
    expect(quoted.stdout).toBe(HOSTILE.QUOTES);
    // No shell between the user's argv and the container.
    const argv = await run('node', '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$(touch /tmp/pwned)', 'a b');
    expect(argv.stdout, argv.stderr).toBe('["$(touch /tmp/pwned)","a b"]');
    // stdin reaches the command, and its end ends the command's stdin.
    const piped = await execa(process.execPath, [cliPath, 'run', '--app', app, ...world.at(host), '--', 'wc', '-c'], { env: { ...world.env, NO_COLOR: '1' }, input: 'twelve bytes', reject: false });
    expect(piped.stdout.trim()).toBe('12');
    expect((await hostExec('test', '-e', '/tmp/pwned')).exitCode).toBe(1);
    expect((await hostExec('docker', 'ps', '--all', '--quiet', '--filter', 'label=paas.oneoff')).stdout.trim()).toBe('');
    const missing = await run('no-such-command-here');
    expect(missing.exitCode).toBe(127);
  });

  it('paas run on a terminal: the command gets a TTY, and its exit code is ours', async () => {
    // `script` gives the CLI a pseudo-terminal as its stdin and stdout, as an interactive shell would.
    const command = shellCommand([process.execPath, cliPath, 'run', '--app', app, ...world.at(host), '--', 'sh', '-c', 'tty; echo "cols $(stty size)"; exit 5']);
    const result = await execa('script', ['-q', '-e', '-c', command, '/dev/null'], { env: { ...world.env, NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    // `tty` names a pseudo-terminal inside the container (without one it prints "not a tty").
    expect(result.stdout, result.stderr).toMatch(/\/dev\/pts\/\d+\r/);
    expect(result.stdout).not.toContain('not a tty');
    expect(result.stdout).toMatch(/cols \d+ \d+/);
    expect(result.exitCode).toBe(5);
    expect((await hostExec('docker', 'ps', '--all', '--quiet', '--filter', 'label=paas.oneoff')).stdout.trim()).toBe('');
  });

  it('paas run: a dropped connection removes the container', async () => {
    const child = execa(process.execPath, [cliPath, 'run', '--app', app, ...world.at(host), '--', 'sleep', '300'], { env: { ...world.env, NO_COLOR: '1' }, stdin: 'pipe', reject: false });
    const running = async () => (await hostExec('docker', 'ps', '--all', '--quiet', '--filter', 'label=paas.oneoff=run')).stdout.trim();
    let deadline = Date.now() + 60_000;
    while (!(await running())) {
      if (Date.now() > deadline) throw new Error('the run container never started');
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGKILL');
    await child;
    const killedAt = Date.now();
    deadline = Date.now() + 30_000;
    while (await running()) {
      if (Date.now() > deadline) throw new Error('the run container outlived the connection by 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`run container removed ${Date.now() - killedAt} ms after the CLI was killed`);
  });
});
