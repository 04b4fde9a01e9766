import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptVars, encryptVars, loadOrCreateKey, readVars, writeVars } from '../../src/agent/secrets.js';
import { PaasError } from '../../src/errors.js';

// Every test passes explicit paths under a temp dir: nothing depends on the agent's ROOT.
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-secrets-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const BIG = 'v'.repeat(10 * 1024);
const HOSTILE: Record<string, string> = {
  SPACES: 'a b',
  SHELL: `"'$(rm -rf /)`,
  EQ: 'x=y=z',
  MULTI: 'line1\nline2',
  UNI: 'héllo ✓ 日本',
  EMPTY: '',
  BIG,
};
// `__proto__` is a valid variable name; as an object literal key it would set the prototype.
Object.defineProperty(HOSTILE, '__proto__', { value: 'not a prototype', enumerable: true, writable: true, configurable: true });

function caught(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected a PaasError');
}

async function rejected(promise: Promise<unknown>): Promise<PaasError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected a PaasError');
}

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('loadOrCreateKey', () => {
  it('creates a 32-byte key with mode 0600, then reads the same key back', async () => {
    const file = path.join(dir, 'nested', 'secret.key');
    const key = await loadOrCreateKey(file);
    expect(key).toHaveLength(32);
    expect(await mode(file)).toBe(0o600);
    expect(await mode(path.dirname(file))).toBe(0o700);
    expect(Buffer.compare(await fs.readFile(file), key)).toBe(0);
    expect(Buffer.compare(await loadOrCreateKey(file), key)).toBe(0);
    expect(await fs.readdir(path.dirname(file))).toEqual(['secret.key']);
  });

  it('gives racing callers the same key', async () => {
    const file = path.join(dir, 'secret.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKey(file)));
    for (const key of keys) expect(key.toString('hex')).toBe(keys[0]!.toString('hex'));
    expect(await fs.readdir(dir)).toEqual(['secret.key']);
  });

  it('refuses a key file readable by others and says how to fix it', async () => {
    const file = path.join(dir, 'secret.key');
    await fs.writeFile(file, randomBytes(32));
    await fs.chmod(file, 0o644);
    const error = await rejected(loadOrCreateKey(file));
    expect(error.kind).toBe('host');
    expect(error.message).toBe(`the secret key ${file} is readable or writable by other users (mode 0644)`);
    expect(error.where).toBe(file);
    expect(error.hint).toBe(`chmod 600 ${file}`);
  });

  it('refuses a key of the wrong size', async () => {
    const file = path.join(dir, 'secret.key');
    await fs.writeFile(file, randomBytes(16), { mode: 0o600 });
    const error = await rejected(loadOrCreateKey(file));
    expect(error.kind).toBe('host');
    expect(error.message).toBe(`the secret key ${file} is 16 bytes long, expected 32`);
    expect(error.hint).toBe(`restore ${file} from a backup; without it the stored config vars cannot be decrypted`);
  });
});

describe('encryptVars / decryptVars', () => {
  const key = randomBytes(32);

  it('round-trips hostile values byte-exact', () => {
    const text = encryptVars(HOSTILE, key, 'shop');
    const vars = decryptVars(text, key, 'shop', 'vars.enc');
    expect(vars).toEqual(HOSTILE);
    expect(Object.keys(vars).sort()).toEqual(['BIG', 'EMPTY', 'EQ', 'MULTI', 'SHELL', 'SPACES', 'UNI', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(vars, '__proto__')?.value).toBe('not a prototype');
    expect(vars.BIG).toBe(BIG);
    expect(Buffer.from(vars.UNI!, 'utf8').toString('hex')).toBe(Buffer.from('héllo ✓ 日本', 'utf8').toString('hex'));
  });

  it('round-trips no vars', () => {
    expect(decryptVars(encryptVars({}, key, 'shop'), key, 'shop', 'vars.enc')).toEqual({});
  });

  it('writes the documented format', () => {
    const file = JSON.parse(encryptVars({ A: 'b' }, key, 'shop')) as Record<string, string>;
    expect(Object.keys(file)).toEqual(['format', 'iv', 'tag', 'data']);
    expect(file.format).toBe('paas-secrets-v1');
    expect(Buffer.from(file.iv!, 'base64')).toHaveLength(12);
    expect(Buffer.from(file.tag!, 'base64')).toHaveLength(16);
  });

  it('uses a fresh IV for every encryption', () => {
    const first = JSON.parse(encryptVars(HOSTILE, key, 'shop')) as Record<string, string>;
    const second = JSON.parse(encryptVars(HOSTILE, key, 'shop')) as Record<string, string>;
    expect(first.iv).not.toBe(second.iv);
    expect(first.data).not.toBe(second.data);
    expect(first.tag).not.toBe(second.tag);
  });

  const hint = "restore vars.enc and the host's secret key from the same backup, or delete vars.enc and set the config vars of shop again";
  const authFailed = 'authentication failed: the file was modified, encrypted with another key, or belongs to another app';

  function expectDecryptError(fn: () => unknown, detail: string): void {
    const error = caught(fn);
    expect(error.kind).toBe('host');
    expect(error.message).toBe('cannot decrypt the config vars of shop');
    expect(error.where).toBe('vars.enc');
    expect(error.details).toEqual([detail]);
    expect(error.hint).toBe(hint);
  }

  it('refuses a tampered tag', () => {
    const file = JSON.parse(encryptVars(HOSTILE, key, 'shop')) as Record<string, string>;
    const tag = Buffer.from(file.tag!, 'base64');
    tag[0]! ^= 1;
    const text = JSON.stringify({ ...file, tag: tag.toString('base64') });
    expectDecryptError(() => decryptVars(text, key, 'shop', 'vars.enc'), authFailed);
  });

  it('refuses tampered data', () => {
    const file = JSON.parse(encryptVars({ A: 'b' }, key, 'shop')) as Record<string, string>;
    const data = Buffer.from(file.data!, 'base64');
    data[data.length - 1]! ^= 1;
    const text = JSON.stringify({ ...file, data: data.toString('base64') });
    expectDecryptError(() => decryptVars(text, key, 'shop', 'vars.enc'), authFailed);
  });

  it('refuses a truncated tag', () => {
    const file = JSON.parse(encryptVars({ A: 'b' }, key, 'shop')) as Record<string, string>;
    const text = JSON.stringify({ ...file, tag: Buffer.from(file.tag!, 'base64').subarray(0, 4).toString('base64') });
    expectDecryptError(() => decryptVars(text, key, 'shop', 'vars.enc'), 'the file has a malformed IV or authentication tag');
  });

  it('refuses another key', () => {
    const text = encryptVars(HOSTILE, key, 'shop');
    expectDecryptError(() => decryptVars(text, randomBytes(32), 'shop', 'vars.enc'), authFailed);
  });

  it("refuses another app's file", () => {
    const text = encryptVars(HOSTILE, key, 'blog');
    expectDecryptError(() => decryptVars(text, key, 'shop', 'vars.enc'), authFailed);
  });

  it.each([
    ['', 'the file is not JSON'],
    ['{"A":"b"}', 'the file is not in the paas-secrets-v1 format'],
    ['null', 'the file is not in the paas-secrets-v1 format'],
    ['{"format":"paas-secrets-v2","iv":"","tag":"","data":""}', 'the file is not in the paas-secrets-v1 format'],
  ])('refuses the file %j', (text, detail) => {
    expectDecryptError(() => decryptVars(text, key, 'shop', 'vars.enc'), detail);
  });
});

describe('readVars / writeVars', () => {
  it('reads a missing file as no vars', async () => {
    expect(await readVars(path.join(dir, 'none.enc'), randomBytes(32), 'shop')).toEqual({});
  });

  it('round-trips through a 0600 file that holds no plaintext', async () => {
    const key = await loadOrCreateKey(path.join(dir, 'secret.key'));
    const file = path.join(dir, 'apps', 'shop', 'vars.enc');
    const secrets = { ...HOSTILE, TOKEN: 'sk_live_0123456789abcdef', PASSWORD: 'hunter2-correct-horse' };
    await writeVars(file, secrets, key, 'shop');
    expect(await mode(file)).toBe(0o600);
    expect(await readVars(file, key, 'shop')).toEqual(secrets);

    const raw = await fs.readFile(file, 'utf8');
    expect(raw.endsWith('}\n')).toBe(true);
    const data = Buffer.from((JSON.parse(raw) as { data: string }).data, 'base64');
    for (const [name, value] of Object.entries(secrets)) {
      if (value === '') continue;
      expect(raw.includes(value), name).toBe(false);
      expect(raw.includes(JSON.stringify(value).slice(1, -1)), name).toBe(false);
      // Short base64 strings could occur by chance in 14 KB of base64 ciphertext.
      if (Buffer.byteLength(value) >= 6) expect(raw.includes(Buffer.from(value).toString('base64')), name).toBe(false);
      expect(data.includes(Buffer.from(value)), name).toBe(false);
    }
    expect(raw.includes('TOKEN')).toBe(false);
    expect(await fs.readdir(path.dirname(file))).toEqual(['vars.enc']);
  });

  it('overwrites the previous vars', async () => {
    const key = randomBytes(32);
    const file = path.join(dir, 'vars.enc');
    await writeVars(file, { A: '1', B: '2' }, key, 'shop');
    await writeVars(file, { B: '3' }, key, 'shop');
    expect(await readVars(file, key, 'shop')).toEqual({ B: '3' });
  });

  it("refuses a file copied from another app's directory", async () => {
    const key = randomBytes(32);
    const blog = path.join(dir, 'blog.enc');
    const shop = path.join(dir, 'shop.enc');
    await writeVars(blog, { A: '1' }, key, 'blog');
    await fs.copyFile(blog, shop);
    const error = await rejected(readVars(shop, key, 'shop'));
    expect(error.message).toBe('cannot decrypt the config vars of shop');
    expect(error.where).toBe(shop);
  });
});
