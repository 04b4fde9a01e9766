import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { ROOT, writeAtomic, writeError } from '../agent/state.js';
import { SECRET_KEY_FILE, loadOrCreateKey, seal, unseal } from '../agent/secrets.js';

/*
 * The backup key: 32 random bytes per host, encrypting every backup of the host. On disk it is
 * kept wrapped (AES-256-GCM with the host's secret key, AAD 'paas-backup-key'), never in clear.
 * Its text form `paasbk1-...` (base64url of the key and a 4-byte checksum) is what a user keeps
 * off the host, to restore a downloaded backup on another host.
 */

export const BACKUP_KEY_FILE = path.join(ROOT, 'backup.key');
export const BACKUP_KEY_PREFIX = 'paasbk1-';

/** The additional authenticated data of the wrapped key (secrets.ts seal). */
const SCOPE = 'paas-backup-key';
const KEY_BYTES = 32;
const CHECK_BYTES = 4;

export function generateBackupKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** A short public name of a key (in each backup's header): tells which key made a backup. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('paas-backup-key-id\0').update(key).digest('hex').slice(0, 16);
}

export function wrapBackupKey(key: Buffer, hostKey: Buffer): string {
  return `${seal(key, hostKey, SCOPE)}\n`;
}

export function unwrapBackupKey(text: string, hostKey: Buffer, where: string): Buffer {
  const fail = (reason: string, cause?: unknown) =>
    new PaasError('host', `cannot unwrap the backup key ${where}`, {
      where,
      details: [reason],
      hint: `restore ${where} and the host's secret key (${SECRET_KEY_FILE}) from the same backup, or import the backup key from its paasbk1- text`,
      cause,
    });
  const key = unseal(text.trim(), hostKey, SCOPE, fail, 'another host');
  if (key.length !== KEY_BYTES) throw fail(`the unwrapped key is ${key.length} bytes long, expected ${KEY_BYTES}`);
  return key;
}

export interface BackupKeyFiles {
  /** The wrapped backup key (default BACKUP_KEY_FILE). */
  file?: string;
  /** The host's secret key (default SECRET_KEY_FILE), created if missing as secrets.ts does. */
  hostKeyFile?: string;
}

/** The host's backup key, created (and stored wrapped, 0600) on first use; racing agents agree. */
export async function loadOrCreateBackupKey(files: BackupKeyFiles = {}): Promise<Buffer> {
  const file = files.file ?? BACKUP_KEY_FILE;
  const hostKey = await loadOrCreateKey(files.hostKeyFile ?? SECRET_KEY_FILE);
  const existing = await readWrapped(file, hostKey);
  if (existing) return existing;
  const key = generateBackupKey();
  if (await linkNew(file, wrapBackupKey(key, hostKey))) return key;
  return (await readWrapped(file, hostKey))!;
}

/** The stored backup key, or undefined when the host has none yet. */
export async function loadBackupKey(files: BackupKeyFiles = {}): Promise<Buffer | undefined> {
  const file = files.file ?? BACKUP_KEY_FILE;
  const hostKey = await loadOrCreateKey(files.hostKeyFile ?? SECRET_KEY_FILE);
  return readWrapped(file, hostKey);
}

/**
 * Stores an imported key as the host's backup key. A host that already has another key keeps it
 * unless `replace`: its own backups were made with it and would no longer decrypt.
 */
export async function storeBackupKey(key: Buffer, files: BackupKeyFiles & { replace?: boolean } = {}): Promise<void> {
  if (key.length !== KEY_BYTES) throw new PaasError('usage', `a backup key is ${KEY_BYTES} bytes`);
  const file = files.file ?? BACKUP_KEY_FILE;
  const hostKey = await loadOrCreateKey(files.hostKeyFile ?? SECRET_KEY_FILE);
  const existing = await readWrapped(file, hostKey);
  if (existing && timingSafeEqual(existing, key)) return;
  if (existing && !files.replace) {
    throw new PaasError('usage', `this host already has another backup key (${keyId(existing)}; the imported one is ${keyId(key)})`, {
      where: file,
      hint: 'to restore a downloaded backup, pass its key to the restore only; replacing the host\'s key makes the host\'s own backups undecryptable here',
    });
  }
  await writeAtomic(file, wrapBackupKey(key, hostKey), 0o600);
}

async function readWrapped(file: string, hostKey: Buffer): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PaasError('host', `cannot read the backup key ${file}: ${(error as Error).message}`, { where: file, cause: error });
  }
  return unwrapBackupKey(text, hostKey, file);
}

/** Writes `content` to `file` only if there is none (link never overwrites); false if one existed. */
async function linkNew(file: string, content: string): Promise<boolean> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, content, { flag: 'wx', mode: 0o600 });
    const handle = await fs.open(tmp, 'r');
    await handle.sync().finally(() => handle.close());
    await fs.link(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    const full = writeError(error, file, content.length);
    throw full instanceof PaasError ? full : new PaasError('host', `cannot create the backup key ${file}: ${(error as Error).message}`, { where: file, cause: error });
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

function checksum(key: Buffer): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, CHECK_BYTES);
}

/** The text a user keeps off the host: `paasbk1-` and base64url of the key and a checksum. */
export function exportBackupKey(key: Buffer): string {
  if (key.length !== KEY_BYTES) throw new PaasError('usage', `a backup key is ${KEY_BYTES} bytes`);
  return `${BACKUP_KEY_PREFIX}${Buffer.concat([key, checksum(key)]).toString('base64url')}`;
}

/** The key from its text form; a mistyped or cut text is refused (the checksum), never shown back. */
export function importBackupKey(text: string): Buffer {
  const trimmed = text.trim();
  const hint = 'paste the whole key as `paas` printed it: paasbk1- followed by 48 characters';
  if (!trimmed.startsWith(BACKUP_KEY_PREFIX)) {
    throw new PaasError('usage', `a backup key starts with ${BACKUP_KEY_PREFIX}`, { hint });
  }
  const body = trimmed.slice(BACKUP_KEY_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new PaasError('usage', 'the backup key has characters that are not base64url', { hint });
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length !== KEY_BYTES + CHECK_BYTES) {
    throw new PaasError('usage', `the backup key is ${bytes.length} bytes long once decoded, expected ${KEY_BYTES + CHECK_BYTES}`, { hint });
  }
  const key = bytes.subarray(0, KEY_BYTES);
  if (!timingSafeEqual(checksum(key), bytes.subarray(KEY_BYTES))) {
    throw new PaasError('usage', 'the backup key does not match its checksum: a character was changed', { hint });
  }
  return Buffer.from(key);
}
