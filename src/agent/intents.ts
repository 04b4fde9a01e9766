import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkAppName } from '../config/validators.js';
import type { Release } from '../release/types.js';
import { ROOT, readJson, syncDir, writeAtomic } from './state.js';

/*
 * The host's journal of changes in progress: before a change that touches containers or routes,
 * the agent writes what it is about to do here (intents/<app>.json, or one file per background
 * drain); when the change is recorded, the intent goes. An agent killed anywhere in between
 * leaves its intent, and the next agent that starts finishes or undoes it (reconcile.ts),
 * deciding from what the host really shows: which release nginx's route file points at, which
 * containers run.
 */

export const INTENTS_DIR = path.join(ROOT, 'intents');

/** A release being rolled out (deploy, rollback, config change, scale): containers of `version` may exist. */
export interface RolloutIntent {
  kind: 'rollout';
  app: string;
  version: number;
  /** The release that served before (state.current then). */
  previous?: number;
  /** ps:scale: the formation to store once the release is live. */
  formation?: Record<string, number>;
  pid: number;
  since: string;
}

/** A rolling restart of the current release: web containers of `generation` may exist. */
export interface RestartIntent {
  kind: 'restart';
  app: string;
  version: number;
  generation: number;
  pid: number;
  since: string;
}

/** Old containers stopping in the background after a switch (the drain verb). */
export interface DrainIntent {
  kind: 'drain';
  id: string;
  app: string;
  containers: string[];
  images: string[];
  drainMs: number;
  stopTimeoutSeconds: number;
  pid: number;
  /** The drain process's start time (lock.ts startTimeOf): its pid alone may name another process after a host restart. */
  pidStart?: string;
  since: string;
}

/**
 * A release on the cluster (swarm engine) under way on a manager: its services may be updating.
 * Swarm carries an update on by itself, so the next agent finishes it (records `record`) when
 * Swarm completed it, and undoes it otherwise. `pid` 0: no agent works on it any more.
 */
export interface SwarmIntent {
  kind: 'swarm';
  app: string;
  version: number;
  previous?: number;
  record: Release;
  keepReleases: number;
  pid: number;
  since: string;
}

export type Intent = RolloutIntent | RestartIntent | SwarmIntent | DrainIntent;

const DRAIN_FILE = /^drain-([a-z][a-z0-9-]*)-([0-9a-f]{8})\.json$/;
const APP_FILE = /^([a-z][a-z0-9-]*)\.json$/;

function fileOf(intent: Pick<Intent, 'kind' | 'app'> & { id?: string }): string {
  if (checkAppName(intent.app)) throw new Error(`invalid app name ${JSON.stringify(intent.app)}`);
  return path.join(INTENTS_DIR, intent.kind === 'drain' ? `drain-${intent.app}-${intent.id}.json` : `${intent.app}.json`);
}

export function newDrainId(): string {
  return randomBytes(4).toString('hex');
}

export async function writeIntent(intent: Intent): Promise<void> {
  await writeAtomic(fileOf(intent), `${JSON.stringify(intent)}\n`, 0o600);
}

export async function removeIntent(intent: Pick<Intent, 'kind' | 'app'> & { id?: string }): Promise<void> {
  await fs.rm(fileOf(intent), { force: true });
  await syncDir(INTENTS_DIR).catch(() => {});
}

/** The app's intent (rollout, restart or cluster release), if one was left. */
export async function appIntent(app: string): Promise<RolloutIntent | RestartIntent | SwarmIntent | undefined> {
  return (await readJson<RolloutIntent | RestartIntent | SwarmIntent>(fileOf({ kind: 'rollout', app })).catch(() => undefined));
}

/** What the journal holds: apps with an intent, and drains. Cheap when empty (one readdir). */
export async function listIntents(): Promise<{ apps: string[]; drains: DrainIntent[] }> {
  const names = await fs.readdir(INTENTS_DIR).catch(() => [] as string[]);
  const apps = names.flatMap((name) => APP_FILE.exec(name)?.[1] ?? []);
  const drains: DrainIntent[] = [];
  for (const name of names.filter((n) => DRAIN_FILE.test(n))) {
    const drain = await readJson<DrainIntent>(path.join(INTENTS_DIR, name)).catch(() => undefined);
    if (drain?.kind === 'drain') drains.push(drain);
  }
  return { apps, drains };
}
