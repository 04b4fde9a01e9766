import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { ROOT, writeAtomic, writeError } from './state.js';

/*
 * Config vars at rest on the host: AES-256-GCM, a random IV per write, the app name as additional
 * authenticated data (a file copied to another app does not decrypt). The key is one file per host.
 */

export const SECRET_KEY_FILE = path.join(ROOT, 'secret.key');

const FORMAT = 'paas-secrets-v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SecretsFile {
  format: typeof FORMAT;
  iv: string;
  tag: string;
  data: string;
}

/** The host's key; a read never writes (it works on a full disk), and a missing key is an error. */
export async function loadKey(file: string): Promise<Buffer> {
  return readKey(file);
}

/** The host's key, created (0600) on first use. Two agents racing both end up with the same key. */
export async function loadOrCreateKey(file: string): Promise<Buffer> {
  const existing = await readKey(file).catch((error: PaasError) => {
    if ((error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing) return existing;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // Write a private temp file, then link it into place: link never overwrites (EEXIST) and, unlike
  // an exclusive create followed by a write, never lets the other agent read a half-written key.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, key, { flag: 'wx', mode: 0o600 });
    await fs.link(tmp, file);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      const full = writeError(error, file, KEY_BYTES);
      throw full instanceof PaasError ? full : new PaasError('host', `cannot create the secret key ${file}: ${(error as Error).message}`, { where: file, cause: error });
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return readKey(file);
}

async function readKey(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r').catch((error: Error) => {
    throw new PaasError('host', `cannot read the secret key ${file}: ${error.message}`, { where: file, cause: error });
  });
  try {
    const { mode } = await handle.stat();
    if (mode & 0o077) {
      const shown = (mode & 0o777).toString(8).padStart(4, '0');
      throw new PaasError('host', `the secret key ${file} is readable or writable by other users (mode ${shown})`, {
        where: file,
        hint: `chmod 600 ${file}`,
      });
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new PaasError('host', `the secret key ${file} is ${key.length} bytes long, expected ${KEY_BYTES}`, {
        where: file,
        hint: `restore ${file} from a backup; without it the stored config vars cannot be decrypted`,
      });
    }
    return key;
  } finally {
    await handle.close();
  }
}

/**
 * Plaintext → the JSON text stored on disk: AES-256-GCM under `key`, a random IV, `scope` as
 * additional authenticated data (the same bytes sealed for another scope do not open).
 */
export function seal(plain: Buffer, key: Buffer, scope: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(scope, 'utf8'));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  const file: SecretsFile = {
    format: FORMAT,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(file);
}

/** The text `seal` wrote → the plaintext. Any failure (tampering, another key, another scope: `belongsTo` says whose) is `fail(reason)`. */
export function unseal(text: string, key: Buffer, scope: string, fail: (reason: string, cause?: unknown) => PaasError, belongsTo = 'another app'): Buffer {
  let file: Partial<SecretsFile>;
  try {
    file = JSON.parse(text) as Partial<SecretsFile>;
  } catch (error) {
    throw fail('the file is not JSON', error);
  }
  if (file?.format !== FORMAT || typeof file.iv !== 'string' || typeof file.tag !== 'string' || typeof file.data !== 'string') {
    throw fail(`the file is not in the ${FORMAT} format`);
  }
  const iv = Buffer.from(file.iv, 'base64');
  const tag = Buffer.from(file.tag, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw fail('the file has a malformed IV or authentication tag');
  try {
    // authTagLength pins the tag size: GCM would otherwise accept a truncated tag.
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(scope, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()]);
  } catch (error) {
    throw fail(`authentication failed: the file was modified, encrypted with another key, or belongs to ${belongsTo}`, error);
  }
}

/** Vars → the JSON text stored on disk (sealed with the app's name as the scope). */
export function encryptVars(vars: Record<string, string>, key: Buffer, app: string): string {
  return seal(Buffer.from(JSON.stringify(vars), 'utf8'), key, app);
}

/** The stored JSON text → vars. Any failure (tampering, another key, another app) is a PaasError. */
export function decryptVars(text: string, key: Buffer, app: string, where: string): Record<string, string> {
  const fail = (reason: string, cause?: unknown): PaasError =>
    new PaasError('host', `cannot decrypt the config vars of ${app}`, {
      where,
      details: [reason],
      hint: `restore ${where} and the host's secret key from the same backup, or delete ${where} and set the config vars of ${app} again`,
      cause,
    });
  const plain = unseal(text, key, app, fail).toString('utf8');
  let vars: unknown;
  try {
    vars = JSON.parse(plain);
  } catch (error) {
    throw fail('the decrypted content is not JSON', error);
  }
  if (typeof vars !== 'object' || vars === null || Array.isArray(vars) || !Object.values(vars).every((v) => typeof v === 'string')) {
    throw fail('the decrypted content is not a set of config vars');
  }
  return vars as Record<string, string>;
}

/** The app's stored vars; a missing file is no vars. */
export async function readVars(file: string, key: Buffer, app: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PaasError('host', `cannot read ${file}: ${(error as Error).message}`, { where: file, cause: error });
  }
  return decryptVars(text, key, app, file);
}

export async function writeVars(file: string, vars: Record<string, string>, key: Buffer, app: string): Promise<void> {
  await writeAtomic(file, `${encryptVars(vars, key, app)}\n`, 0o600);
}
