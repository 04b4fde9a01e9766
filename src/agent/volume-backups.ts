/**
 * Backups of an app's volumes, the same way as services' (src/agent/backups.ts): a tar of the
 * volume from a throwaway container of the app's current image (read-only, no network), encrypted
 * into /var/lib/paas/backups/volumes/<app>/<name>/; a restore decrypts and verifies it whole, then
 * empties the volume, unpacks it, and restarts the app's processes (rolling, zero downtime).
 */
import { once } from 'node:events';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { decryptBackup, listBackups, readBackupInfo, writeBackup, type BackupInfo, type WrittenBackup } from '../backup/archive.js';
import { loadOrCreateBackupKey } from '../backup/keys.js';
import { PaasError } from '../errors.js';
import { volumeTarArgv, volumeUntarArgv } from '../release/docker.js';
import { checkVolumeName, dockerVolumeName, VOLUME_LABEL } from '../release/volumes.js';
import { volumesLabelled } from './engine.js';
import { start } from './exec.js';
import { restartProcesses } from './processes.js';
import type { Emit, RestartResult } from './protocol.js';
import { requireCurrentRelease } from './releases.js';
import { appDir, readState, ROOT } from './state.js';

const volumeBackupsDir = (app: string, name: string) => {
  appDir(app);
  const problem = checkVolumeName(name);
  if (problem) throw new PaasError('usage', problem);
  return path.join(ROOT, 'backups', 'volumes', app, name);
};

async function requireVolume(app: string, name: string): Promise<{ volume: string; image: string }> {
  const volume = dockerVolumeName(app, name);
  const found = await volumesLabelled([`${VOLUME_LABEL.app}=${app}`, `${VOLUME_LABEL.volume}=${name}`]);
  if (found.length === 0) throw new PaasError('usage', `${app} has no volume ${name} on this host`, { hint: 'see `paas volumes`' });
  const release = requireCurrentRelease(await readState(app));
  return { volume, image: release.image };
}

function collectStderr(child: ReturnType<typeof start>): () => string {
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => { if (text.length < 16_384) text += chunk.toString('utf8'); });
  return () => text.trim();
}

/** volumes:backup: a tar of the volume, encrypted; older backups untouched whatever happens. */
export async function backupVolume(app: string, name: string, emit: Emit): Promise<WrittenBackup> {
  const dir = volumeBackupsDir(app, name);
  const { volume, image } = await requireVolume(app, name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const child = start('docker', volumeTarArgv(volume, image), ['ignore', 'pipe', 'pipe']);
  const stderr = collectStderr(child);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new PaasError('host', `tar of ${volume} exited ${code}`, {
      details: stderr().split('\n').slice(-5), hint: 'the app\'s image needs tar (a distroless image has none)',
    }))));
  });
  const written = await writeBackup({ dir, key: await loadOrCreateBackupKey(), service: `${app}.${name}`, kind: 'volume', source: child.stdout!, producerDone: done });
  emit(`backup ${written.id} of ${volume}: ${written.plainSize} bytes, ${written.size} stored encrypted`, 'backup');
  return written;
}

export async function listVolumeBackups(app: string, name: string): Promise<{ app: string; volume: string; backups: BackupInfo[] }> {
  const dir = volumeBackupsDir(app, name);
  const { backups } = await listBackups(dir);
  return { app, volume: name, backups };
}

/** volumes:restore (under the app's lock): verified in full first, then the volume is replaced and the processes restart. */
export async function restoreVolume(app: string, name: string, id: string | undefined, by: string, emit: Emit): Promise<{ app: string; volume: string; backup: string; restart?: RestartResult }> {
  const dir = volumeBackupsDir(app, name);
  const { volume, image } = await requireVolume(app, name);
  const { backups } = await listVolumeBackups(app, name);
  const chosen = id ? backups.find((b) => b.id === id) : backups[0];
  if (!chosen) throw new PaasError('usage', id ? `the volume ${name} of ${app} has no backup ${id}` : `the volume ${name} of ${app} has no backups`, { hint: `paas volumes:backup ${name} makes one` });
  const info = await readBackupInfo(chosen.file);
  if (info.kind !== 'volume') throw new PaasError('usage', `${info.id} is not a volume backup`);
  const plain = path.join(dir, `.restore-${process.pid}-${Date.now()}.tar`);
  try {
    const verified = await decryptBackup(chosen.file, await loadOrCreateBackupKey(), plain, { kind: 'volume' });
    emit(`backup ${verified.id} decrypted and verified (${verified.plainSize} bytes)`, 'restore');
    const child = start('docker', volumeUntarArgv(volume, image), ['pipe', 'ignore', 'pipe']);
    const stderr = collectStderr(child);
    createReadStream(plain).pipe(child.stdin!);
    const [code] = await once(child, 'close') as [number | null];
    if (code !== 0) throw new PaasError('host', `unpacking into ${volume} failed (exit ${code})`, { details: stderr().split('\n').slice(-5) });
    emit(`${volume} now holds backup ${verified.id}`, 'restore');
  } finally {
    await fs.rm(plain, { force: true });
  }
  const restart = await restartProcesses(app, undefined, by, emit);
  return { app, volume: name, backup: chosen.id, restart };
}
