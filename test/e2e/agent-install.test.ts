import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_DIR, agentPath } from '../../src/agent/protocol.js';
import { PaasError } from '../../src/errors.js';
import { HostAgent, INSTALL_SCRIPT, agentBundle } from '../../src/host/agent.js';
import { SshConnection } from '../../src/ssh/client.js';
import { repoRoot } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';

const world = testWorld('agentinst');
const app = 'agentinst';
let host: TestHost;
/** The built agent (dist/agent.mjs), hashed here rather than by the code under test. */
const code = readFileSync(path.join(repoRoot, 'dist', 'agent.mjs'));
const bundle = { code, sha256: createHash('sha256').update(code).digest('hex') };
let agentFile: string;

const hostExec = (...args: string[]) => execa('docker', ['exec', host.container, ...args], { reject: false });
/** The full sha256 of a file on the host, or the error sha256sum gave. */
const sumOnHost = async (file: string) => {
  const result = await hostExec('sha256sum', file);
  return result.exitCode === 0 ? result.stdout.split(' ')[0] : result.stderr;
};
/** What the agent directory holds, but the standby sockets and the git user's current.mjs link. */
const agentDirFiles = async () => (await hostExec('ls', '-A', AGENT_DIR)).stdout.split('\n').filter((f) => f && !f.endsWith('.sock') && f !== 'current.mjs').sort();

/** An SSH connection of our own to the host, trusting the sandbox's recorded host key. */
function connect(): Promise<SshConnection> {
  const key = Buffer.from(host.hostKey.split(' ')[1]!, 'base64');
  return SshConnection.connect({
    host: '127.0.0.1', port: host.sshPort, username: 'root', privateKey: readFileSync(host.keyPath),
    verifyHostKey: (offered) => (offered.equals(key) ? undefined : new PaasError('hostKey', 'not the sandbox\'s host key')),
  });
}

beforeAll(async () => {
  host = await world.addHost('a');
  agentFile = agentPath(bundle.sha256.slice(0, 16));
  expect(await sumOnHost(agentFile)).toBe(bundle.sha256);
});
afterAll(async () => {
  await world.cleanup();
});

describe('installing the agent on a host', () => {
  it.each([
    ['altered', ['sh', '-c', 'printf "throw new Error(\\"not the agent\\")\\n" > "$1"']],
    ['truncated', ['truncate', '-s', '1000']],
    ['emptied', ['truncate', '-s', '0']],
  ])('replaces an agent file that was %s, and the command works', async (_how, corrupt) => {
    const command = corrupt[0] === 'sh' ? [...corrupt, 'sh', agentFile] : [...corrupt, agentFile];
    expect((await hostExec(...command)).exitCode).toBe(0);
    expect(await sumOnHost(agentFile)).not.toBe(bundle.sha256);

    const result = await world.cliJson<{ app: string; releases: unknown[] }>(['releases', '--app', app, ...world.at(host)]);
    expect(result).toEqual({ app, releases: [] });
    expect(await sumOnHost(agentFile)).toBe(bundle.sha256);
    expect(await agentDirFiles()).toEqual([path.basename(agentFile)]);
  });

  it('installs once when several installs race for a missing file, leaving no temp file', async () => {
    const connections = await Promise.all([connect(), connect(), connect(), connect()]);
    try {
      for (let round = 0; round < 5; round += 1) {
        expect((await hostExec('rm', '-f', agentFile)).exitCode).toBe(0);
        const installs = await Promise.allSettled(connections.map((ssh) => new HostAgent(ssh, `install ${round}`).install()));
        expect(installs.filter((i) => i.status === 'rejected')).toEqual([]);
        expect(await sumOnHost(agentFile)).toBe(bundle.sha256);
        expect(await agentDirFiles()).toEqual([path.basename(agentFile)]);
      }
    } finally {
      connections.forEach((ssh) => ssh.close());
    }
    const result = await world.cliJson<{ app: string }>(['releases', '--app', app, ...world.at(host)]);
    expect(result.app).toBe(app);
  });

  it('never puts an upload that arrived altered in place', async () => {
    expect(agentBundle().sha256).toBe(bundle.sha256);
    const before = await sumOnHost(agentFile);
    const ssh = await connect();
    try {
      // What arrives is not what the hash says: refused, the installed file untouched, no temp file left.
      const upload = await ssh.exec(['sh', '-c', INSTALL_SCRIPT, 'sh', AGENT_DIR, agentFile, bundle.sha256], bundle.code.subarray(0, bundle.code.length - 1));
      expect(upload.code).toBe(1);
      expect(upload.stderr).toContain(`not ${bundle.sha256}`);
    } finally {
      ssh.close();
    }
    expect(await sumOnHost(agentFile)).toBe(before);
    expect(await agentDirFiles()).toEqual([path.basename(agentFile)]);
  });
});
