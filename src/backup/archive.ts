import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PaasError } from '../errors.js';
import { syncDir, writeError } from '../agent/state.js';
import { keyId } from './keys.js';

/*
 * One backup is one file, `<dir>/<id>.backup`:
 *
 *   {"format":"paas-backup-v1","id":...,"service":...,"kind":...,"createdAt":...,"iv":...}\n
 *   AES-256-GCM ciphertext of the dump
 *   the 16-byte GCM tag
 *
 * The header line (its exact bytes, newline included) is the additional authenticated data: an
 * edited header, or a header copied onto another body, does not verify. The header is readable
 * without the key (listing); nothing in it is secret.
 */

export const BACKUP_FORMAT = 'paas-backup-v1';
export const BACKUP_SUFFIX = '.backup';
/** A header longer than this is not one of ours: a listing never reads more of a file. */
export const MAX_HEADER_BYTES = 4096;

const IV_BYTES = 12;
/** A new file only: an existing file or link at the temp name is never reused. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const TAG_BYTES = 16;

export type BackupKind = 'postgres' | 'redis' | 'volume';
export const BACKUP_KINDS: readonly BackupKind[] = ['postgres', 'redis', 'volume'];

/** A backup id: also its file name, so a safe one (lowercase letters, digits, dashes). */
const ID = /^[a-z0-9][a-z0-9-]{0,79}$/;
/** A service's name, or `<app>.<volume>` for a volume's backups. */
const SERVICE = /^[a-z0-9][a-z0-9.-]{0,94}$/;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  id: string;
  /** The backing service's name (the AAD ties the dump to it). */
  service: string;
  kind: BackupKind;
  /** ISO 8601, UTC. */
  createdAt: string;
  /** The version of what was dumped, e.g. the postgres major ('15'); '' when not known. */
  sourceVersion: string;
  /** Which backup key encrypted it (see keyId): tells "another key" apart from tampering. */
  keyId: string;
  /** base64 */
  iv: string;
}

export interface BackupInfo {
  id: string;
  service: string;
  kind: BackupKind;
  createdAt: string;
  sourceVersion: string;
  keyId: string;
  /** Bytes on disk (encrypted). */
  size: number;
  file: string;
}

export interface WrittenBackup extends BackupInfo {
  /** sha256 (hex) of the plaintext dump. */
  sha256: string;
  /** Bytes of the plaintext dump. */
  plainSize: number;
}

export function backupFile(dir: string, id: string): string {
  checkId(id);
  return path.join(dir, `${id}${BACKUP_SUFFIX}`);
}

function checkId(id: string): void {
  if (!ID.test(id)) {
    throw new PaasError('usage', `invalid backup id ${JSON.stringify(id)}: use lowercase letters, digits and dashes (at most 80)`);
  }
}

/** A new id that sorts by time: `20261201t211328z-1a2b3c` (UTC). */
export function newBackupId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, 'z').replace(/[-:]/g, '').toLowerCase();
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export interface WriteBackupOptions {
  dir: string;
  /** The backup key (32 bytes, see keys.ts). */
  key: Buffer;
  service: string;
  kind: BackupKind;
  sourceVersion?: string;
  /** The dump's bytes, e.g. a pg_dump's stdout. */
  source: Readable;
  /**
   * Resolves when the producer finished well (e.g. pg_dump exited 0), rejects otherwise: a
   * stream that ended is not proof that the dump is whole. Its rejection reason is reported.
   */
  producerDone?: Promise<unknown>;
  id?: string;
  now?: Date;
}

/**
 * Encrypts `source` into `<dir>/<id>.backup`: a temp file in the same directory, fsync, rename,
 * fsync of the directory. On any failure (the source stream errors, the producer fails, a full
 * disk) the temp file goes, nothing else in `dir` is touched, and a PaasError says why.
 */
export async function writeBackup(options: WriteBackupOptions): Promise<WrittenBackup> {
  const { dir, key, service, kind } = options;
  checkKey(key);
  checkId(options.id ?? 'x');
  if (!SERVICE.test(service)) throw new PaasError('usage', `invalid service name ${JSON.stringify(service)}`);
  if (!BACKUP_KINDS.includes(kind)) throw new PaasError('usage', `invalid backup kind ${JSON.stringify(kind)}: use one of ${BACKUP_KINDS.join(', ')}`);
  const createdAt = (options.now ?? new Date()).toISOString();
  const id = options.id ?? newBackupId(options.now);
  const file = backupFile(dir, id);
  const iv = randomBytes(IV_BYTES);
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    id,
    service,
    kind,
    createdAt,
    sourceVersion: options.sourceVersion ?? '',
    keyId: keyId(key),
    iv: iv.toString('base64'),
  };
  const headerBytes = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  if (headerBytes.length > MAX_HEADER_BYTES) throw new PaasError('usage', `the backup header of ${service} is too long`);

  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(headerBytes);
  const hash = createHash('sha256');
  let plainSize = 0;
  let written = 0; // bytes on disk, header included (it goes through `count`)
  const encrypt = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      plainSize += chunk.length;
      callback(null, cipher.update(chunk));
    },
    flush(callback) {
      try {
        this.push(cipher.final());
        this.push(cipher.getAuthTag());
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      callback(null, chunk);
    },
  });

  // A producer that fails stops the copy at once (its stdout may stay open after it failed).
  const abort = new AbortController();
  let producerError: { reason: unknown } | undefined;
  const producer = (options.producerDone ?? Promise.resolve()).then(
    () => undefined,
    (reason: unknown) => {
      producerError = { reason };
      abort.abort();
    },
  );

  let sourceError: unknown;
  options.source.once('error', (error: unknown) => {
    sourceError = error;
  });

  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let stage = 'create';
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    stage = 'write';
    encrypt.push(headerBytes);
    await pipeline(options.source, encrypt, count, (await fs.open(tmp, CREATE_FLAGS, 0o600)).createWriteStream(), { signal: abort.signal });
    await producer;
    if (producerError) throw new Error('the producer failed');
    stage = 'sync';
    await fsync(tmp);
    stage = 'rename';
    await fs.rename(tmp, file);
    await syncDir(dir);
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    options.source.destroy();
    // The producer's own failure explains a broken stream best (pg_dump died): wait a little for it.
    await Promise.race([producer, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    throw writeFailure(error, { file, service, stage, producerError, sourceFailed: sourceError, bytes: written });
  }
  return { ...infoOf(header, file, written), sha256: hash.digest('hex'), plainSize };
}

function writeFailure(
  error: unknown,
  context: { file: string; service: string; stage: string; producerError?: { reason: unknown }; sourceFailed?: unknown; bytes: number },
): PaasError {
  const { file, service } = context;
  const nothing = 'the older backups are untouched';
  // A full disk first: the dump then dies of the broken pipe, which says nothing of the cause.
  const full = writeError(error, file, context.bytes);
  if (full instanceof PaasError) return full;
  if (context.producerError) {
    const reason = context.producerError.reason;
    if (reason instanceof PaasError) return reason;
    return new PaasError('failure', `the backup of ${service} failed: the dump did not finish: ${messageOf(reason)}`, {
      where: file,
      hint: `nothing was written (${nothing}); see the dump's output above, then run the backup again`,
      cause: reason,
    });
  }
  if (context.sourceFailed) {
    return new PaasError('failure', `the backup of ${service} failed: the dump stream broke: ${messageOf(context.sourceFailed)}`, {
      where: file,
      hint: `nothing was written (${nothing}); run the backup again`,
      cause: context.sourceFailed,
    });
  }
  if (error instanceof PaasError) return error;
  return new PaasError('host', `the backup of ${service} failed (${context.stage} of ${file}): ${messageOf(error)}`, {
    where: file,
    hint: `nothing was written (${nothing})`,
    cause: error,
  });
}

/** fsync of a written file (through a new descriptor: the stream closed its own, autoClose). */
async function fsync(file: string): Promise<void> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== 32) throw new PaasError('usage', 'a backup key is 32 bytes');
}

function infoOf(header: BackupHeader, file: string, size: number): BackupInfo {
  const { id, service, kind, createdAt, sourceVersion, keyId: kid } = header;
  return { id, service, kind, createdAt, sourceVersion, keyId: kid, size, file };
}

interface RawHeader {
  header: BackupHeader;
  bytes: Buffer;
  fileSize: number;
}

function notBackup(file: string, why: string): PaasError {
  return new PaasError('failure', `${path.basename(file)} is not a paas backup: ${why}`, { where: file });
}

/** Reads at most MAX_HEADER_BYTES; checks the header's shape (not its authenticity: that needs the key). */
async function readRawHeader(file: string): Promise<RawHeader> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PaasError('failure', code === 'ENOENT' ? `no backup ${path.basename(file)}` : `cannot read ${file}: ${messageOf(error)}`, { where: file, cause: error });
  }
  try {
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) throw notBackup(file, 'not a regular file');
    const buffer = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
    if (end < 0) throw notBackup(file, bytesRead >= MAX_HEADER_BYTES ? `no header line in its first ${MAX_HEADER_BYTES} bytes` : 'no header line');
    const bytes = Buffer.from(buffer.subarray(0, end + 1));
    let parsed: Partial<BackupHeader>;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as Partial<BackupHeader>;
    } catch {
      throw notBackup(file, 'its header is not JSON');
    }
    if (parsed?.format !== BACKUP_FORMAT) throw notBackup(file, `its header does not name the ${BACKUP_FORMAT} format`);
    const strings = ['id', 'service', 'kind', 'createdAt', 'sourceVersion', 'keyId', 'iv'] as const;
    const bad = strings.filter((k) => typeof parsed[k] !== 'string');
    if (bad.length) throw notBackup(file, `its header lacks ${bad.join(', ')}`);
    const header = parsed as BackupHeader;
    if (!ID.test(header.id) || !BACKUP_KINDS.includes(header.kind) || Number.isNaN(Date.parse(header.createdAt))) {
      throw notBackup(file, 'its header has a malformed id, kind or date');
    }
    return { header, bytes, fileSize: size };
  } finally {
    await handle.close();
  }
}

/** What a listing shows, read without the key (a bounded read of the header). */
export async function readBackupInfo(file: string): Promise<BackupInfo> {
  const { header, fileSize } = await readRawHeader(file);
  return infoOf(header, file, fileSize);
}

/** The backups in `dir`, newest first; files that are not backups are skipped (and reported). */
export async function listBackups(dir: string): Promise<{ backups: BackupInfo[]; unreadable: { file: string; problem: string }[] }> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { backups: [], unreadable: [] };
    throw new PaasError('host', `cannot list ${dir}: ${messageOf(error)}`, { where: dir, cause: error });
  }
  const backups: BackupInfo[] = [];
  const unreadable: { file: string; problem: string }[] = [];
  for (const name of names.filter((n) => n.endsWith(BACKUP_SUFFIX)).sort()) {
    const file = path.join(dir, name);
    try {
      const info = await readBackupInfo(file);
      if (`${info.id}${BACKUP_SUFFIX}` !== name) unreadable.push({ file, problem: `its header names the backup ${info.id}` });
      else backups.push(info);
    } catch (error) {
      unreadable.push({ file, problem: messageOf(error) });
    }
  }
  backups.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return { backups, unreadable };
}

export interface DecryptOptions {
  /** Refuse a backup of another service / kind (the header says which; the tag proves it). */
  service?: string;
  kind?: BackupKind;
}

export interface DecryptedBackup extends BackupInfo {
  sha256: string;
  plainSize: number;
}

/**
 * Decrypts `file` into `destFile`: through a temp file next to `destFile`, renamed into place only
 * once the GCM tag verified. A wrong key, a changed byte anywhere, a truncated file: a PaasError,
 * no `destFile`, no temp file.
 */
export async function decryptBackup(file: string, key: Buffer, destFile: string, options: DecryptOptions = {}): Promise<DecryptedBackup> {
  checkKey(key);
  const { header, bytes, fileSize } = await readRawHeader(file).catch((error: unknown) => {
    // A header damaged in its JSON is tampering too, as the user sees it.
    if (error instanceof PaasError && error.message.includes('is not a paas backup')) throw undecryptable(file, [error.message]);
    throw error;
  });
  if (options.service !== undefined && header.service !== options.service) {
    throw new PaasError('usage', `the backup ${header.id} is of the service ${header.service}, not ${options.service}`, { where: file });
  }
  if (options.kind !== undefined && header.kind !== options.kind) {
    throw new PaasError('usage', `the backup ${header.id} is a ${header.kind} backup, not ${options.kind}`, { where: file });
  }
  const iv = Buffer.from(header.iv, 'base64');
  if (iv.length !== IV_BYTES) throw undecryptable(file, ['its header has a malformed IV']);
  const bodyEnd = fileSize - TAG_BYTES;
  if (bodyEnd < bytes.length) throw undecryptable(file, [`it is ${fileSize} bytes long: too short to hold its authentication tag`]);

  const tag = Buffer.alloc(TAG_BYTES);
  const reader = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await reader.read(tag, 0, TAG_BYTES, bodyEnd);
  } finally {
    await reader.close();
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(bytes);
  decipher.setAuthTag(tag);
  const hash = createHash('sha256');
  let plainSize = 0;
  let verifyFailed: unknown;
  const decrypt = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const plain = decipher.update(chunk);
      hash.update(plain);
      plainSize += plain.length;
      callback(null, plain);
    },
    flush(callback) {
      try {
        const last = decipher.final();
        hash.update(last);
        plainSize += last.length;
        this.push(last);
        callback();
      } catch (error) {
        verifyFailed = error;
        callback(error as Error);
      }
    },
  });

  const destDir = path.dirname(destFile);
  const tmp = `${destFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const body = bodyEnd > bytes.length
      ? createReadStream(file, { start: bytes.length, end: bodyEnd - 1 })
      : Readable.from([]);
    await pipeline(body, decrypt, (await fs.open(tmp, CREATE_FLAGS, 0o600)).createWriteStream());
    await fsync(tmp);
    await fs.rename(tmp, destFile);
    await syncDir(destDir);
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    if (verifyFailed !== undefined) {
      const other = header.keyId !== keyId(key);
      throw undecryptable(file, [other
        ? `it was made with the backup key ${header.keyId}, this key is ${keyId(key)}`
        : 'its header, body or authentication tag was changed, or it was cut short'], error);
    }
    const full = writeError(error, destFile);
    if (full instanceof PaasError) throw full;
    throw new PaasError('host', `cannot decrypt ${file} into ${destFile}: ${messageOf(error)}`, { where: destFile, cause: error });
  }
  return { ...infoOf(header, file, fileSize), sha256: hash.digest('hex'), plainSize };
}

function undecryptable(file: string, details: string[], cause?: unknown): PaasError {
  return new PaasError('failure', `the backup ${path.basename(file)} does not decrypt or verify: tampered, truncated, or another key`, {
    where: file,
    details,
    hint: 'use an intact copy of the backup (download it again) and the backup key it was made with (`paasbk1-...`)',
    cause,
  });
}
