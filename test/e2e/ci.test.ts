import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { copyExample } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';

const world = testWorld('ci');
const example = copyExample('node');
let host: TestHost;

/**
 * A CI job: no TTY (stdin ignored, stdout a pipe), CI=true, and every setting from the
 * environment: the host, the app, and the private key itself (as secret stores hold it).
 */
let ciEnv: Record<string, string>;
const deployInCi = (extra: Record<string, string> = {}) => world.cli(['deploy', example.dir, '--json'], { ...ciEnv, ...extra });

beforeAll(async () => {
  host = await world.addHost('a');
  ciEnv = { CI: 'true', NO_COLOR: '1', PAAS_HOST: host.url, PAAS_APP: 'ciapp', PAAS_SSH_KEY: readFileSync(host.keyPath, 'utf8') };
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('paas in a CI job', () => {
  it('deploy --json with no TTY and CI=true prints one JSON document with the release; progress is timestamped plain lines on stderr', async () => {
    const result = await deployInCi();
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
    const json = JSON.parse(result.stdout) as { app: string; release: number; urls: string[] };
    expect(json).toMatchObject({ app: 'ciapp', release: 1 });
    expect(json.urls).toEqual([`http://ciapp.localhost:${host.httpPort}/`]);
    expect(result.stderr).toMatch(/^\[STARTED\] \[\d\d:\d\d:\d\d\] Connect to/m);
    expect(result.stderr).not.toMatch(/\x1b\[/); // no colours, no cursor movement
  });

  it(`a host key that is not known exits ${ExitCode.hostKey}`, async () => {
    const knownHosts = path.join(world.dir, 'empty_known_hosts');
    writeFileSync(knownHosts, '');
    const result = await deployInCi({ PAAS_KNOWN_HOSTS: knownHosts });
    expect(result.exitCode).toBe(ExitCode.hostKey);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: 'hostKey', exitCode: ExitCode.hostKey });
  });

  it(`a lock held by another deploy exits ${ExitCode.lock}`, async () => {
    // Another paas command holds the app's lock: the agent's lock verb, as deploy takes it.
    const agent = (await execa('docker', ['exec', host.container, 'readlink', '-f', '/var/lib/paas/agent/current.mjs'])).stdout.trim();
    const holder = execa('docker', ['exec', '-i', host.container, 'node', agent, 'lock', '--app', 'ciapp', '--by', 'someone@else', '--command', 'deploy'], { stdin: 'pipe', reject: false });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('"locked"')) resolve(); }));
    try {
      const result = await deployInCi();
      expect(result.exitCode).toBe(ExitCode.lock);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: 'lock', exitCode: ExitCode.lock });
      expect(result.stdout).toContain('someone@else');
    } finally {
      holder.stdin!.end();
      await holder;
    }
  });

  it(`a release that fails its health check exits ${ExitCode.healthcheck}`, async () => {
    const server = path.join(example.dir, 'server.js');
    writeFileSync(server, `process.exit(4);\n${readFileSync(server, 'utf8')}`);
    const result = await deployInCi();
    expect(result.exitCode).toBe(ExitCode.healthcheck);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: 'healthcheck', exitCode: ExitCode.healthcheck });
  });
});
