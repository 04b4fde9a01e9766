import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';

const world = testWorld('multi');
const app = 'pair';
const example = copyExample('python');
let one: TestHost;
let two: TestHost;

function setVersion(version: number): void {
  const file = path.join(example.dir, 'app.py');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/VERSION = \d+/, `VERSION = ${version}`));
}
const served = async (host: TestHost) => /version (\d+)/.exec((await viaNginx(host, app)).body)?.[1];
const inside = (host: TestHost, ...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

beforeAll(async () => {
  one = await world.addHost('one');
  two = await world.addHost('two');
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('an app on two hosts', () => {
  it('a deploy reaches both hosts, with the same release number', async () => {
    const result = await world.cliJson<{ release: number; hosts: { host: string; version: number }[]; urls: string[] }>(['deploy', example.dir, '--app', app, ...world.at(one, two)]);
    expect(result.release).toBe(1);
    expect(result.hosts.map((h) => h.version)).toEqual([1, 1]);
    expect(result.urls).toEqual([`http://${app}.localhost:${one.httpPort}/`, `http://${app}.localhost:${two.httpPort}/`]);
    expect(await served(one)).toBe('1');
    expect(await served(two)).toBe('1');
  });

  it('a failure on the second host leaves the first on the new release, and says so', async () => {
    // Stop nginx on host two only, so that its rollout fails at the switch, after host one switched.
    expect((await inside(two, 'nginx', '-s', 'stop')).exitCode).toBe(0);
    try {
      setVersion(2);
      const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(one, two)]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(`${two.url.replace('ssh://', '')} failed`);
      expect(result.stderr).toContain(`${one.url.replace('ssh://', '')}: now on v2`);
      expect(result.stderr).toContain(`${two.url.replace('ssh://', '')}: still on v1 (this failure changed nothing there)`);
      expect(result.stderr).toContain('nginx did not take the new routes');
      expect(await served(one)).toBe('2');
    } finally {
      await inside(two, 'nginx');
    }
    // Host two kept v1: its routes were put back, and its v1 container was never touched.
    expect(await served(two)).toBe('1');
    // Fixed: the next deploy brings both to the same release again.
    setVersion(3);
    const again = await world.cliJson<{ release: number; hosts: { version: number }[] }>(['deploy', example.dir, '--app', app, ...world.at(one, two)]);
    expect(again.hosts.map((h) => h.version)).toEqual([3, 3]);
    expect(await served(one)).toBe('3');
    expect(await served(two)).toBe('3');
  });

  it('a host that is down fails the deploy before anything changes anywhere', async () => {
    await execa('docker', ['pause', two.container]);
    try {
      setVersion(4);
      const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(one, two)], { PAAS_SSH_TIMEOUT: '3000' });
      expect(result.exitCode, result.stderr).toBe(8);
      expect(await served(one)).toBe('3');
    } finally {
      await execa('docker', ['unpause', two.container]);
    }
  });
});
