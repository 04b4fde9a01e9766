import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import type { AppState } from '../release/types.js';
import { SECRET_KEY_FILE, loadKey, loadOrCreateKey, readVars, writeVars } from './secrets.js';
import { appDir } from './state.js';

/*
 * Where an app's config vars live on a host, all encrypted with the host's key (secrets.ts):
 *   apps/<app>/config.enc          the app's config vars now: what `paas config` shows and what
 *                                  the next deploy uses
 *   apps/<app>/config/v<N>.enc     the config of release N, as it ran: what a rollback to N restores
 * Snapshots are written before the release is switched to and pruned with the release's image
 * (the newest keep_releases releases keep theirs).
 */

export function configFile(app: string): string {
  return path.join(appDir(app), 'config.enc');
}

export function snapshotFile(app: string, version: number): string {
  return path.join(appDir(app), 'config', `v${version}.enc`);
}

const exists = (file: string) => fs.stat(file).then(() => true, () => false);

/** Reads an encrypted vars file; a missing file is no vars. Writes nothing (not even a key). */
async function readFile(file: string, app: string): Promise<Record<string, string>> {
  if (!(await exists(file))) return {};
  return readVars(file, await loadKey(SECRET_KEY_FILE), app);
}

export async function readAppConfig(app: string): Promise<Record<string, string>> {
  return readFile(configFile(app), app);
}

export async function writeAppConfig(app: string, vars: Record<string, string>): Promise<void> {
  await writeVars(configFile(app), vars, await loadOrCreateKey(SECRET_KEY_FILE), app);
}

export async function writeSnapshot(app: string, version: number, vars: Record<string, string>): Promise<void> {
  await fs.mkdir(path.dirname(snapshotFile(app, version)), { recursive: true, mode: 0o700 });
  await writeVars(snapshotFile(app, version), vars, await loadOrCreateKey(SECRET_KEY_FILE), app);
}

export async function removeSnapshot(app: string, version: number): Promise<void> {
  await fs.rm(snapshotFile(app, version), { force: true });
}

/**
 * The config a release ran with. A release recorded before config vars existed (no configVars)
 * had none; one whose snapshot was pruned cannot be restored.
 */
export async function readSnapshot(app: string, release: { version: number; configVars?: string[] }): Promise<Record<string, string>> {
  if (release.configVars === undefined) return {};
  const file = snapshotFile(app, release.version);
  if (!(await exists(file))) {
    throw new PaasError('usage', `the config vars of v${release.version} are no longer kept on this host`, {
      where: file,
      hint: 'only the newest releases keep their config (keep_releases in paas.yml); set the config vars and deploy instead',
    });
  }
  return readFile(file, app);
}

/** The config of release `version` when its snapshot is kept, else undefined. */
export async function readSnapshotIfKept(app: string, version: number): Promise<Record<string, string> | undefined> {
  const file = snapshotFile(app, version);
  return (await exists(file)) ? readFile(file, app) : undefined;
}

/** Versions whose snapshot goes: all but the newest `keep` releases. Pure. */
export function snapshotsToPrune(state: AppState, keep: number, present: number[]): number[] {
  const kept = new Set([...state.releases].sort((a, b) => b.version - a.version).slice(0, keep).map((r) => r.version));
  return present.filter((v) => !kept.has(v)).sort((a, b) => a - b);
}

export async function pruneSnapshots(state: AppState, keep: number): Promise<number[]> {
  const dir = path.join(appDir(state.app), 'config');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const present = names.flatMap((name) => /^v(\d+)\.enc$/.exec(name)?.[1] ?? []).map(Number);
  const prune = snapshotsToPrune(state, keep, present);
  await Promise.all(prune.map((v) => removeSnapshot(state.app, v)));
  return prune;
}
