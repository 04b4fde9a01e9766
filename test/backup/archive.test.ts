import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupFile, decryptBackup, listBackups, MAX_HEADER_BYTES, readBackupInfo, writeBackup } from '../../src/backup/archive.js';
import { exportBackupKey, generateBackupKey, importBackupKey, keyId, loadBackupKey, loadOrCreateBackupKey, storeBackupKey } from '../../src/backup/keys.js';
import { PaasError } from '../../src/errors.js';

let dir: string;
const key = generateBackupKey();

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-backup-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** `total` random bytes in chunks of odd, varying sizes. */
function randomChunks(total: number, seed = 7): { chunks: Buffer[]; data: Buffer } {
  const data = randomBytes(total);
  const chunks: Buffer[] = [];
  let size = seed;
  for (let at = 0; at < total; at += size) {
    size = (size * 7919 + 13) % 65_521 + 1;
    chunks.push(data.subarray(at, Math.min(total, at + size)));
  }
  return { chunks, data };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<PaasError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected a PaasError');
}

async function write(data: Buffer | Buffer[], extra: Partial<Parameters<typeof writeBackup>[0]> = {}) {
  return writeBackup({ dir, key, service: 'db', kind: 'postgres', sourceVersion: '15', source: Readable.from(Array.isArray(data) ? data : [data]), ...extra });
}

describe('writeBackup and decryptBackup', () => {
  it('round-trips a multi-MB stream of odd-sized chunks, and reports its size and sha256', async () => {
    const { chunks, data } = randomChunks(5 * 1024 * 1024 + 333);
    expect(chunks.length).toBeGreaterThan(100);
    const written = await write(chunks, { now: new Date('2026-12-01T03:00:00.000Z') });
    expect(written.sha256).toBe(sha(data));
    expect(written.plainSize).toBe(data.length);
    expect(written.createdAt).toBe('2026-12-01T03:00:00.000Z');
    expect(written.id).toMatch(/^20261201t030000z-[0-9a-f]{6}$/);
    expect(written.file).toBe(backupFile(dir, written.id));
    const stat = await fs.stat(written.file);
    expect(stat.size).toBe(written.size);
    expect(stat.mode & 0o777).toBe(0o600);
    // Encrypted: the plaintext does not show through.
    const onDisk = await fs.readFile(written.file);
    expect(onDisk.includes(data.subarray(1000, 1064))).toBe(false);
    expect(await fs.readdir(dir)).toEqual([path.basename(written.file)]);

    const out = path.join(dir, 'restore.dump');
    const decrypted = await decryptBackup(written.file, key, out, { service: 'db', kind: 'postgres' });
    expect(decrypted.sha256).toBe(sha(data));
    expect(sha(await fs.readFile(out))).toBe(sha(data));
  });

  it('round-trips an empty dump', async () => {
    const written = await write(Buffer.alloc(0));
    const out = path.join(dir, 'out');
    await decryptBackup(written.file, key, out);
    expect((await fs.readFile(out)).length).toBe(0);
  });

  it('reads the header without the key, bounded', async () => {
    const written = await write(randomBytes(1000), { id: 'b-1', now: new Date('2026-01-02T03:04:05.000Z') });
    const info = await readBackupInfo(written.file);
    expect(info).toEqual({ id: 'b-1', service: 'db', kind: 'postgres', createdAt: '2026-01-02T03:04:05.000Z', sourceVersion: '15', keyId: keyId(key), size: written.size, file: written.file });

    const long = path.join(dir, 'long.backup');
    await fs.writeFile(long, Buffer.alloc(MAX_HEADER_BYTES * 4, 0x61));
    expect((await rejection(readBackupInfo(long))).message).toMatch(/no header line in its first 4096 bytes/);
    await fs.writeFile(path.join(dir, 'junk.backup'), 'hello\nworld');
    const listed = await listBackups(dir);
    expect(listed.backups.map((b) => b.id)).toEqual(['b-1']);
    expect(listed.unreadable.map((u) => path.basename(u.file)).sort()).toEqual(['junk.backup', 'long.backup']);
  });

  it('lists newest first and flags a file renamed to another id', async () => {
    await write(Buffer.from('a'), { id: 'old', now: new Date('2026-01-01T00:00:00Z') });
    const b = await write(Buffer.from('b'), { id: 'new', now: new Date('2026-02-01T00:00:00Z') });
    await fs.copyFile(b.file, path.join(dir, 'renamed.backup'));
    const listed = await listBackups(dir);
    expect(listed.backups.map((x) => x.id)).toEqual(['new', 'old']);
    expect(listed.unreadable).toEqual([{ file: path.join(dir, 'renamed.backup'), problem: 'its header names the backup new' }]);
  });

  describe('refuses what does not verify, leaving no file behind', () => {
    let file: string;
    let headerLength: number;
    let size: number;
    const out = () => path.join(dir, 'restore.dump');

    beforeEach(async () => {
      const written = await write(randomChunks(300_000).chunks);
      file = written.file;
      size = written.size;
      headerLength = (await fs.readFile(file)).indexOf(0x0a) + 1;
    });

    async function expectRefused(k = key) {
      const error = await rejection(decryptBackup(file, k, out()));
      expect(error.message).toMatch(/does not decrypt or verify: tampered, truncated, or another key/);
      expect(await fs.readdir(dir)).toEqual([path.basename(file)]);
      return error;
    }

    async function flip(offset: number) {
      const bytes = await fs.readFile(file);
      bytes[offset]! ^= 0x01;
      await fs.writeFile(file, bytes);
    }

    it('a byte of the header changed (its JSON still valid)', async () => {
      const bytes = await fs.readFile(file);
      const at = bytes.indexOf('"sourceVersion":"15"') + '"sourceVersion":"1'.length;
      bytes[at] = '6'.charCodeAt(0);
      await fs.writeFile(file, bytes);
      expect((await readBackupInfo(file)).sourceVersion).toBe('16');
      await expectRefused();
    });

    it('the header moved to another service', async () => {
      const bytes = await fs.readFile(file);
      const text = bytes.subarray(0, headerLength).toString().replace('"service":"db"', '"service":"dc"');
      await fs.writeFile(file, Buffer.concat([Buffer.from(text), bytes.subarray(headerLength)]));
      await expectRefused();
    });

    it('the header broken', async () => {
      await flip(0);
      await expectRefused();
    });

    it('a byte of the body changed (first, middle, last)', async () => {
      for (const offset of [headerLength, Math.floor((headerLength + size - 16) / 2), size - 17]) {
        await flip(offset);
        await expectRefused();
        await flip(offset);
      }
      await decryptBackup(file, key, out());
    });

    it('a byte of the tag changed', async () => {
      await flip(size - 1);
      await expectRefused();
    });

    it('another key', async () => {
      const error = await expectRefused(generateBackupKey());
      expect(error.details.join('\n')).toMatch(/made with the backup key [0-9a-f]{16}, this key is [0-9a-f]{16}/);
    });

    it('a truncated file (a byte short, half, header only, header and 3 bytes)', async () => {
      const whole = await fs.readFile(file);
      for (const length of [size - 1, Math.floor(size / 2), headerLength, headerLength + 3]) {
        await fs.writeFile(file, whole.subarray(0, length));
        await expectRefused();
      }
    });

    it('a backup of another service or kind, when asked for one', async () => {
      expect((await rejection(decryptBackup(file, key, out(), { service: 'other' }))).message).toMatch(/is of the service db, not other/);
      expect((await rejection(decryptBackup(file, key, out(), { kind: 'redis' }))).message).toMatch(/is a postgres backup, not redis/);
    });
  });

  describe('a failed write leaves no temp file and the older backups as they were', () => {
    let older: { file: string; bytes: Buffer };

    beforeEach(async () => {
      const w = await write(randomBytes(10_000), { id: 'older' });
      older = { file: w.file, bytes: await fs.readFile(w.file) };
    });

    afterEach(async () => {
      expect(await fs.readdir(dir)).toEqual(['older.backup']);
      expect((await fs.readFile(older.file)).equals(older.bytes)).toBe(true);
    });

    it('the producer exits non-zero after its stream ended', async () => {
      const error = await rejection(write(randomBytes(10_000), { producerDone: Promise.reject(new Error('pg_dump exited with code 1')) }));
      expect(error.message).toBe('the backup of db failed: the dump did not finish: pg_dump exited with code 1');
    });

    it('the producer fails while its stream stays open', async () => {
      const source = new PassThrough();
      source.write(randomBytes(5000));
      let fail!: (e: Error) => void;
      const producerDone = new Promise<void>((_, reject) => { fail = reject; });
      const writing = writeBackup({ dir, key, service: 'db', kind: 'redis', source, producerDone });
      setTimeout(() => fail(new Error('redis-cli was killed')), 50);
      expect((await rejection(writing)).message).toMatch(/the dump did not finish: redis-cli was killed/);
    });

    it('the source stream errors', async () => {
      const source = new PassThrough();
      source.write(randomBytes(5000));
      setTimeout(() => source.destroy(new Error('connection reset')), 20);
      const error = await rejection(writeBackup({ dir, key, service: 'db', kind: 'volume', source }));
      expect(error.message).toBe('the backup of db failed: the dump stream broke: connection reset');
    });

    it('a PaasError of the producer is reported as is', async () => {
      const reason = new PaasError('docker', 'the container db is not running');
      expect(await rejection(write(Buffer.from('x'), { producerDone: Promise.reject(reason) }))).toBe(reason);
    });
  });
});

describe('a full disk', () => {
  let mount: string | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    const at = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-backup-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at], { stdio: 'pipe' });
      mount = at;
    } catch (error) {
      skipReason = `mount -t tmpfs is not permitted here: ${(error as Error).message}`;
      await fs.rm(at, { recursive: true, force: true });
    }
  });

  afterAll(async () => {
    if (mount) {
      execFileSync('umount', [mount]);
      await fs.rm(mount, { recursive: true, force: true });
    }
  });

  it('fails with the full-disk error, removes its temp file, keeps the older backup', async (context) => {
    // `npm test` runs as root on the machines it is for: there the test must run, not skip.
    if (!mount && process.env.PAAS_TEST_TOOLS === 'required') throw new Error(`a full disk cannot be made: ${skipReason}`);
    if (!mount) {
      console.warn(`skipped: ${skipReason}`);
      context.skip();
      return;
    }
    const older = await writeBackup({ dir: mount, key, service: 'db', kind: 'postgres', source: Readable.from([randomBytes(300_000)]), id: 'older' });
    const olderBytes = await fs.readFile(older.file);
    const { chunks } = randomChunks(2 * 1024 * 1024);
    const error = await rejection(writeBackup({ dir: mount, key, service: 'db', kind: 'postgres', source: Readable.from(chunks), id: 'newer' }));
    expect(error.kind).toBe('host');
    expect(error.message).toMatch(new RegExp(`^the disk of ${mount} is full: cannot write ${mount}/newer.backup`));
    expect(error.hint).toMatch(/free space on the host/);
    expect(await fs.readdir(mount)).toEqual(['older.backup']);
    expect((await fs.readFile(older.file)).equals(olderBytes)).toBe(true);

    // A restore that does not fit fails the same way, and leaves nothing.
    const big = await writeBackup({ dir, key, service: 'db', kind: 'postgres', source: Readable.from(chunks), id: 'big' });
    const restoreError = await rejection(decryptBackup(big.file, key, path.join(mount, 'restore.dump')));
    expect(restoreError.message).toMatch(/is full/);
    expect(await fs.readdir(mount)).toEqual(['older.backup']);
  });
});

describe('the backup key', () => {
  it('is stored wrapped with the host key, created once, the same for racing callers', async () => {
    const files = { file: path.join(dir, 'backup.key'), hostKeyFile: path.join(dir, 'secret.key') };
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateBackupKey(files)));
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(1);
    const k = keys[0]!;
    const text = await fs.readFile(files.file, 'utf8');
    expect(text.includes(k.toString('base64'))).toBe(false);
    expect(text.includes(k.toString('hex'))).toBe(false);
    expect(JSON.parse(text)).toMatchObject({ format: 'paas-secrets-v1' });
    expect((await fs.stat(files.file)).mode & 0o777).toBe(0o600);
    expect((await loadBackupKey(files))!.equals(k)).toBe(true);
    expect((await fs.readdir(dir)).sort()).toEqual(['backup.key', 'secret.key']);

    // Another host key does not unwrap it.
    await fs.rm(files.hostKeyFile);
    expect((await rejection(loadBackupKey(files))).message).toMatch(/cannot unwrap the backup key/);
  });

  it('exports to paasbk1- text and imports back; a changed or cut text is refused', () => {
    const k = generateBackupKey();
    const text = exportBackupKey(k);
    expect(text).toMatch(/^paasbk1-[A-Za-z0-9_-]{48}$/);
    expect(importBackupKey(`  ${text}\n`).equals(k)).toBe(true);
    const changed = text.slice(0, 20) + (text[20] === 'A' ? 'B' : 'A') + text.slice(21);
    expect(() => importBackupKey(changed)).toThrow(/does not match its checksum/);
    expect(() => importBackupKey(text.slice(0, -4))).toThrow(/expected 36/);
    expect(() => importBackupKey('paasbk2-abc')).toThrow(/starts with paasbk1-/);
    expect(() => importBackupKey('paasbk1-ab$c')).toThrow(/not base64url/);
  });

  it('an imported key is stored unless the host has another (then only with replace)', async () => {
    const files = { file: path.join(dir, 'backup.key'), hostKeyFile: path.join(dir, 'secret.key') };
    const imported = generateBackupKey();
    await storeBackupKey(imported, files);
    expect((await loadOrCreateBackupKey(files)).equals(imported)).toBe(true);
    const other = generateBackupKey();
    expect((await rejection(storeBackupKey(other, files))).message).toMatch(/already has another backup key/);
    await storeBackupKey(other, { ...files, replace: true });
    expect((await loadBackupKey(files))!.equals(other)).toBe(true);
  });

  it('a backup restores on a new host with the exported key', async () => {
    const written = await write(Buffer.from('the data'));
    const onNewHost = importBackupKey(exportBackupKey(key));
    const out = path.join(dir, 'out');
    await decryptBackup(written.file, onNewHost, out);
    expect(await fs.readFile(out, 'utf8')).toBe('the data');
  });
});
