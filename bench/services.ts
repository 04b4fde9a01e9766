/**
 * Backup and restore of a Postgres database of BENCH_PG_MB (default 1024) MB, paas's way beside
 * the plain tools run by hand, in the same run on the local Docker Engine:
 *   - backup: pg_dump --format custom through paas's encrypted backup file (the code the host
 *     runs, src/backup/archive.ts) vs `pg_dump | gzip` (plain SQL) vs `pg_dump --format custom`
 *   - restore: decrypt + verify, then pg_restore (paas) vs pg_restore of the plain custom dump
 * Time and size of each. Never fails on time.
 *   node --import tsx bench/services.ts
 */
import { execa } from 'execa';
import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { decryptBackup, writeBackup } from '../src/backup/archive.js';
import { generateBackupKey } from '../src/backup/keys.js';

const mb = Number(process.env.BENCH_PG_MB ?? 1024);
const name = `paas-bench-pg-${process.pid}`;
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-bench-services-'));
const psql = (sql: string, db = 'bench') => execa('docker', ['exec', name, 'psql', '-v', 'ON_ERROR_STOP=1', '-q', '-t', '-A', '-U', 'postgres', '-d', db, '-c', sql]);
const rows: string[][] = [];
const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;
const size = async (file: string) => (await fs.stat(file)).size / 1024 ** 2;

async function measure(label: string, run: () => Promise<string | undefined>): Promise<void> {
  const started = process.hrtime.bigint();
  const file = await run();
  const s = seconds(started);
  rows.push([label, `${s.toFixed(1)} s`, file ? `${(await size(file)).toFixed(0)} MB` : '-']);
  console.log(`  ${label}: ${s.toFixed(1)} s`);
}

/** A program in the container whose stdout goes to `file` (through `through`, e.g. gzip, when given). */
async function dumpTo(argv: string[], file: string, through?: string[]): Promise<void> {
  const dump = execa('docker', ['exec', name, ...argv], { stdout: 'pipe', buffer: false });
  if (!through) {
    await Promise.all([pipeline(dump.stdout!, createWriteStream(file)), dump]);
    return;
  }
  const filter = execa(through[0]!, through.slice(1), { stdin: 'pipe', stdout: 'pipe', buffer: false });
  await Promise.all([pipeline(dump.stdout!, filter.stdin!), pipeline(filter.stdout!, createWriteStream(file)), dump, filter]);
}

async function restoreFrom(file: string, db: string): Promise<void> {
  await psql(`CREATE DATABASE ${db}`, 'postgres');
  const restore = execa('docker', ['exec', '-i', name, 'pg_restore', '--no-owner', '-U', 'postgres', '-d', db], { stdin: 'pipe' });
  await Promise.all([pipeline(createReadStream(file), restore.stdin!), restore]);
}

try {
  await execa('docker', ['run', '-d', '--name', name, '-e', 'POSTGRES_PASSWORD=bench', '-e', 'POSTGRES_DB=bench', '--shm-size', '256m', 'postgres:15-bookworm']);
  for (let i = 0; ; i++) {
    if ((await execa('docker', ['exec', name, 'pg_isready', '-q', '-h', '127.0.0.1'], { reject: false })).exitCode === 0) break;
    if (i > 600) throw new Error('postgres did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  // About 217 bytes a row on disk (measured), most of it hex.
  const rowsWanted = Math.round((mb * 1024 ** 2) / 217);
  const filled = process.hrtime.bigint();
  await psql(`CREATE TABLE big AS SELECT g AS id, now() - g * interval '1 second' AS at, md5(g::text) || md5((g * 7)::text) AS a, md5((g * 13)::text) || md5((g * 17)::text) || md5((g * 19)::text) AS b FROM generate_series(1, ${rowsWanted}) g`);
  const dbSize = Number((await psql("SELECT pg_database_size('bench')")).stdout.trim()) / 1024 ** 2;
  console.log(`database: ${dbSize.toFixed(0)} MB (${rowsWanted} rows), filled in ${seconds(filled).toFixed(0)} s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? ''}`);
  const checksum = async (db: string) => (await psql('SELECT count(*) || md5(sum(hashtext(a || b))::text) FROM big', db)).stdout.trim();
  const expected = await checksum('bench');

  const key = generateBackupKey();
  let backupFile = '';
  await measure('paas backup (pg_dump -Fc, encrypted)', async () => {
    const dump = execa('docker', ['exec', name, 'pg_dump', '--format', 'custom', '-U', 'postgres', '-d', 'bench'], { stdout: 'pipe', buffer: false });
    backupFile = (await writeBackup({ dir, key, service: 'bench', kind: 'postgres', source: dump.stdout!, producerDone: dump })).file;
    return backupFile;
  });
  await measure('by hand: pg_dump | gzip (plain SQL)', async () => {
    const file = path.join(dir, 'plain.sql.gz');
    await dumpTo(['pg_dump', '-U', 'postgres', '-d', 'bench'], file, ['gzip', '-6']);
    return file;
  });
  const customFile = path.join(dir, 'plain.dump');
  await measure('by hand: pg_dump -Fc', async () => {
    await dumpTo(['pg_dump', '--format', 'custom', '-U', 'postgres', '-d', 'bench'], customFile);
    return customFile;
  });
  await measure('paas restore (decrypt + verify, pg_restore)', async () => {
    const plain = path.join(dir, 'restored.dump');
    await decryptBackup(backupFile, key, plain);
    await restoreFrom(plain, 'r_paas');
    return undefined;
  });
  await measure('by hand: pg_restore of the -Fc dump', async () => {
    await restoreFrom(customFile, 'r_hand');
    return undefined;
  });
  const same = (await checksum('r_paas')) === expected && (await checksum('r_hand')) === expected;
  console.log(`\nPostgres ${dbSize.toFixed(0)} MB: backup and restore (same run, local engine; restored tables ${same ? 'match' : 'DIFFER'})`);
  console.log(`| ${'step'.padEnd(44)} | ${'time'.padStart(8)} | ${'size'.padStart(8)} |`);
  console.log(`|${'-'.repeat(46)}|${'-'.repeat(10)}|${'-'.repeat(10)}|`);
  for (const [label, time, bytes] of rows) console.log(`| ${label!.padEnd(44)} | ${time!.padStart(8)} | ${bytes!.padStart(8)} |`);
} finally {
  await execa('docker', ['rm', '-f', '-v', name], { reject: false });
  await fs.rm(dir, { recursive: true, force: true });
}
