// The SFTP target against a real OpenSSH sshd, started here on 127.0.0.1 at a random port with
// its own host key and authorized_keys (in a temp dir), stopped by its pid in afterAll.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTarget, generateSshKeyPair, parseHostKeyPin, parseSshTargetUrl, type SshTargetConfig } from '../../src/backup/targets/ssh.js';
import { TargetError } from '../../src/backup/targets/target.js';
import { PaasError } from '../../src/errors.js';

const SSHD = '/usr/sbin/sshd';
/** `npm test` (PAAS_TEST_TOOLS=required; scripts/setup.sh installs openssh-server) runs these, and they fail without sshd. */
const toolsRequired = process.env.PAAS_TEST_TOOLS === 'required';
const canRun = toolsRequired || (existsSync(SSHD) && process.getuid?.() === 0);
const skipReason = existsSync(SSHD) ? 'sshd needs root here (it logs users in)' : `${SSHD} is missing (scripts/setup.sh installs openssh-server)`;

let dir: string;
let sshd: ChildProcess | undefined;
let port: number;
let hostKeyLine: string;
let hostFingerprint: string;
const user = os.userInfo().username;
const pair = generateSshKeyPair('paas-backup@test');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as AddressInfo;
      probe.close(() => resolve(p));
    });
  });
}

async function waitForPort(p: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(p, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${p} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (!canRun) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-sftp-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  await fs.writeFile(path.join(dir, 'authorized_keys'), `${pair.publicKey}\n`, { mode: 0o600 });
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
  port = await freePort();
  await fs.writeFile(path.join(dir, 'sshd_config'), [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_key')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n'));
  sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await waitForPort(port, 5000).catch((error: Error) => { throw new Error(`${error.message}: ${log}`); });
  const pub = (await fs.readFile(path.join(dir, 'host_key.pub'), 'utf8')).trim().split(/\s+/);
  hostKeyLine = `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`;
  hostFingerprint = `SHA256:${createHash('sha256').update(Buffer.from(pub[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;
});

afterAll(async () => {
  if (sshd?.pid !== undefined && sshd.exitCode === null) {
    const exited = new Promise((resolve) => sshd!.once('exit', resolve));
    process.kill(sshd.pid, 'SIGTERM');
    await exited;
  }
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function target(overrides: Partial<SshTargetConfig> = {}, sub = 'store/host1'): SshTarget {
  return new SshTarget({
    url: `ssh://${user}@127.0.0.1:${port}${path.join(dir, sub)}`,
    privateKey: pair.privateKey,
    hostKey: hostKeyLine,
    connectTimeoutMs: 3000,
    idleTimeoutMs: 5000,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TargetError) return error;
    throw error;
  }
  throw new Error('expected a TargetError');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!canRun)(`the SFTP target (skipped when: ${skipReason})`, () => {
  it('puts (creating the directory), lists, gets the same bytes, replaces, removes', async () => {
    const t = target();
    const big = randomBytes(6 * 1024 * 1024 + 5);
    await fs.writeFile(path.join(dir, 'big'), big);
    await fs.writeFile(path.join(dir, 'small'), 'small');
    await t.put('b-big', path.join(dir, 'big'));
    await t.put('b-small', path.join(dir, 'small'));
    expect((await fs.readdir(path.join(dir, 'store/host1'))).sort()).toEqual(['b-big.backup', 'b-small.backup']);
    expect((await fs.stat(path.join(dir, 'store/host1/b-big.backup'))).mode & 0o777).toBe(0o600);

    // A leftover temp file and other files are not backups.
    await fs.writeFile(path.join(dir, 'store/host1/.b-x.backup.0badf00d.tmp'), 'half');
    await fs.writeFile(path.join(dir, 'store/host1/notes.txt'), 'x');
    const listed = await t.list();
    expect(listed.map(({ id, size }) => ({ id, size }))).toEqual([{ id: 'b-big', size: big.length }, { id: 'b-small', size: 5 }]);

    await t.get('b-big', path.join(dir, 'big.back'));
    expect(sha(await fs.readFile(path.join(dir, 'big.back')))).toBe(sha(big));

    await fs.writeFile(path.join(dir, 'small2'), 'replaced');
    await t.put('b-small', path.join(dir, 'small2'));
    await t.get('b-small', path.join(dir, 'small.back'));
    expect(await fs.readFile(path.join(dir, 'small.back'), 'utf8')).toBe('replaced');

    await t.remove('b-small');
    expect((await t.list()).map((b) => b.id)).toEqual(['b-big']);
  });

  it('pins the host key by its SHA256 fingerprint too', async () => {
    expect(parseHostKeyPin(hostKeyLine).fingerprint).toBe(hostFingerprint);
    expect(await target({ hostKey: hostFingerprint }, 'empty').list()).toEqual([]);
  });

  it('says "not found" for a backup that is not there, leaving no local temp file', async () => {
    const t = target();
    const error = await rejection(t.get('b-nope', path.join(dir, 'nope')));
    expect(error.problem).toBe('not-found');
    expect(error.message).toBe(`cannot download b-nope at sftp://${user}@127.0.0.1:${port}${path.join(dir, 'store/host1')}: there is no backup b-nope there`);
    expect((await fs.readdir(dir)).filter((n) => n.startsWith('nope'))).toEqual([]);
    expect((await rejection(t.remove('b-nope'))).problem).toBe('not-found');
  });

  it('refuses another host key than the pinned one, before logging in', async () => {
    const other = generateSshKeyPair().publicKey.split(' ').slice(0, 2).join(' ');
    const error = await rejection(target({ hostKey: other }).list());
    expect(error.problem).toBe('host-key');
    expect(error.kind).toBe('hostKey');
    expect(error.message).toMatch(new RegExp(`its host key is ssh-ed25519 ${hostFingerprint.replace(/[+/]/g, '\\$&')}, not the pinned SHA256:.+: refusing to connect`));
  });

  it('a key the target does not authorize is "auth", and the key never shows', async () => {
    const stranger = generateSshKeyPair();
    const error = await rejection(target({ privateKey: stranger.privateKey }).list());
    expect(error.problem).toBe('auth');
    expect(error.message).toMatch(new RegExp(`^cannot list the backups at sftp://${user}@127.0.0.1:${port}/.*: ${user}@127.0.0.1 refused the host's backup key$`));
    const body = stranger.privateKey.split('\n')[1]!;
    expect(JSON.stringify({ m: error.message, h: error.hint, f: error.format() })).not.toContain(body.slice(0, 20));
  });

  it('a port where nothing listens is "unreachable"', async () => {
    const closed = await freePort();
    const t = new SshTarget({ url: `ssh://${user}@127.0.0.1:${closed}/srv/x`, privateKey: pair.privateKey, hostKey: hostFingerprint, connectTimeoutMs: 2000 });
    const error = await rejection(t.list());
    expect(error.problem).toBe('unreachable');
    expect(error.message).toMatch(/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
  });

  it('a server that never answers the handshake times out in the connect bound', async () => {
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const { port: p } = silent.address() as AddressInfo;
    const started = Date.now();
    try {
      const t = new SshTarget({ url: `ssh://${user}@127.0.0.1:${p}/srv/x`, privateKey: pair.privateKey, hostKey: hostFingerprint, connectTimeoutMs: 1000 });
      const error = await rejection(t.list());
      expect(error.problem).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      silent.close();
    }
  });
});

describe('the SFTP target\'s setup', () => {
  it('reads ssh:// URLs', () => {
    expect(parseSshTargetUrl('ssh://backup@10.0.0.5:2222/srv/paas/')).toEqual({ user: 'backup', host: '10.0.0.5', port: 2222, dir: '/srv/paas' });
    expect(parseSshTargetUrl('ssh://backup@h/~/backups')).toEqual({ user: 'backup', host: 'h', port: 22, dir: 'backups' });
    expect(parseSshTargetUrl('ssh://b@[::1]:22/x')).toMatchObject({ host: '::1' });
    const message = (url: string) => { try { parseSshTargetUrl(url); } catch (e) { return (e as PaasError).message; } return ''; };
    expect(message('ssh://h/srv')).toBe('"ssh://h/srv" names no user');
    expect(message('ssh://u@h')).toBe('"ssh://u@h" names no directory for the backups');
    expect(message('ssh://u:pw@h/x')).toMatch(/put no password in its URL/);
    expect(message('http://u@h/x')).toMatch(/is not an ssh:\/\/ URL/);
    expect(message('ssh://u@h/a/../b')).toMatch(/not a plain path/);
  });

  it('generates an ed25519 pair: an OpenSSH private key and the line to authorize', () => {
    const { privateKey, publicKey } = generateSshKeyPair('paas-backup@h1');
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* paas-backup@h1$/);
  });

  it('reads host key pins, refusing what is not one', () => {
    const line = generateSshKeyPair().publicKey;
    const [type, blob] = line.split(' ');
    const expected = `SHA256:${createHash('sha256').update(Buffer.from(blob!, 'base64')).digest('base64').replace(/=+$/, '')}`;
    expect(parseHostKeyPin(`${type} ${blob}`)).toEqual({ fingerprint: expected, type: 'ssh-ed25519' });
    expect(parseHostKeyPin(`[h]:2222 ${type} ${blob} comment`)).toEqual({ fingerprint: expected, type: 'ssh-ed25519' });
    expect(parseHostKeyPin(expected)).toEqual({ fingerprint: expected });
    expect(() => parseHostKeyPin('SHA256:short')).toThrow(/neither a SHA256 fingerprint nor a known_hosts line/);
    expect(() => parseHostKeyPin(`h ssh-rsa ${blob}`)).toThrow(/says ssh-rsa but its data is a ssh-ed25519 key/);
    expect(() => parseHostKeyPin(`@revoked h ${type} ${blob}`)).toThrow(/not supported/);
  });
});
