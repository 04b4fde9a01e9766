import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { resolveIdentity } from '../../src/ssh/identity.js';
import { newKey, tempDir } from './helpers.js';

const ed25519 = newKey();
const ecdsa = newKey('ecdsa');
const other = newKey();

let home: string;

async function writeKey(file: string, text: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, { mode: 0o600 });
  return file;
}

async function homeKey(name: string, text: string): Promise<string> {
  return writeKey(path.join(home, '.ssh', name), text);
}

async function encryptedKey(file: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await execa('ssh-keygen', ['-t', 'ed25519', '-N', 'secret', '-f', file, '-q']);
  return file;
}

async function failure(promise: Promise<unknown>): Promise<PaasError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PaasError);
  return error as PaasError;
}

beforeEach(async () => {
  home = await tempDir();
  vi.stubEnv('HOME', home);
});

afterEach(() => { vi.unstubAllEnvs(); });

describe('resolveIdentity', () => {
  it('takes --identity before everything else', async () => {
    const file = await writeKey(path.join(home, 'keys', 'deploy'), other.private);
    await homeKey('id_ed25519', ed25519.private);
    const env = { PAAS_SSH_KEY: ed25519.private, PAAS_IDENTITY: '/nope', SSH_AUTH_SOCK: '/tmp/agent.sock' };
    expect(await resolveIdentity({ identity: file, env })).toEqual({ privateKey: Buffer.from(other.private), source: `--identity ${file}` });
  });

  it('expands ~/ in key paths', async () => {
    await writeKey(path.join(home, 'keys', 'deploy'), other.private);
    const identity = await resolveIdentity({ identity: '~/keys/deploy', env: {} });
    expect(identity.privateKey?.toString()).toBe(other.private);
  });

  it('takes PAAS_SSH_KEY next, with literal \\n turned into newlines', async () => {
    const env = { PAAS_SSH_KEY: ed25519.private.replace(/\n/g, '\\n'), PAAS_IDENTITY: '/nope', SSH_AUTH_SOCK: '/tmp/agent.sock' };
    expect(await resolveIdentity({ env })).toEqual({ privateKey: Buffer.from(ed25519.private), source: 'PAAS_SSH_KEY' });
    expect(await resolveIdentity({ env: { PAAS_SSH_KEY: ed25519.private } })).toEqual({ privateKey: Buffer.from(ed25519.private), source: 'PAAS_SSH_KEY' });
  });

  it('takes PAAS_IDENTITY next', async () => {
    const file = await writeKey(path.join(home, 'ci-key'), ecdsa.private);
    await homeKey('id_ed25519', ed25519.private);
    const identity = await resolveIdentity({ env: { PAAS_IDENTITY: file, SSH_AUTH_SOCK: '/tmp/agent.sock' } });
    expect(identity).toEqual({ privateKey: Buffer.from(ecdsa.private), source: `PAAS_IDENTITY (${file})` });
  });

  it('uses ssh-agent next, alone when there is no default key', async () => {
    expect(await resolveIdentity({ env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } })).toEqual({ agent: '/tmp/agent.sock', source: 'ssh-agent ($SSH_AUTH_SOCK)' });
  });

  it('offers the first default key along with ssh-agent', async () => {
    await homeKey('id_rsa', other.private);
    await homeKey('id_ecdsa', ecdsa.private);
    expect(await resolveIdentity({ env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } })).toEqual({
      agent: '/tmp/agent.sock', privateKey: Buffer.from(ecdsa.private), source: 'ssh-agent ($SSH_AUTH_SOCK) and ~/.ssh/id_ecdsa',
    });
  });

  it('leaves a default key with a passphrase to ssh-agent', async () => {
    await encryptedKey(path.join(home, '.ssh', 'id_ed25519'));
    expect(await resolveIdentity({ env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } })).toEqual({ agent: '/tmp/agent.sock', source: 'ssh-agent ($SSH_AUTH_SOCK)' });
  });

  it('falls back to ~/.ssh/id_ed25519, id_ecdsa, id_rsa in that order', async () => {
    await homeKey('id_rsa', other.private);
    expect((await resolveIdentity({ env: {} })).source).toBe('~/.ssh/id_rsa');
    await homeKey('id_ecdsa', ecdsa.private);
    expect(await resolveIdentity({ env: {} })).toEqual({ privateKey: Buffer.from(ecdsa.private), source: '~/.ssh/id_ecdsa' });
    await homeKey('id_ed25519', ed25519.private);
    expect((await resolveIdentity({ env: {} })).source).toBe('~/.ssh/id_ed25519');
  });

  it('says how to get a key when there is none', async () => {
    const error = await failure(resolveIdentity({ env: {} }));
    expect(error.kind).toBe('ssh');
    expect(error.message).toBe('no SSH key to log in with');
    for (const option of ['--identity FILE', 'PAAS_IDENTITY', 'PAAS_SSH_KEY', 'ssh-agent', '~/.ssh/id_ed25519']) expect(error.hint).toContain(option);
  });
});

describe('resolveIdentity errors', () => {
  it('names a missing --identity file', async () => {
    const file = path.join(home, 'missing');
    const error = await failure(resolveIdentity({ identity: file, env: {} }));
    expect(error).toMatchObject({ kind: 'usage', message: `the key file ${file} does not exist`, where: `--identity ${file}` });
    expect(error.hint).toContain('~/.ssh/id_ed25519');
  });

  it('names a missing PAAS_IDENTITY file', async () => {
    const error = await failure(resolveIdentity({ env: { PAAS_IDENTITY: '/nowhere/key' } }));
    expect(error).toMatchObject({ kind: 'usage', message: 'the key file /nowhere/key does not exist', where: 'PAAS_IDENTITY (/nowhere/key)' });
  });

  it('refuses a file that is not a key', async () => {
    const file = await writeKey(path.join(home, 'notes.txt'), 'hello\n');
    const error = await failure(resolveIdentity({ identity: file, env: {} }));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe(`--identity ${file} is not a private key ssh2 can read: Unsupported key format`);
  });

  it('refuses a broken PAAS_SSH_KEY', async () => {
    const error = await failure(resolveIdentity({ env: { PAAS_SSH_KEY: 'not a key' } }));
    expect(error.message).toMatch(/^PAAS_SSH_KEY is not a private key ssh2 can read: /);
  });

  it('refuses a public key', async () => {
    const file = await writeKey(path.join(home, 'id.pub'), `${ed25519.public}\n`);
    const error = await failure(resolveIdentity({ identity: file, env: {} }));
    expect(error).toMatchObject({ kind: 'usage', message: `--identity ${file} is a public key, not a private key` });
  });

  it('points a key with a passphrase to ssh-agent', async () => {
    const file = await encryptedKey(path.join(home, 'keys', 'locked'));
    const error = await failure(resolveIdentity({ identity: file, env: {} }));
    expect(error).toMatchObject({ kind: 'usage', message: `the key --identity ${file} is protected by a passphrase` });
    expect(error.hint).toBe(`load it into ssh-agent (ssh-add ${file}) and run again`);

    await encryptedKey(path.join(home, '.ssh', 'id_ed25519'));
    const defaultError = await failure(resolveIdentity({ env: {} }));
    expect(defaultError.message).toBe('the key ~/.ssh/id_ed25519 is protected by a passphrase');
    expect(defaultError.hint).toBe(`load it into ssh-agent (ssh-add ${path.join(home, '.ssh', 'id_ed25519')}) and run again`);

    const text = await fs.readFile(file, 'utf8');
    expect((await failure(resolveIdentity({ env: { PAAS_SSH_KEY: text } }))).message).toBe('the key PAAS_SSH_KEY is protected by a passphrase');
  });
});
