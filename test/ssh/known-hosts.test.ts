import { createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';
import {
  KnownHosts, addKnownHost, fingerprint, hostKeyVerifier, hostString, keyTypeOf, knownHostLine, knownHostsFiles, removeKnownHost,
} from '../../src/ssh/known-hosts.js';
import { fileMode, newKey, tempDir } from './helpers.js';

const a = newKey();
const b = newKey();
const c = newKey();

function hosts(matched: KnownHosts, host: string, port = 22): number[] {
  return matched.keysFor(host, port).map((k) => k.line);
}

function hashedName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('key helpers', () => {
  it('writes host names as known_hosts does', () => {
    expect(hostString('example.com', 22)).toBe('example.com');
    expect(hostString('Example.COM', 22)).toBe('example.com');
    expect(hostString('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(hostString('::1', 2222)).toBe('[::1]:2222');
  });

  it('reads the key type from the blob', () => {
    expect(keyTypeOf(a.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(newKey('ecdsa').blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(Buffer.from([0, 0, 0, 9, 1]))).toBe('');
    expect(keyTypeOf(Buffer.alloc(0))).toBe('');
  });

  it('fingerprints exactly as ssh-keygen -l does', async () => {
    const dir = await tempDir();
    for (const key of [a, newKey('ecdsa'), newKey('rsa')]) {
      const file = path.join(dir, `${key.type}.pub`);
      await fs.writeFile(file, `${key.public} test@example\n`);
      const { stdout } = await execa('ssh-keygen', ['-lf', file]);
      expect(stdout.split(' ')[1]).toBe(fingerprint(key.blob));
    }
    expect(fingerprint(a.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('makes plain lines', () => {
    expect(knownHostLine('127.0.0.1', 2222, a.blob)).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`);
    expect(knownHostLine('example.com', 22, a.blob)).toBe(`example.com ssh-ed25519 ${a.base64}`);
  });
});

describe('known_hosts parsing', () => {
  it('matches a plain host on port 22 only, case-insensitively', () => {
    const known = KnownHosts.parse(`example.com ssh-ed25519 ${a.base64} me@laptop\n`, 'kh');
    expect(known.keysFor('example.com', 22)).toEqual([{ type: 'ssh-ed25519', blob: a.blob, file: 'kh', line: 1, revoked: false }]);
    expect(hosts(known, 'EXAMPLE.com')).toEqual([1]);
    expect(hosts(known, 'example.com', 2222)).toEqual([]);
    expect(hosts(known, 'www.example.com')).toEqual([]);
  });

  it('matches [host]:port on that port only', () => {
    const known = KnownHosts.parse(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`, 'kh');
    expect(hosts(known, '127.0.0.1', 2222)).toEqual([1]);
    expect(hosts(known, '127.0.0.1', 22)).toEqual([]);
    expect(hosts(known, '127.0.0.1', 2223)).toEqual([]);
  });

  it('matches any name of a comma list', () => {
    const known = KnownHosts.parse(`web,10.0.0.5,[web]:2200 ssh-ed25519 ${a.base64}`, 'kh');
    expect(hosts(known, 'web')).toEqual([1]);
    expect(hosts(known, '10.0.0.5')).toEqual([1]);
    expect(hosts(known, 'web', 2200)).toEqual([1]);
    expect(hosts(known, '10.0.0.5', 2200)).toEqual([]);
    expect(hosts(known, 'we')).toEqual([]);
  });

  it('matches * and ? wildcards, port included in the name', () => {
    const known = KnownHosts.parse([
      `*.example.com,host?.lan ssh-ed25519 ${a.base64}`,
      `[*.example.org]:2222 ssh-ed25519 ${b.base64}`,
      `10.0.0.* ssh-ed25519 ${c.base64}`,
    ].join('\n'), 'kh');
    expect(hosts(known, 'a.example.com')).toEqual([1]);
    expect(hosts(known, 'a.b.example.com')).toEqual([1]);
    expect(hosts(known, 'example.com')).toEqual([]);
    expect(hosts(known, 'a.example.com', 2222)).toEqual([]);
    expect(hosts(known, 'host1.lan')).toEqual([1]);
    expect(hosts(known, 'host12.lan')).toEqual([]);
    expect(hosts(known, 'hostXlan')).toEqual([]);
    expect(hosts(known, 'x.example.org', 2222)).toEqual([2]);
    expect(hosts(known, 'x.example.org')).toEqual([]);
    expect(hosts(known, '10.0.0.42')).toEqual([3]);
    expect(hosts(known, '10.0.1.42')).toEqual([]);
  });

  it('excludes a line when a negated pattern matches', () => {
    const known = KnownHosts.parse([
      `*.example.com,!secret.example.com ssh-ed25519 ${a.base64}`,
      `!lonely ssh-ed25519 ${b.base64}`,
    ].join('\n'), 'kh');
    expect(hosts(known, 'www.example.com')).toEqual([1]);
    expect(hosts(known, 'secret.example.com')).toEqual([]);
    expect(hosts(known, 'lonely')).toEqual([]);
    expect(hosts(known, 'other')).toEqual([]);
  });

  it('matches hashed names', () => {
    const known = KnownHosts.parse([
      `${hashedName('[10.1.2.3]:2222')} ssh-ed25519 ${a.base64}`,
      `${hashedName('example.com')} ssh-ed25519 ${b.base64}`,
      `|1|broken ssh-ed25519 ${c.base64}`,
    ].join('\n'), 'kh');
    expect(hosts(known, '10.1.2.3', 2222)).toEqual([1]);
    expect(hosts(known, '10.1.2.3')).toEqual([]);
    expect(hosts(known, 'example.com')).toEqual([2]);
    expect(hosts(known, 'Example.com')).toEqual([2]);
    expect(hosts(known, 'example.org')).toEqual([]);
  });

  it('matches names hashed by ssh-keygen -H', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'known_hosts');
    await fs.writeFile(file, `example.com ssh-ed25519 ${a.base64}\n[10.0.0.9]:2200 ssh-ed25519 ${b.base64}\n`);
    await execa('ssh-keygen', ['-H', '-f', file]);
    const text = await fs.readFile(file, 'utf8');
    expect(text).not.toContain('example.com');
    const known = KnownHosts.parse(text, file);
    expect(known.keysFor('example.com', 22).map((k) => k.blob)).toEqual([a.blob]);
    expect(known.keysFor('10.0.0.9', 2200).map((k) => k.blob)).toEqual([b.blob]);
    expect(known.keysFor('10.0.0.9', 22)).toEqual([]);
  });

  it('flags @revoked keys and ignores @cert-authority and unknown markers', () => {
    const known = KnownHosts.parse([
      `@cert-authority *.example.com ssh-ed25519 ${a.base64}`,
      `@revoked * ssh-ed25519 ${b.base64}`,
      `@future www.example.com ssh-ed25519 ${c.base64}`,
    ].join('\n'), 'kh');
    expect(known.keysFor('www.example.com', 22)).toEqual([{ type: 'ssh-ed25519', blob: b.blob, file: 'kh', line: 2, revoked: true }]);
  });

  it('skips comments, blank and malformed lines, keeping line numbers', () => {
    const text = [
      '# known hosts',
      '',
      '   ',
      '   # indented comment',
      'lonely-host',
      'host ssh-ed25519',
      'host ssh-ed25519 not*base64!',
      `host ssh-rsa ${a.base64}`,
      '@revoked host',
      `\thost  ssh-ed25519   ${a.base64}  trailing comment words\r`,
      `host ssh-ed25519 ${b.base64}`,
    ].join('\n');
    const known = KnownHosts.parse(text, '/etc/ssh/ssh_known_hosts');
    expect(known.keysFor('host', 22)).toEqual([
      { type: 'ssh-ed25519', blob: a.blob, file: '/etc/ssh/ssh_known_hosts', line: 10, revoked: false },
      { type: 'ssh-ed25519', blob: b.blob, file: '/etc/ssh/ssh_known_hosts', line: 11, revoked: false },
    ]);
  });

  it('loads several files, missing ones as empty', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'one'), `example.com ssh-ed25519 ${a.base64}\n`);
    await fs.writeFile(path.join(dir, 'two'), `# nothing\nexample.com ssh-ed25519 ${b.base64}\n`);
    const known = await KnownHosts.load([path.join(dir, 'one'), path.join(dir, 'missing'), path.join(dir, 'two')]);
    expect(known.keysFor('example.com', 22).map((k) => `${path.basename(k.file)}:${k.line}`)).toEqual(['one:1', 'two:2']);
    expect((await KnownHosts.load([path.join(dir, 'nope', 'known_hosts')])).keysFor('example.com', 22)).toEqual([]);
  });

  it('names a file it cannot read', async () => {
    const dir = await tempDir();
    const error = await KnownHosts.load([dir]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaasError);
    expect(error).toMatchObject({ kind: 'ssh', where: dir });
  });
});

describe('host key verification', () => {
  const known = KnownHosts.parse([
    `example.com ssh-ed25519 ${a.base64}`,
    `@revoked example.com ssh-ed25519 ${c.base64}`,
    `example.com ssh-ed25519 ${c.base64}`,
  ].join('\n'), 'kh');

  it('trusts a listed key', () => {
    expect(known.verify('example.com', 22, a.blob)).toEqual({
      status: 'trusted', known: [{ type: 'ssh-ed25519', blob: a.blob, file: 'kh', line: 1, revoked: false }],
    });
  });

  it('reports a different key of the same type as changed', () => {
    const result = known.verify('example.com', 22, b.blob);
    expect(result.status).toBe('changed');
    expect(result.known.map((k) => k.line)).toEqual([1, 3]);
  });

  it('reports a host without entries as unknown', () => {
    expect(known.verify('example.org', 22, a.blob)).toEqual({ status: 'unknown', known: [] });
    expect(known.verify('example.com', 2222, a.blob)).toEqual({ status: 'unknown', known: [] });
  });

  it('reports a revoked key as revoked, even when also listed', () => {
    expect(known.verify('example.com', 22, c.blob)).toEqual({
      status: 'revoked', known: [{ type: 'ssh-ed25519', blob: c.blob, file: 'kh', line: 2, revoked: true }],
    });
  });

  it('reports a key of a type not on file as unknown, listing the other keys', () => {
    const ecdsa = newKey('ecdsa');
    const result = KnownHosts.parse(`example.com ${ecdsa.type} ${ecdsa.base64}`, 'kh').verify('example.com', 22, a.blob);
    expect(result.status).toBe('unknown');
    expect(result.known.map((k) => k.type)).toEqual(['ecdsa-sha2-nistp256']);
  });

  it('does not count revoked entries as known keys of the host', () => {
    const result = KnownHosts.parse(`@revoked example.com ssh-ed25519 ${c.base64}`, 'kh').verify('example.com', 22, a.blob);
    expect(result).toEqual({ status: 'unknown', known: [] });
  });
});

describe('hostKeyVerifier', () => {
  const options = { host: '127.0.0.1', port: 2222, user: 'deploy', trustFile: '/nonexistent/known_hosts' };

  it('refuses an unknown key, naming its fingerprint and how to trust it', () => {
    const verifier = hostKeyVerifier({ ...options, knownHosts: KnownHosts.parse('', 'kh'), trustUnknown: false });
    const error = verifier.verify(a.blob);
    expect(error).toBeInstanceOf(PaasError);
    expect(error).toMatchObject({ kind: 'hostKey', message: 'the host key of [127.0.0.1]:2222 is not known', where: '[127.0.0.1]:2222' });
    expect(error?.details).toEqual([`ssh-ed25519 key fingerprint ${fingerprint(a.blob)}`]);
    expect(error?.hint).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(error?.hint).toContain('`paas host:trust ssh://deploy@127.0.0.1:2222`');
    expect(error?.hint).toContain('--trust-host-key');
  });

  it('writes the host as host:trust takes it', () => {
    const hint = (host: string, port: number, user?: string): string | undefined =>
      hostKeyVerifier({ ...options, host, port, user, knownHosts: KnownHosts.parse('', 'kh'), trustUnknown: false }).verify(a.blob)?.hint;
    expect(hint('example.com', 22, 'root')).toContain('paas host:trust root@example.com`');
    expect(hint('example.com', 22)).toContain('paas host:trust example.com`');
    expect(hint('::1', 22, 'root')).toContain('paas host:trust ssh://root@[::1]:22`');
    const ecdsa = newKey('ecdsa');
    expect(hostKeyVerifier({ ...options, knownHosts: KnownHosts.parse('', 'kh'), trustUnknown: false }).verify(ecdsa.blob)?.hint)
      .toContain('ssh_host_ecdsa_key.pub');
  });

  it('refuses a changed key, even when told to trust unknown keys', () => {
    const knownHosts = KnownHosts.parse(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`, '/home/me/.ssh/known_hosts');
    const error = hostKeyVerifier({ ...options, knownHosts, trustUnknown: true }).verify(b.blob);
    expect(error).toMatchObject({ kind: 'hostKey', message: 'THE HOST KEY OF [127.0.0.1]:2222 HAS CHANGED' });
    expect(error?.details).toEqual([
      `offered: ssh-ed25519 key fingerprint ${fingerprint(b.blob)}`,
      `known in /home/me/.ssh/known_hosts:1: ssh-ed25519 key fingerprint ${fingerprint(a.blob)}`,
    ]);
    expect(error?.hint).toMatch(/^someone may be intercepting the connection, or the server was reinstalled/);
    expect(error?.hint).toContain(`ssh-keygen -R '[127.0.0.1]:2222' -f /home/me/.ssh/known_hosts`);
  });

  it('refuses a revoked key, naming where it is revoked', () => {
    const knownHosts = KnownHosts.parse(`\n@revoked * ssh-ed25519 ${a.base64}`, 'kh');
    const error = hostKeyVerifier({ ...options, knownHosts, trustUnknown: true }).verify(a.blob);
    expect(error).toMatchObject({ kind: 'hostKey', message: 'the host key of [127.0.0.1]:2222 is revoked' });
    expect(error?.details).toContain('revoked in kh:2');
  });

  it('does not accept a new key type by --trust-host-key when other types are known', () => {
    const ecdsa = newKey('ecdsa');
    const knownHosts = KnownHosts.parse(`[127.0.0.1]:2222 ${ecdsa.type} ${ecdsa.base64}`, 'kh');
    const error = hostKeyVerifier({ ...options, knownHosts, trustUnknown: true }).verify(a.blob);
    expect(error).toMatchObject({ kind: 'hostKey', message: 'the host key of [127.0.0.1]:2222 is not known' });
    expect(error?.details[1]).toBe(`a ecdsa-sha2-nistp256 key is known (kh:1): ${fingerprint(ecdsa.blob)}`);
    expect(error?.hint).toContain('paas host:trust');
    expect(error?.hint).not.toContain('--trust-host-key');
  });

  it('trusts an unknown key when told to, writing it once the connection is made', async () => {
    const dir = await tempDir();
    const trustFile = path.join(dir, 'ssh', 'known_hosts');
    const written: string[] = [];
    const verifier = hostKeyVerifier({
      ...options, trustFile, knownHosts: await KnownHosts.load([trustFile]), trustUnknown: true, onTrusted: (line) => written.push(line),
    });
    expect(verifier.verify(a.blob)).toBeUndefined();
    await expect(fs.access(trustFile)).rejects.toThrow();
    await verifier.commit();
    await verifier.commit();
    expect(await fs.readFile(trustFile, 'utf8')).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}\n`);
    expect(written).toEqual([`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`]);

    const reloaded = hostKeyVerifier({ ...options, trustFile, knownHosts: await KnownHosts.load([trustFile]), trustUnknown: false });
    expect(reloaded.verify(a.blob)).toBeUndefined();
    await reloaded.commit();
    expect((await fs.readFile(trustFile, 'utf8')).split('\n')).toHaveLength(2);
  });

  it('writes nothing for a trusted key', async () => {
    const dir = await tempDir();
    const trustFile = path.join(dir, 'known_hosts');
    const verifier = hostKeyVerifier({
      ...options, trustFile, knownHosts: KnownHosts.parse(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`, 'kh'), trustUnknown: true,
    });
    expect(verifier.verify(a.blob)).toBeUndefined();
    await verifier.commit();
    await expect(fs.access(trustFile)).rejects.toThrow();
  });
});

describe('editing known_hosts files', () => {
  it('creates the file 0600 in a 0700 directory', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'new', 'known_hosts');
    await addKnownHost(file, '127.0.0.1', 2222, a.blob);
    await addKnownHost(file, 'example.com', 22, b.blob);
    expect(await fs.readFile(file, 'utf8')).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${a.base64}\nexample.com ssh-ed25519 ${b.base64}\n`);
    expect(await fileMode(file)).toBe(0o600);
    expect(await fileMode(path.dirname(file))).toBe(0o700);
  });

  it('appends after content without a final newline, keeping the mode', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'known_hosts');
    await fs.writeFile(file, '# mine', { mode: 0o644 });
    await addKnownHost(file, 'example.com', 22, a.blob);
    expect(await fs.readFile(file, 'utf8')).toBe(`# mine\nexample.com ssh-ed25519 ${a.base64}\n`);
    expect(await fileMode(file)).toBe(0o644);
  });

  it('removes exactly the plain lines of the host and port', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'known_hosts');
    const hashed = `${hashedName('[127.0.0.1]:2222')} ssh-ed25519 ${c.base64}`;
    const keep = [
      '# [127.0.0.1]:2222 comment',
      `127.0.0.1 ssh-ed25519 ${a.base64}`,
      `[127.0.0.1]:2223 ssh-ed25519 ${a.base64}`,
      `[127.0.0.1]:2222,other ssh-ed25519 ${a.base64}`,
      `@revoked [127.0.0.1]:2222 ssh-ed25519 ${b.base64}`,
      hashed,
    ];
    await fs.writeFile(file, [
      keep[0], `[127.0.0.1]:2222 ssh-ed25519 ${a.base64}`, keep[1], keep[2], keep[3],
      `[127.0.0.1]:2222 ecdsa-sha2-nistp256 AAAA`, keep[4], keep[5], '',
    ].join('\n'), { mode: 0o640 });
    await fs.chmod(file, 0o640);
    await removeKnownHost(file, '127.0.0.1', 2222);
    expect(await fs.readFile(file, 'utf8')).toBe(`${keep.join('\n')}\n`);
    expect(await fileMode(file)).toBe(0o640);
    expect(await fs.readdir(dir)).toEqual(['known_hosts']);
  });

  it('leaves a missing file alone', async () => {
    const dir = await tempDir();
    await removeKnownHost(path.join(dir, 'known_hosts'), 'example.com', 22);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('knownHostsFiles', () => {
  afterEach(() => { vi.unstubAllEnvs(); });

  it('reads ~/.ssh/known_hosts, then paas own file', () => {
    vi.stubEnv('HOME', '/home/me');
    expect(knownHostsFiles({})).toEqual(['/home/me/.ssh/known_hosts', '/home/me/.paas/known_hosts']);
    expect(knownHostsFiles({ PAAS_HOME: '/var/paas' })).toEqual(['/home/me/.ssh/known_hosts', '/var/paas/known_hosts']);
  });

  it('takes the list from PAAS_KNOWN_HOSTS', () => {
    expect(knownHostsFiles({ PAAS_KNOWN_HOSTS: `/a/known_hosts${path.delimiter}/b/known_hosts` })).toEqual(['/a/known_hosts', '/b/known_hosts']);
  });
});
