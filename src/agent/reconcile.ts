/**
 * What an agent does when it starts, and whenever it takes an app's lock: finish or undo what a
 * killed agent left (its intent on the journal, intents.ts), deciding from what the host shows,
 * and clean up what failed attempts left behind. It is safe to run at any time: under the app's
 * lock nothing else changes the app, and a change whose process still lives is left alone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseRoutes, routesFor } from '../release/settings.js';
import type { AppState, Release } from '../release/types.js';
import { WEB } from '../release/types.js';
import { readSnapshotIfKept, snapshotFile, writeAppConfig } from './config-store.js';
import { appContainers, pruneImages, pruneUnreleased, removeContainers, removeReleasePhaseLeftover, stopAppContainers, type ListedContainer } from './containers.js';
import { acquireLock, alive } from './lock.js';
import { appIntent, listIntents, removeIntent, type DrainIntent, type RestartIntent, type RolloutIntent } from './intents.js';
import { currentRoutes, refreshRoutes, removeRoutes, switchRoutes } from './nginx.js';
import { writeFormationOverride } from './formation-store.js';
import { leftoverBuilds } from './build.js';
import { readSettings } from './settings.js';
import { LEFTOVER_TMP, appDir, readState, writeState } from './state.js';

export interface Reconciled {
  app: string;
  /** What was done, for the user ("finished the rollout of v7", "undid the rollout of v8"). */
  did: string[];
}

/** What the app's routes say nginx serves now: the version and the web ports. */
async function routedNow(app: string): Promise<{ version: number; ports: number[] } | undefined> {
  const text = await currentRoutes(app);
  return text === undefined ? undefined : parseRoutes(text);
}

/**
 * A rollout left by a dead agent. Switched (the routes point at its release, whose web
 * containers run): finished as the agent would have (recorded, config stored, old containers
 * stopped). Not switched: undone (its containers and config snapshot go, the routes are the
 * previous release's).
 */
/**
 * Whether a rollout a dead agent left had switched: nginx's routes point at its release, which
 * the state holds (as pending or active), and every routed port is one of its running web
 * containers'. Then it is finished; otherwise undone. Pure.
 */
export function rolloutSwitched(version: number, state: AppState, routed: { version: number; ports: number[] } | undefined, containers: ListedContainer[]): boolean {
  const webRunning = containers.filter((c) => c.release === version && c.type === WEB && c.running);
  return routed?.version === version && state.releases.some((r) => r.version === version)
    && routed.ports.every((port) => webRunning.some((c) => c.port === port));
}

/** Whether a rolling restart a dead agent left had switched: every routed port is one of its generation's running web containers'. Pure. */
export function restartSwitched(version: number, generation: number, routed: { version: number; ports: number[] } | undefined, containers: ListedContainer[]): boolean {
  const fresh = containers.filter((c) => c.release === version && c.type === WEB && c.generation === generation && c.running);
  return routed !== undefined && routed.ports.length > 0 && routed.ports.every((port) => fresh.some((c) => c.port === port));
}

async function settleRollout(intent: RolloutIntent, did: string[]): Promise<void> {
  const { app, version } = intent;
  const [state, containers, routed] = await Promise.all([readState(app), appContainers(app), routedNow(app)]);
  const ofRelease = containers.filter((c) => c.release === version);
  const release = state.releases.find((r) => r.version === version);
  if (rolloutSwitched(version, state, routed, containers)) {
    const next: AppState = {
      app,
      current: version,
      releases: state.releases.map((r): Release => (r.version === version ? { ...r, status: 'active' } : { ...r, status: 'superseded' })),
    };
    await writeState(next);
    const config = await readSnapshotIfKept(app, version);
    if (config) await writeAppConfig(app, config);
    if (intent.formation) await writeFormationOverride(app, intent.formation);
    await refreshRoutes(app);
    const old = containers.filter((c) => c.release !== version);
    await stopAppContainers(app, old.map((c) => c.name), release?.stopTimeoutSeconds ?? 10);
    did.push(`finished the rollout of v${version} that an agent left: nginx serves it${old.length ? `; stopped ${old.length} old container(s)` : ''}`);
    return;
  }
  await removeContainers(ofRelease.filter((c) => c.release !== state.current));
  await removeReleasePhaseLeftover(app, version);
  if (state.current !== version) {
    const kept = state.releases.filter((r) => !(r.version === version && r.status === 'pending'));
    if (kept.length !== state.releases.length) await writeState({ ...state, releases: kept });
    await fs.rm(snapshotFile(app, version), { force: true });
  }
  await restoreRoutes(app, state);
  did.push(`undid the rollout of v${version} that an agent left${ofRelease.length ? `: removed ${ofRelease.length} container(s)` : ''}; v${state.current ?? '-'} serves`);
}

/** Puts the routes back on the current release's running web containers, when they point elsewhere. */
async function restoreRoutes(app: string, state: AppState): Promise<void> {
  const current = state.releases.find((r) => r.version === state.current);
  if (!current) {
    // No release ever went live: nothing may be routed (a first deploy undone).
    await removeRoutes(app);
    return;
  }
  const routed = await routedNow(app);
  const web = (await appContainers(app)).filter((c) => c.release === current.version && c.type === WEB && c.running && c.port);
  const routedPortsRun = routed !== undefined && routed.ports.every((port) => web.some((c) => c.port === port));
  if (routed?.version === current.version && routedPortsRun) {
    await refreshRoutes(app);
    return;
  }
  if (web.length === 0) return;
  // The newest generation of the current release's web containers.
  const generation = Math.max(...web.map((c) => c.generation));
  const ports = web.filter((c) => c.generation === generation).sort((a, b) => a.replica - b.replica).map((c) => c.port!);
  await switchRoutes(app, routesFor(current.version, current.balance, ports, await readSettings(app)));
}

/** A rolling restart left by a dead agent: kept when the routes point at its containers, else undone. */
async function settleRestart(intent: RestartIntent, did: string[]): Promise<void> {
  const { app, version, generation } = intent;
  const [containers, routed, state] = await Promise.all([appContainers(app), routedNow(app), readState(app)]);
  const fresh = containers.filter((c) => c.release === version && c.type === WEB && c.generation === generation);
  const release = state.releases.find((r) => r.version === version);
  if (restartSwitched(version, generation, routed, containers)) {
    const old = containers.filter((c) => c.release === version && c.type === WEB && c.generation !== generation);
    await stopAppContainers(app, old.map((c) => c.name), release?.stopTimeoutSeconds ?? 10);
    await refreshRoutes(app);
    did.push(`finished the restart of v${version} that an agent left`);
  } else {
    await removeContainers(fresh);
    await restoreRoutes(app, state);
    did.push(`undid the restart of v${version} that an agent left`);
  }
}

/** Containers no release of the state accounts for (neither current nor pending), unless nginx routes to them. Pure. */
export function strays(state: AppState, containers: ListedContainer[], routedPorts: number[]): ListedContainer[] {
  const known = new Set(state.releases.filter((r) => r.status !== 'superseded').map((r) => r.version));
  return containers.filter((c) => !known.has(c.release) && !(c.port !== undefined && routedPorts.includes(c.port)));
}

/**
 * The app's reconcile, under its lock: the intent a dead agent left, then what is left over
 * (temp files of writes that never renamed, config snapshots of releases that are gone,
 * containers of no kept release that nothing drains).
 */
export async function reconcileApp(app: string, drainsAlive?: DrainIntent[]): Promise<Reconciled> {
  const did: string[] = [];
  const intent = await appIntent(app);
  // No intent, or this process's own change under way: nothing to settle.
  if (!intent || intent.pid === process.pid) return { app, did };
  if (intent.kind === 'swarm') {
    // Swarm's tasks are not this host's containers to clean up: only the release is settled.
    const { settleSwarmRelease } = await import('./swarm.js');
    const settled = await settleSwarmRelease(intent).catch((error: Error) => `could not settle v${intent.version} on the cluster yet: ${error.message}`);
    if (settled) did.push(settled);
    return { app, did };
  }
  drainsAlive ??= (await listIntents()).drains.filter((d) => alive(d.pid, d.pidStart));
  if (intent.kind === 'rollout') await settleRollout(intent, did);
  else await settleRestart(intent, did);
  await removeIntent(intent);
  {
    // Only after a crash: on a clean host this costs nothing.
    const dir = appDir(app);
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const pid = Number(LEFTOVER_TMP.exec(name)?.[1]);
      if (pid && !alive(pid)) await fs.rm(path.join(dir, name), { force: true });
    }
    const state = await readState(app);
    const routed = (await routedNow(app))?.ports ?? [];
    const draining = new Set(drainsAlive.filter((d) => d.app === app).flatMap((d) => d.containers));
    const stray = strays(state, await appContainers(app), routed).filter((c) => !draining.has(c.name));
    if (stray.length) {
      await removeContainers(stray);
      did.push(`removed ${stray.length} container(s) of no kept release: ${stray.map((c) => c.name).join(', ')}`);
    }
    const images = await pruneUnreleased(app);
    if (images.length) did.push(`removed ${images.length} image(s) that no release uses: ${images.join(', ')}`);
  }
  return { app, did };
}

/** Finishes a drain whose process died: stops the containers it was to stop, unless nginx routes to them now. */
async function settleDrain(drain: DrainIntent): Promise<void> {
  const routed = (await routedNow(drain.app))?.ports ?? [];
  const state = await readState(drain.app).catch(() => undefined);
  await stopAppContainers(drain.app, drain.containers, drain.stopTimeoutSeconds,
    (c) => (c.port !== undefined && routed.includes(c.port)) || (c.type !== WEB && c.release === state?.current));
  await pruneImages(drain.images);
  await removeIntent(drain);
}

/**
 * At an agent's start: every app whose intent was left (its lock free: the agent that wrote it is
 * gone), every drain whose process died, every build directory of a dead agent. One readdir when
 * there is nothing to do.
 */
export async function reconcileHost(): Promise<Reconciled[]> {
  const { apps, drains } = await listIntents();
  const results: Reconciled[] = [];
  const dead = drains.filter((d) => d.pid !== process.pid && !alive(d.pid, d.pidStart));
  for (const app of apps) {
    const release = await acquireLock(app, { holder: 'paas agent', command: 'reconcile' }, 0).catch(() => undefined);
    if (!release) continue; // held: its holder is alive and finishes its own change
    try {
      results.push(await reconcileApp(app, drains.filter((d) => !dead.includes(d))));
    } finally {
      await release();
    }
  }
  for (const drain of dead) await settleDrain(drain).catch(() => {});
  for (const dir of await leftoverBuilds()) await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  return results;
}
