/**
 * Backups of services on this host: a consistent dump (pg_dump's custom format; Redis's RDB after
 * BGSAVE) streamed through the encrypted backup format (src/backup/archive.ts) into
 * /var/lib/paas/backups/<service>/, which outlives the service; restores that decrypt and verify
 * the whole backup before they touch any data; a schedule with retention, run by the host service.
 */
import { once } from 'node:events';
import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { backupFile, decryptBackup, listBackups, readBackupInfo, writeBackup, type WrittenBackup } from '../backup/archive.js';
import { exportBackupKey, importBackupKey, loadOrCreateBackupKey } from '../backup/keys.js';
import { applyRetention, formatRetention, parseRetention, type RetentionPolicy } from '../backup/retention.js';
import { PaasError } from '../errors.js';
import { execArgv, restoreRedisSnapshotArgv, startArgv, stopArgv } from '../release/docker.js';
import { dueRuns, parseSchedule } from '../release/cron.js';
import { checkedServiceName as checkServiceNameOrThrow, serviceContainer, serviceDatabase, serviceVolume, type ServiceRecord, type TargetKind } from '../release/services.js';
import { docker, sleep, start } from './exec.js';
/** Off-host targets bring the S3 and SFTP clients: loaded only by the verbs that use them, not at every agent start. */
const targetsModule = () => import('./backup-targets.js');
import { MessageReader } from './messages.js';
import type { BackupList, Emit } from './protocol.js';
import { readService, requireService, serviceBackupsDir, updateService, withServicesLock } from './services.js';
import { readJson, writeAtomic } from './state.js';

/** An upload (`services:restore --from`) larger than this is refused. */
const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
const BGSAVE_TIMEOUT_MS = 10 * 60_000;


/** A program in the service's container whose stdout is the dump; `done` rejects with its stderr when it fails. */
function dumpFrom(container: string, argv: string[]): { stdout: Readable; done: Promise<void> } {
  const child = start('docker', execArgv(container, argv), ['ignore', 'pipe', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { if (stderr.length < 16_384) stderr += chunk.toString('utf8'); });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new PaasError('host', `${argv[0]} in ${container} exited ${code}`, { details: stderr.trim().split('\n').slice(-10) }))));
  });
  return { stdout: child.stdout!, done };
}

/** Redis: BGSAVE, then wait until LASTSAVE moves (the RDB on the volume is then whole). */
async function redisSnapshot(container: string): Promise<void> {
  const cli = (command: string) => docker(execArgv(container, ['sh', '-c', `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ${command}`]), { timeoutMs: 30_000 });
  const before = (await cli('LASTSAVE')).stdout.trim();
  const started = await cli('BGSAVE');
  if (!/Background saving started|already in progress/i.test(started.stdout)) throw new PaasError('host', `redis refused BGSAVE: ${started.stdout.trim()}`);
  const deadline = Date.now() + BGSAVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await sleep(200);
    const info = (await cli('INFO persistence')).stdout;
    if ((await cli('LASTSAVE')).stdout.trim() !== before && /rdb_bgsave_in_progress:0/.test(info)) {
      if (!/rdb_last_bgsave_status:ok/.test(info)) throw new PaasError('host', 'redis could not write its snapshot (rdb_last_bgsave_status is not ok)', { hint: 'see the service\'s log; a full disk is the usual cause' });
      return;
    }
  }
  throw new PaasError('host', `redis did not finish BGSAVE within ${BGSAVE_TIMEOUT_MS / 60_000} min`);
}

/** services:backup: a consistent dump, encrypted; older backups are untouched whatever happens. */
export async function backupService(name: string, emit: Emit): Promise<WrittenBackup & { copies: { target: string; ok: boolean; error?: string }[] }> {
  const record = await requireService(name);
  if (record.status !== 'created') throw new PaasError('usage', `the service ${name} is not created yet`);
  const container = serviceContainer(name);
  const dir = serviceBackupsDir(name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const key = await loadOrCreateBackupKey();
  const started = Date.now();
  let dump: { stdout: Readable; done: Promise<void> };
  if (record.kind === 'postgres') {
    // One transaction's snapshot: consistent while the app writes.
    dump = dumpFrom(container, ['pg_dump', '--format', 'custom', '--username', 'postgres', '--dbname', serviceDatabase(name)]);
  } else {
    await redisSnapshot(container);
    dump = dumpFrom(container, ['cat', '/data/dump.rdb']);
  }
  const written = await writeBackup({ dir, key, service: name, kind: record.kind, sourceVersion: record.version, source: dump.stdout, producerDone: dump.done });
  emit(`backup ${written.id}: ${written.plainSize} bytes dumped, ${written.size} stored encrypted, in ${Date.now() - started} ms`, 'backup');
  const copies = await (await targetsModule()).copyToTargets(name, written.id, written.file, emit);
  return { ...written, copies };
}

export async function listServiceBackups(name: string): Promise<BackupList> {
  const { backups, unreadable } = await listBackups(serviceBackupsDir(name));
  const record = await readService(name);
  const targets = await (await targetsModule()).readTargets(name);
  return {
    service: name, exists: record !== undefined, backups, unreadable: unreadable.map((u) => `${u.file}: ${u.problem}`),
    ...(record?.backup ? { schedule: record.backup } : {}),
    targets: [...(targets.ssh ? [`ssh ${targets.ssh.url}`] : []), ...(targets.s3 ? [`s3 s3://${targets.s3.bucket}/${targets.s3.prefix ?? ''}${targets.s3.endpoint ? ` at ${targets.s3.endpoint}` : ''}`] : [])],
  };
}

/** Restores a verified plaintext dump into the service `target` (same kind). */
async function restorePlain(target: ServiceRecord, plain: string, emit: Emit): Promise<void> {
  const container = serviceContainer(target.name);
  if (target.kind === 'postgres') {
    const child = start('docker', execArgv(container, ['pg_restore', '--clean', '--if-exists', '--no-owner', '--single-transaction', '--username', 'postgres', '--dbname', serviceDatabase(target.name)], { interactive: true }), ['pipe', 'ignore', 'pipe']);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { if (stderr.length < 16_384) stderr += chunk.toString('utf8'); });
    createReadStream(plain).pipe(child.stdin!);
    const [code] = await once(child, 'close') as [number | null];
    if (code !== 0) throw new PaasError('host', `pg_restore into ${target.name} failed (exit ${code}); it ran in one transaction, so the data is as it was`, { details: stderr.trim().split('\n').slice(-10) });
    emit(`restored into ${target.name} with pg_restore (one transaction)`, 'restore');
    return;
  }
  // Redis reads its data at start: stop it, put the RDB in its volume (the append-only files go,
  // or they would win over it), start it again.
  await docker(stopArgv(30, container), { timeoutMs: 60_000 });
  try {
    const load = start('docker', restoreRedisSnapshotArgv(serviceVolume(target.name), target.image), ['pipe', 'ignore', 'pipe']);
    let stderr = '';
    load.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    createReadStream(plain).pipe(load.stdin!);
    const [code] = await once(load, 'close') as [number | null];
    if (code !== 0) throw new PaasError('host', `could not write the snapshot into ${serviceVolume(target.name)} (exit ${code})`, { details: stderr.trim().split('\n').slice(-5) });
  } finally {
    await docker(startArgv(container), { timeoutMs: 60_000 });
  }
  emit(`restored into ${target.name}: redis started again from the snapshot`, 'restore');
}

/**
 * services:restore: the backup (`id`, else the newest) of `name` into `to` (default `name`),
 * decrypted and verified in full into a temp file first: one that does not decrypt or verify is
 * refused before any data changes.
 */
export async function restoreService(name: string, id: string | undefined, to: string | undefined, emit: Emit, file?: string, key?: Buffer): Promise<{ service: string; backup: string; into: string }> {
  const target = await requireService(to ?? name);
  if (target.status !== 'created') throw new PaasError('usage', `the service ${target.name} is not created yet`);
  let source = file;
  if (!source) {
    const { backups } = await listServiceBackups(name);
    const chosen = id ? backups.find((b) => b.id === id) : backups[0];
    if (!chosen) throw new PaasError('usage', id ? `${name} has no backup ${id}` : `${name} has no backups`, { hint: `see \`paas services:backups ${name}\`` });
    source = chosen.file;
  }
  const info = await readBackupInfo(source);
  if (info.kind !== target.kind) throw new PaasError('usage', `${info.id} is a ${info.kind} backup; ${target.name} is a ${target.kind} service`);
  const plain = path.join(serviceBackupsDir(target.name), `.restore-${process.pid}-${Date.now()}.plain`);
  await fs.mkdir(path.dirname(plain), { recursive: true, mode: 0o700 });
  try {
    const verified = await decryptBackup(source, key ?? await loadOrCreateBackupKey(), plain, { kind: target.kind });
    emit(`backup ${verified.id} of ${verified.service} decrypted and verified (${verified.plainSize} bytes, sha256 ${verified.sha256.slice(0, 12)})`, 'restore');
    await withServicesLock(() => restorePlain(target, plain, emit));
    return { service: info.service, backup: info.id, into: target.name };
  } finally {
    await fs.rm(plain, { force: true });
  }
}

/** services:restore --from-target KIND: the backup (`id`, else the newest there) fetched into a temp file, then restored as above. */
export async function restoreFromTarget(name: string, kind: TargetKind, id: string | undefined, to: string | undefined, emit: Emit): Promise<{ service: string; backup: string; into: string }> {
  const dir = serviceBackupsDir(to ?? name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const fetched = path.join(dir, `.fetch-${process.pid}-${Date.now()}.partial`);
  try {
    const chosen = await (await targetsModule()).fetchFromTarget(name, kind, id, fetched);
    emit(`fetched ${chosen} from the ${kind} target`, 'restore');
    return await restoreService(name, undefined, to, emit, fetched);
  } finally {
    await fs.rm(fetched, { force: true });
  }
}

/** services:restore --from FILE: stdin is a JSON line ({key?}) then the backup file in frames; stored aside, then restored as above. */
export async function restoreUpload(name: string, to: string | undefined, stdin: Readable, emit: Emit): Promise<{ service: string; backup: string; into: string }> {
  const target = await requireService(to ?? name);
  const reader = new MessageReader(stdin);
  const head = await reader.line();
  let key: Buffer | undefined;
  try {
    const request = JSON.parse(head ?? '') as { key?: unknown };
    if (request.key !== undefined) key = importBackupKey(String(request.key));
  } catch (error) {
    if (error instanceof PaasError) throw error;
    throw new PaasError('usage', 'the restore request on stdin is not {"key"?: "paasbk1-..."} followed by the backup');
  }
  const dir = serviceBackupsDir(target.name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const upload = path.join(dir, `.upload-${process.pid}-${Date.now()}.partial`);
  try {
    // A new file of its own (never one that is there, never through a link).
    const sink = (await fs.open(upload, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)).createWriteStream();
    let size = 0;
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(size > MAX_UPLOAD_BYTES ? new PaasError('usage', `the upload is larger than ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB`) : null, chunk);
      },
    });
    counting.pipe(sink);
    await reader.frames(counting);
    counting.end();
    await once(sink, 'close');
    emit(`received the backup (${size} bytes)`, 'restore');
    return await restoreService(name, undefined, to, emit, upload, key);
  } finally {
    await fs.rm(upload, { force: true });
  }
}

/** The host's backup key as text, to keep off the host (a new host restores with it). */
export async function backupKeyText(): Promise<{ key: string }> {
  return { key: exportBackupKey(await loadOrCreateBackupKey()) };
}

/** services:backups:schedule: a five-field schedule (UTC) and a retention policy, kept in the service's record. */
export async function scheduleBackups(name: string, schedule: string | undefined, keep: string | undefined, off: boolean): Promise<BackupList> {
  const policy: RetentionPolicy | undefined = keep ? parseRetention(keep) : undefined;
  if (!off && !schedule) throw new PaasError('usage', 'give a schedule, such as "0 3 * * *", or --off');
  if (schedule) parseSchedule(schedule, 'the schedule');
  await updateService(name, (record) => {
    const { backup: _old, ...rest } = record;
    return off ? rest : { ...rest, backup: { schedule: schedule!, ...(policy ? { keep: policy, keepText: formatRetention(policy) } : {}) } };
  });
  return listServiceBackups(name);
}

const lastRunFile = (name: string) => path.join(serviceBackupsDir(name), '.last-scheduled.json');

/** Removes the backups the policy does not keep (never the newest); the names removed. */
export async function pruneBackups(name: string, policy: RetentionPolicy, now: Date): Promise<string[]> {
  const { backups } = await listServiceBackups(name);
  const decision = applyRetention(backups.map((b) => ({ id: b.id, createdAt: b.createdAt })), policy, now);
  for (const gone of decision.remove) await fs.rm(backupFile(serviceBackupsDir(name), gone.id), { force: true });
  return decision.remove.map((b) => b.id);
}

/**
 * The host service's tick: each service whose schedule has a run due since the last one gets one
 * backup (however many runs were missed), then its retention. A failure is logged and the next
 * run tries again; older backups stay.
 */
export async function runScheduledBackups(records: readonly ServiceRecord[], now: Date, log: (line: string) => void): Promise<void> {
  for (const record of records) {
    const { name } = record;
    if (!record.backup || record.status !== 'created') continue;
    const last = await readJson<{ at: string }>(lastRunFile(name)).catch(() => undefined);
    const lastAt = last ? new Date(last.at) : new Date(record.createdAt);
    const due = dueRuns([{ id: 'backup', schedule: record.backup.schedule, command: 'backup', concurrencyPolicy: 'forbid', maintenance: false, source: `the backup schedule of ${name}` }], lastAt, now);
    if (due.length === 0) continue;
    await fs.mkdir(serviceBackupsDir(name), { recursive: true, mode: 0o700 });
    // At most once per due time: recorded before it starts.
    await writeAtomic(lastRunFile(name), `${JSON.stringify({ at: due[due.length - 1]!.at.toISOString() })}\n`);
    // In a process of its own: a long dump must not hold up the host service's tick.
    const child = start(process.execPath, [process.argv[1]!, 'services-backup', '--name', name, '--scheduled'], 'ignore', undefined, true);
    child.unref();
    log(`scheduled backup of ${name} started (pid ${child.pid})`);
  }
}

/** A scheduled run (services-backup --scheduled): the backup, then the schedule's retention. */
export async function scheduledBackup(name: string, emit: Emit): Promise<Awaited<ReturnType<typeof backupService>> & { removed: string[] }> {
  const written = await backupService(name, emit);
  const keep = (await readService(name))?.backup?.keep;
  const removed = keep ? await pruneBackups(name, keep, new Date()) : [];
  if (removed.length) emit(`removed ${removed.join(', ')} (retention ${formatRetention(keep!)})`, 'backup');
  return { ...written, removed };
}

/** The raw verb `backup-read NAME ID`: the encrypted backup file on stdout, as it is (a download). */
export async function writeBackupTo(name: string, id: string, out: NodeJS.WritableStream): Promise<void> {
  const file = backupFile(serviceBackupsDir(checkServiceNameOrThrow(name)), id);
  await readBackupInfo(file);
  const stream = createReadStream(file);
  stream.pipe(out);
  await once(stream, 'end');
}

