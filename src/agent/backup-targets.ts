/**
 * Off-host copies of a service's backups: another host over SFTP (this host logs in with a key
 * pair of its own, the target's host key pinned) and S3-compatible object storage (credentials
 * kept encrypted like config vars). Files travel encrypted as they are; a copy that fails is a
 * warning, never a failed backup.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { S3Target } from '../backup/targets/s3.js';
import { generateSshKeyPair, parseHostKeyPin, parseSshTargetUrl, SshTarget } from '../backup/targets/ssh.js';
import type { BackupTarget } from '../backup/targets/target.js';
import type { BackupTargets, TargetKind } from '../release/services.js';
import type { Emit } from './protocol.js';
import { loadOrCreateKey, readVars, SECRET_KEY_FILE, writeVars } from './secrets.js';
import { requireService, serviceBackupsDir, withServicesLock } from './services.js';
import { readJson, ROOT, writeAtomic } from './state.js';

const HOST_SSH_KEY_FILE = path.join(ROOT, 'backup-ssh-key.enc');
const HOST_SSH_SCOPE = 'paas-backup-ssh-key';
/** Beside the backups, which outlive the service: a service created again finds its targets. */
const targetsDir = serviceBackupsDir;
const targetsFile = (name: string) => path.join(targetsDir(name), '.targets.json');
const targetSecrets = (name: string) => path.join(targetsDir(name), '.targets.enc');
const targetScope = (name: string) => `service-targets:${name}`;

export async function readTargets(name: string): Promise<BackupTargets> {
  return (await readJson<BackupTargets>(targetsFile(name))) ?? {};
}

async function updateTargets(name: string, change: (targets: BackupTargets) => BackupTargets): Promise<BackupTargets> {
  return withServicesLock(async () => {
    const updated = change(await readTargets(name));
    await fs.mkdir(targetsDir(name), { recursive: true, mode: 0o700 });
    await writeAtomic(targetsFile(name), `${JSON.stringify(updated, null, 2)}\n`);
    return updated;
  });
}

/** This host's key pair for SSH targets, created on first use, kept encrypted. */
export async function hostSshKey(): Promise<{ privateKey: string; publicKey: string }> {
  const key = await loadOrCreateKey(SECRET_KEY_FILE);
  const stored = await readVars(HOST_SSH_KEY_FILE, key, HOST_SSH_SCOPE);
  if (stored.PRIVATE_KEY && stored.PUBLIC_KEY) return { privateKey: stored.PRIVATE_KEY, publicKey: stored.PUBLIC_KEY };
  const pair = generateSshKeyPair(`paas-backup@${(await fs.readFile('/etc/hostname', 'utf8').catch(() => 'host')).trim()}`);
  await writeVars(HOST_SSH_KEY_FILE, { PRIVATE_KEY: pair.privateKey, PUBLIC_KEY: pair.publicKey }, key, HOST_SSH_SCOPE);
  return pair;
}

/** The target of a kind a service's backups have, connected with its secrets. */
async function openTarget(name: string, kind: TargetKind): Promise<BackupTarget> {
  const targets = await readTargets(name);
  if (kind === 'ssh' && targets.ssh) return new SshTarget({ url: targets.ssh.url, hostKey: targets.ssh.hostKey, privateKey: (await hostSshKey()).privateKey });
  if (kind === 's3' && targets.s3) {
    const secrets = await readVars(targetSecrets(name), await loadOrCreateKey(SECRET_KEY_FILE), targetScope(name));
    if (!secrets.S3_ACCESS_KEY_ID || !secrets.S3_SECRET_ACCESS_KEY) throw new PaasError('host', `the S3 credentials of ${name} are missing`, { where: targetSecrets(name) });
    return new S3Target({ ...targets.s3, accessKeyId: secrets.S3_ACCESS_KEY_ID, secretAccessKey: secrets.S3_SECRET_ACCESS_KEY });
  }
  throw new PaasError('usage', `the backups of ${name} have no ${kind} target`, { hint: `add one with paas services:backups:target ${name} ...` });
}

export interface TargetRequest {
  kind: TargetKind;
  remove: boolean;
  url?: string;
  hostKey?: string;
  endpoint?: string;
  region?: string;
  bucket?: string;
  prefix?: string;
  pathStyle?: boolean;
  /** S3 credentials, from stdin (never argv). */
  credentials?: { accessKeyId?: unknown; secretAccessKey?: unknown };
}

/** services:backups:target: sets (or removes) a target, then checks it can list; the host's public key for an SSH target. */
export async function setTarget(name: string, request: TargetRequest, emit: Emit): Promise<{ service: string; targets: string[]; publicKey?: string; check: string }> {
  await requireService(name);
  if (request.remove) {
    const targets = await updateTargets(name, (t) => {
      const { [request.kind]: _gone, ...rest } = t;
      return rest;
    });
    return { service: name, targets: Object.keys(targets), check: 'removed' };
  }
  let publicKey: string | undefined;
  if (request.kind === 'ssh') {
    if (!request.url || !request.hostKey) throw new PaasError('usage', 'an SSH target needs its URL and the target\'s host key (--host-key, a known_hosts line or SHA256:...)');
    parseSshTargetUrl(request.url);
    parseHostKeyPin(request.hostKey);
    publicKey = (await hostSshKey()).publicKey;
    await updateTargets(name, (t) => ({ ...t, ssh: { url: request.url!, hostKey: request.hostKey! } }));
  } else {
    const { accessKeyId, secretAccessKey } = request.credentials ?? {};
    if (!request.bucket || !request.region) throw new PaasError('usage', 'an S3 target needs its bucket and region');
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string' || !accessKeyId || !secretAccessKey) {
      throw new PaasError('usage', 'an S3 target needs its access key id and secret (PAAS_S3_ACCESS_KEY_ID, PAAS_S3_SECRET_ACCESS_KEY)');
    }
    // Constructed once here to check the settings before anything is stored.
    new S3Target({ ...(request.endpoint ? { endpoint: request.endpoint } : {}), region: request.region, bucket: request.bucket, ...(request.prefix ? { prefix: request.prefix } : {}), forcePathStyle: request.pathStyle ?? false, accessKeyId, secretAccessKey });
    await fs.mkdir(targetsDir(name), { recursive: true, mode: 0o700 });
    await writeVars(targetSecrets(name), { S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey }, await loadOrCreateKey(SECRET_KEY_FILE), targetScope(name));
    await updateTargets(name, (t) => ({
      ...t, s3: { ...(request.endpoint ? { endpoint: request.endpoint } : {}), region: request.region!, bucket: request.bucket!, ...(request.prefix ? { prefix: request.prefix } : {}), forcePathStyle: request.pathStyle ?? false },
    }));
  }
  const targets = await readTargets(name);
  const check = await openTarget(name, request.kind).then((target) => target.list()).then(
    (found) => `ok: ${found.length} backup(s) there`,
    (error: Error) => `not reachable yet: ${error.message}`,
  );
  emit(`${request.kind} target of ${name}: ${check}`, 'target');
  return { service: name, targets: Object.keys(targets), ...(publicKey ? { publicKey } : {}), check };
}

/** After a backup: a copy to each target; each failure is reported, the backup stays. */
export async function copyToTargets(name: string, id: string, file: string, emit: Emit): Promise<{ target: string; ok: boolean; error?: string }[]> {
  const copies: { target: string; ok: boolean; error?: string }[] = [];
  for (const kind of Object.keys(await readTargets(name)) as TargetKind[]) {
    try {
      const target = await openTarget(name, kind);
      await target.put(id, file);
      copies.push({ target: target.label, ok: true });
      emit(`copied ${id} to ${target.label}`, 'target');
    } catch (error) {
      copies.push({ target: kind, ok: false, error: (error as Error).message });
      emit(`warning: the copy of ${id} to the ${kind} target failed: ${(error as Error).message}; the backup is kept on this host`, 'target');
    }
  }
  return copies;
}

/** Downloads a backup (`id`, else the newest) from a target into `file`; its id. */
export async function fetchFromTarget(name: string, kind: TargetKind, id: string | undefined, file: string): Promise<string> {
  const target = await openTarget(name, kind);
  const chosen = id ?? (await target.list()).map((b) => b.id).sort().pop();
  if (!chosen) throw new PaasError('usage', `the ${kind} target of ${name} has no backups`);
  await target.get(chosen, file);
  return chosen;
}
