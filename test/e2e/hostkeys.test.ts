import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testWorld, type TestHost } from './hosts.js';

const world = testWorld('keys');
let host: TestHost;
let knownHosts: string;

/** ssh-keygen's own fingerprint of the sandbox's host key. */
async function realFingerprint(): Promise<string> {
  const pub = path.join(world.dir, 'host.pub');
  writeFileSync(pub, `${host.hostKey}\n`);
  return (await execa('ssh-keygen', ['-lf', pub])).stdout.split(' ')[1]!;
}

beforeAll(async () => {
  host = await world.addHost('a');
  // From here on only this file counts as known hosts: the sandbox's own entry is not in it.
  knownHosts = path.join(world.dir, 'known_hosts');
  writeFileSync(knownHosts, '');
});
afterAll(() => world.cleanup());

const apps = (...extra: string[]) => world.cli(['apps', ...world.at(host), ...extra], { PAAS_KNOWN_HOSTS: knownHosts });

describe('host keys', () => {
  it('an unknown host key is refused, with its SHA256 fingerprint and how to trust it', async () => {
    const result = await apps();
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toContain(`the host key of [127.0.0.1]:${host.sshPort} is not known`);
    expect(result.stderr).toContain(await realFingerprint());
    expect(result.stderr).toContain('paas host:trust');
    expect(result.stderr).toContain('--trust-host-key');
  });

  it('host:trust records it; then commands connect', async () => {
    const trusted = await world.cliJson<{ fingerprint: string; added: boolean }>(['host:trust', host.url], { PAAS_KNOWN_HOSTS: knownHosts });
    expect(trusted).toMatchObject({ fingerprint: await realFingerprint(), added: true });
    const result = await apps('--json');
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it('a changed host key is refused loudly, even with --trust-host-key', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${host.sshPort} ${other}\n`);
    for (const result of [await apps(), await apps('--trust-host-key')]) {
      expect(result.exitCode).toBe(9);
      expect(result.stderr).toContain(`THE HOST KEY OF [127.0.0.1]:${host.sshPort} HAS CHANGED`);
      expect(result.stderr).toContain(await realFingerprint());
    }
    const trust = await world.cli(['host:trust', host.url], { PAAS_KNOWN_HOSTS: knownHosts });
    expect(trust.exitCode).toBe(9);
  });

  it('--trust-host-key accepts a host seen for the first time and records it', async () => {
    writeFileSync(knownHosts, '');
    expect((await apps('--trust-host-key')).exitCode).toBe(0);
    expect((await apps()).exitCode).toBe(0);
  });
});
