/**
 * Throughput of encrypted backup files: writeBackup (sha256 + AES-256-GCM + fsync) and
 * decryptBackup (GCM verify + sha256 + fsync) of BENCH_BACKUP_MB (default 200) MB of random
 * data, streamed in 64 KiB chunks, against a baseline plain copy of the same stream to a file.
 *   node --import tsx bench/backup.ts
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptBackup, writeBackup } from '../src/backup/archive.js';
import { generateBackupKey } from '../src/backup/keys.js';

const mb = Number(process.env.BENCH_BACKUP_MB ?? 200);
const chunk = randomBytes(64 * 1024);
const source = () => Readable.from((function* () {
  for (let i = 0; i < (mb * 1024 * 1024) / chunk.length; i++) yield chunk;
})());

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-bench-backup-'));
const time = async (label: string, run: () => Promise<unknown>) => {
  const started = process.hrtime.bigint();
  await run();
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label.padEnd(34)} ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(0).padStart(5)} MB/s`);
};
try {
  const key = generateBackupKey();
  console.log(`${mb} MB, ${os.cpus()[0]?.model ?? ''}, node ${process.version}, ${dir}`);
  await time('plain copy to a file (baseline)', () => pipeline(source(), createWriteStream(path.join(dir, 'plain'))));
  let file = '';
  await time('writeBackup (encrypt)', async () => {
    file = (await writeBackup({ dir, key, service: 'bench', kind: 'postgres', source: source() })).file;
  });
  await time('decryptBackup (verify + decrypt)', () => decryptBackup(file, key, path.join(dir, 'restored')));
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
