/**
 * The host's decisions, as pure functions of what the agent read and what it was asked: which
 * release number, which containers with which Engine API bodies, which routes, which site, what
 * drains, what is pruned, the records to write and what an undo puts back. The agent's executor
 * (src/agent/rollout.ts and the verbs) carries a plan out; these are unit-tested as exact values
 * (test/release/plan.test.ts).
 */
import type { AppRoutes, AppSite } from '../nginx/config.js';
import { releaseEnv } from '../config/changes.js';
import { planContainers, webReplicas, type ContainerPlan } from './containers.js';
import { effectiveFormation } from './formation.js';
import { routesFor, siteFor, type AppSettings } from './settings.js';
import { mergeVolumes, type VolumeMount } from './volumes.js';
import { WEB, type AppContainer, type AppState, type Release, type ReleaseSpec } from './types.js';

/** What a rollout reads on the host before it changes anything. */
export interface RolloutFacts {
  state: AppState;
  /** The app's config vars of this release (the stored ones, or a change's, or a rollback's snapshot). */
  config: Record<string, string>;
  /** ps:scale's formation (formation.json), or the one a scale rolls out. */
  override: Record<string, number> | undefined;
  /** The app's containers now (by label). */
  existing: AppContainer[];
  settings: AppSettings;
  baseDomain: string;
  /** The volumes added on the host (volumes:add); absent: none. */
  hostVolumes?: VolumeMount[];
}

export interface RolloutPlan {
  /** The release as it will be recorded: its number, its formation, the names of its config vars. */
  spec: ReleaseSpec;
  /** The whole environment of its containers (paas.yml env, then config vars). */
  env: Record<string, string>;
  /** Containers of the same names an attempt that crashed left: removed first. */
  leftovers: AppContainer[];
  containers: ContainerPlan[];
  site: AppSite;
  routes: AppRoutes;
  /** The state while the release is switched to (its record pending), then once it is live. */
  pending: AppState;
  active: AppState;
  /** Old containers, stopped after the drain period. */
  drain: string[];
  /** Images no kept release uses any more, removed after the drain. */
  prune: string[];
  /** The state an undo writes back (the one read before). */
  undo: AppState;
}

/** The release number a rollout takes: the one asked for, but never one the state has had. */
export function nextVersion(state: AppState, requested: number): number {
  return Math.max(requested, ...state.releases.map((r) => r.version + 1), 1);
}

/** The replicas per type a rollout runs: ps:scale's override wins over the release's. */
export function rolloutFormation(requested: ReleaseSpec, override: Record<string, number> | undefined): Record<string, number> {
  return effectiveFormation(requested.formation, requested.processes, override);
}

/** Web replicas (each needs a loopback port) of a requested release once the override applies. */
export function rolloutWebReplicas(requested: ReleaseSpec, override: Record<string, number> | undefined): number {
  return webReplicas({ ...requested, formation: rolloutFormation(requested, override) });
}

/** Images of releases beyond the newest `keep`, unless a kept release uses them. */
export function imagesToPrune(state: AppState, keep: number): string[] {
  const byNewest = [...state.releases].sort((a, b) => b.version - a.version);
  const kept = new Set(byNewest.slice(0, keep).map((r) => r.image));
  return [...new Set(byNewest.slice(keep).map((r) => r.image))].filter((image) => !kept.has(image));
}

export function recordOf(spec: ReleaseSpec, status: Release['status'], createdAt: string): Release {
  const { app: _app, keepReleases: _keep, ...rest } = spec;
  return { ...rest, createdAt, status };
}

/**
 * The rollout of `requested` on this host, given what was read and the loopback ports allocated
 * for its web replicas (rolloutWebReplicas of them). `alsoPrune`: images the caller knows are
 * stale (replaced dependency images). `now`: the records' createdAt.
 */
export function planRollout(requested: ReleaseSpec, facts: RolloutFacts, webPorts: number[], now: string, alsoPrune: string[] = []): RolloutPlan {
  const { state, config, settings } = facts;
  const { volumes: _requested, ...rest } = requested;
  const volumes = mergeVolumes(requested.volumes ?? [], facts.hostVolumes ?? []);
  const spec: ReleaseSpec = {
    ...rest,
    formation: rolloutFormation(requested, facts.override),
    version: nextVersion(state, requested.version),
    configVars: Object.keys(config).sort(),
    ...(volumes.length ? { volumes } : {}),
  };
  const env = releaseEnv(spec.env, config);
  const containers = planContainers(spec, webPorts, {}, env);
  const names = new Set(containers.map((c) => c.name));
  const others = state.releases.filter((r) => r.version !== spec.version);
  const active: AppState = {
    app: spec.app,
    current: spec.version,
    releases: [...others.map((r) => ({ ...r, status: 'superseded' as const })), recordOf(spec, 'active', now)],
  };
  const webPortsInOrder = containers.filter((c) => c.type === WEB).map((c) => webPorts[c.replica - 1]!);
  return {
    spec,
    env,
    leftovers: facts.existing.filter((c) => names.has(c.name)),
    containers,
    site: siteFor(spec.app, facts.baseDomain, spec.domains, settings),
    routes: routesFor(spec.version, spec.balance, webPortsInOrder, settings),
    pending: { ...state, releases: [...others, recordOf(spec, 'pending', now)] },
    active,
    drain: facts.existing.filter((c) => c.release !== spec.version).map((c) => c.name),
    prune: [...imagesToPrune(active, spec.keepReleases), ...alsoPrune],
    undo: state,
  };
}

export interface RestartPlan {
  /** The new generation's web containers (none when web is not restarted). */
  containers: ContainerPlan[];
  generation: number;
  routes: AppRoutes | undefined;
  /** The older generations' web containers: drained once the routes switch. */
  drain: string[];
  /** Other types' containers (IDs), restarted in place: SIGTERM, wait, start. */
  restartInPlace: { type: string; ids: string[]; names: string[] }[];
}

/**
 * A rolling restart of the current release (no new release): web starts again as generation N+1
 * beside the running replicas, on new ports, and the routes switch to it; the other types are
 * restarted in place. `types`: the types to restart (validated by the caller).
 */
export function planRestart(release: ReleaseSpec, types: string[], existing: AppContainer[], env: Record<string, string>, webPorts: number[], settings: AppSettings): RestartPlan {
  const ofRelease = (type: string) => existing.filter((c) => c.release === release.version && c.type === type);
  const web = types.includes(WEB);
  const oldWeb = web ? ofRelease(WEB) : [];
  const generation = Math.max(0, ...oldWeb.map((c) => c.generation)) + 1;
  const containers = web ? planContainers(release, webPorts, { types: [WEB], generation }, env) : [];
  return {
    containers,
    generation,
    routes: web ? routesFor(release.version, release.balance, containers.map((c) => webPorts[c.replica - 1]!), settings) : undefined,
    drain: oldWeb.map((c) => c.name),
    restartInPlace: types.filter((t) => t !== WEB).map((type) => ({ type, ids: ofRelease(type).map((c) => c.id), names: ofRelease(type).map((c) => c.name) }))
      .filter((group) => group.ids.length > 0),
  };
}

export interface DestroyPlan {
  /** Whether the app has an entry in the sites table to take out (its names stop answering; no reload). */
  site: boolean;
  /** Container IDs (the app's, by label: its processes and one-off runs). */
  containers: string[];
  images: string[];
  network: string;
  /** Directories removed, the state directory last. */
  dirs: string[];
}

/**
 * Everything of one app on a host, in the order it goes: nginx first (its names stop answering),
 * then containers, network, images, certificates and repository, the state directory last.
 * `present` is what exists.
 */
export function planDestroy(app: string, present: {
  site: boolean;
  containers: { id: string }[]; images: string[]; certsDir?: string; repo?: string; stateDir: string;
}): DestroyPlan {
  return {
    site: present.site,
    containers: present.containers.map((c) => c.id),
    images: present.images.filter((image) => image.startsWith(`paas/${app}:`)),
    network: `paas-${app}`,
    dirs: [present.certsDir, present.repo, present.stateDir].filter((d): d is string => d !== undefined),
  };
}
