import { PaasError } from '../errors.js';
import { validateSpec } from '../release/validate.js';
import { planContainers, webReplicas, type PlanOptions, networkCreate } from '../release/containers.js';
import { DEFAULTS, WEB, type AppState, type Release, type ReleaseSpec } from '../release/types.js';
import { releaseEnv } from '../config/changes.js';
import { pruneSnapshots, readAppConfig, removeSnapshot, writeAppConfig, writeSnapshot } from './config-store.js';
import { start } from './exec.js';
import { apiName, createContainer, engineGet, ensureNetwork, startContainer } from './engine.js';
import { appContainers, pruneImages, removeContainers, type ListedContainer } from './containers.js';
import { failpoint } from './failpoints.js';
import { runReleasePhase } from './release-phase.js';
import { waitHealthy } from './health.js';
import { allocatePorts, boundByContainers } from './ports.js';
import { applySite, switchRoutes, verifyServed } from './nginx.js';
import { HOST_FILE, readJson, readState, writeState, type HostInfo } from './state.js';
import { effectiveFormation, formationText } from '../release/formation.js';
import { readFormationOverride, writeFormationOverride } from './formation-store.js';
import { claimProblem, extraDomains, routesFor, siteFor } from '../release/settings.js';
import { otherAppsNames, readSettings } from './settings.js';
import type { AppSettings } from '../release/settings.js';
import { newDrainId, removeIntent, writeIntent, type RolloutIntent } from './intents.js';
import type { Emit } from './protocol.js';

export type { Emit, ListedContainer };
export { claimProblem, validateSpec };
export { appContainers, pruneImages };

export interface StartedContainer {
  name: string;
  id: string;
  type: string;
  /** Loopback port on the host, for web replicas. */
  port?: number;
}

export interface RolloutResult {
  app: string;
  version: number;
  image: string;
  previous?: number;
  containers: StartedContainer[];
  /** Old containers, drained and stopped in the background after the switch. */
  draining: string[];
  /** Images of releases beyond keep_releases (and replaced dependency images), removed once those containers are gone. */
  pruning: string[];
  /** Time from "all new containers healthy" to "nginx serves them". */
  switchMs: number;
  urls: string[];
  timings: Record<string, number>;
}

export async function readHostInfo(): Promise<HostInfo> {
  const info = await readJson<HostInfo>(HOST_FILE);
  if (!info) throw new PaasError('host', 'this host is not set up for paas', { hint: 'run `paas host:setup` for it first' });
  return info;
}

export function appUrls(app: string, domains: string[], host: HostInfo): string[] {
  const port = host.publicPort === 80 ? '' : `:${host.publicPort}`;
  return [`${app}.${host.baseDomain}`, ...domains].map((name) => `http://${name}${port}/`);
}

/** How a rollout gets its config vars, and whether it runs the release phase. */
export interface RolloutOptions {
  /** The config vars of the release; default: the app's stored config (config.enc). */
  config?: Record<string, string>;
  /** Run Procfile `release:` before starting containers (default true; rollbacks don't). */
  releasePhase?: boolean;
  /** ps:scale: the formation override to run (instead of the stored one) and to store once live. */
  formation?: Record<string, number>;
  /** The image was just built on this host (no need to check that it is here). */
  imageBuilt?: boolean;
}

/**
 * Starts the release's containers (all at once, through the Engine API: `env` goes in the
 * request, nowhere else) and waits until every one is healthy; on failure removes them all.
 * `existing` are the app's containers now (by label), leftovers of a crashed attempt included.
 */
export async function startHealthy(spec: ReleaseSpec, env: Record<string, string>, webPorts: number[], existing: ListedContainer[], emit: Emit, options: PlanOptions = {}, timings: Record<string, number> = {}): Promise<StartedContainer[]> {
  const t0 = Date.now();
  const plans = planContainers(spec, webPorts, options, env);
  const names = new Set(plans.map((p) => p.name));
  const created: StartedContainer[] = [];
  try {
    await Promise.all([
      removeContainers(existing.filter((c) => names.has(c.name))),
      ensureNetwork(networkCreate(spec.app)),
    ]);
    await Promise.all(plans.map(async (plan) => {
      const id = await createContainer(plan.name, plan.create);
      const container: StartedContainer = { name: plan.name, id, type: plan.type };
      if (plan.type === WEB) container.port = webPorts[plan.replica - 1];
      created.push(container);
      await startContainer(id, plan.name);
      emit(`started ${plan.type}.${plan.replica} (${plan.name}${container.port ? `, 127.0.0.1:${container.port}` : ''})`, 'start');
    }));
    timings.run = Date.now() - t0;
    await failpoint('rollout-start');
    emit(`health check: ${spec.healthcheck ? `GET ${spec.healthcheck.path}` : 'the app answers HTTP and the process stays up'}`, 'health');
    await failpoint('rollout-health');
    await Promise.all(created.map((c) => waitHealthy(c.id, c.name, c.port, c.type === WEB ? spec.healthcheck : undefined, DEFAULTS.healthDeadlineMs)));
    timings.health = Date.now() - t0 - timings.run;
    emit(`${created.length} container(s) healthy`, 'health');
    return plans.map((plan) => created.find((c) => c.name === plan.name)!);
  } catch (error) {
    emit('removing the new containers; the previous release keeps serving', 'health');
    await removeContainers(created);
    throw error;
  }
}

/** Removes images of releases beyond the newest `keep`, unless a kept release uses them. */
export function imagesToPrune(state: AppState, keep: number): string[] {
  const byNewest = [...state.releases].sort((a, b) => b.version - a.version);
  const kept = new Set(byNewest.slice(0, keep).map((r) => r.image));
  return [...new Set(byNewest.slice(keep).map((r) => r.image))].filter((image) => !kept.has(image));
}

export function nextVersion(state: AppState, requested: number): number {
  return Math.max(requested, ...state.releases.map((r) => r.version + 1), 1);
}

/** What a rollout reads before it changes anything, none of it from the release: a deploy reads it while its image builds. */
export interface RolloutInputs {
  host: HostInfo;
  state: AppState;
  config: Record<string, string>;
  override: Record<string, number> | undefined;
  existing: ListedContainer[];
  settings: AppSettings;
  others: Awaited<ReturnType<typeof otherAppsNames>>;
  /** Host ports that containers hold (allocatePorts' `taken`). */
  boundPorts: Set<number>;
}

/** Reads a rollout's inputs (under the app's lock), at once: the engine calls among them overlap. */
export async function readRolloutInputs(app: string, options: RolloutOptions = {}): Promise<RolloutInputs> {
  // Config vars: only their names go into the spec (and so the release record); the values stay
  // in memory, reach the containers through the Engine API, and are kept encrypted (config-store.ts).
  // ps:scale's formation wins over the release's (paas.yml / Procfile), in every later rollout.
  // Domains added with `paas domains:add`, lb:set's balancing and the certificate outlive
  // releases: settings.
  const host = await readHostInfo();
  const [state, config, override, existing, settings, others, boundPorts] = await Promise.all([
    readState(app),
    options.config ?? readAppConfig(app),
    options.formation ?? readFormationOverride(app),
    appContainers(app),
    readSettings(app),
    otherAppsNames(app, host.baseDomain),
    boundByContainers(),
  ]);
  return { host, state, config, override, existing, settings, others, boundPorts };
}

/**
 * What undoing a rollout that never switched does: its containers go, the state is the one read
 * before (without the pending record), its config snapshot goes.
 */
async function undoRollout(spec: ReleaseSpec, state: AppState, started: StartedContainer[]): Promise<void> {
  await removeContainers(started);
  await writeState(state);
  await removeSnapshot(spec.app, spec.version);
}

/**
 * The zero-downtime rollout of one release on this host (the caller holds the app's lock):
 * intent first, then new containers on loopback ports, health checks, the switch of nginx's
 * routes (no reload), a check that nginx serves the app's names, the record, the drain of the
 * old containers. Until the switch a failure changes nothing; an agent killed anywhere leaves
 * its intent for the next one to finish or undo (reconcile.ts).
 */
export async function rolloutLocked(requested: ReleaseSpec, emit: Emit, reading: Promise<RolloutInputs>, alsoPrune: string[] = [], options: RolloutOptions = {}): Promise<RolloutResult> {
  validateSpec(requested);
  const timings: Record<string, number> = {};
  const mark = (step: string, since: number) => { timings[step] = Date.now() - since; };
  const t0 = Date.now();
  const { host, state, config, override, existing, settings, others, boundPorts } = await reading;
  const formation = effectiveFormation(requested.formation, requested.processes, override);
  const spec: ReleaseSpec = { ...requested, formation, version: nextVersion(state, requested.version), configVars: Object.keys(config).sort() };
  validateSpec(spec);
  if (override && formationText(formation) !== formationText(requested.formation)) emit(`formation set by ps:scale: ${formationText(formation)}`, 'start');
  const env = releaseEnv(spec.env, config);
  const [image, webPorts] = await Promise.all([
    options.imageBuilt ? { status: 200 } : engineGet(`/images/${apiName(spec.image)}/json`),
    allocatePorts(webReplicas(spec), boundPorts),
  ]);
  if (image.status !== 200) throw new PaasError('host', `the image ${spec.image} is not on this host`, { hint: 'push it first (paas deploy does)' });
  const site = siteFor(spec.app, host.baseDomain, spec.domains, settings);
  checkClaims(spec.app, site.serverNames, others, host.baseDomain);
  const old = existing.filter((c) => c.release !== spec.version);
  emit(`v${spec.version}: ${spec.description}`, 'start');

  const intent: RolloutIntent = {
    kind: 'rollout', app: spec.app, version: spec.version, ...(state.current !== undefined ? { previous: state.current } : {}),
    ...(options.formation ? { formation: options.formation } : {}), pid: process.pid, since: new Date().toISOString(),
  };
  await writeIntent(intent);
  const record = (status: Release['status']): Release => ({ ...withoutAppFields(spec), createdAt: new Date().toISOString(), status });
  const otherReleases = state.releases.filter((r) => r.version !== spec.version);
  let started: StartedContainer[] = [];
  const routes = () => routesFor(spec.version, spec.balance, started.filter((c) => c.type === WEB).map((c) => c.port!), settings);
  let t1 = 0;
  try {
    if (spec.releaseCommand && options.releasePhase !== false) {
      timings.release = (await runReleasePhase(spec, env, emit)).ms;
    }
    mark('prepare', t0);
    started = await startHealthy(spec, env, webPorts, existing, emit, {}, timings);
    mark('start', t0);
    t1 = Date.now();
    await writeSnapshot(spec.app, spec.version, config);
    // pending: the number is taken even if the agent dies right after the switch.
    await writeState({ ...state, releases: [...otherReleases, record('pending')] });
    if (await applySite(site, (names, owners) => checkClaims(spec.app, names, [...others, ...owners], host.baseDomain))) {
      emit(`nginx serves ${spec.app} at ${site.serverNames.join(', ')}`, 'switch');
    }
    await switchRoutes(spec.app, routes());
  } catch (error) {
    await undoRollout(spec, state, started).catch(() => {});
    await removeIntent(intent);
    throw error;
  }
  await failpoint('rollout-switched');
  // "Live" is what nginx answers for the app's names, not what was written.
  const served = await verifyServed(site);
  const switchMs = Date.now() - t1;
  emit(`nginx now routes ${spec.app} to v${spec.version} (${routes().upstreams.length} web replica(s)), without a reload`, 'switch');

  const previous = state.current;
  const next: AppState = {
    app: spec.app,
    current: spec.version,
    releases: [...otherReleases.map((r) => ({ ...r, status: 'superseded' as const })), record('active')],
  };
  await writeState(next);
  await writeAppConfig(spec.app, config);
  await pruneSnapshots(next, spec.keepReleases);
  if (options.formation) await writeFormationOverride(spec.app, options.formation);

  const draining = old.map((c) => c.name);
  const pruning = [...imagesToPrune(next, spec.keepReleases), ...alsoPrune];
  if (draining.length || pruning.length) {
    emit(`${draining.length} old container(s) keep serving their requests for ${spec.drainMs} ms, then get SIGTERM (in the background)`, 'drain');
    await drainInBackground(spec.app, draining, pruning, spec.drainMs, spec.stopTimeoutSeconds);
  }
  await removeIntent(intent);
  if (!served.ok) {
    throw new PaasError('host', `v${spec.version} is the current release, but nginx does not serve ${spec.app} at ${served.missing.join(', ')}`, {
      details: served.details,
      hint: 'check nginx on the host (`nginx -t`, its error log); `paas host:setup` installs the paas configuration again',
    });
  }
  return {
    app: spec.app, version: spec.version, image: spec.image,
    ...(previous !== undefined ? { previous } : {}),
    containers: started, draining, pruning, switchMs,
    urls: appUrls(spec.app, extraDomains(spec.domains, settings), host), timings: { ...timings, switch: switchMs },
  };
}

function checkClaims(app: string, names: string[], others: { app: string; names: string[] }[], baseDomain: string): void {
  for (const name of names) {
    const problem = claimProblem(app, name, others, baseDomain);
    if (problem) {
      const owner = others.find((other) => other.names.includes(name))?.app;
      throw new PaasError('config', problem, {
        where: 'paas.yml domains',
        hint: owner ? `remove it from paas.yml, or from ${owner} first (paas domains:remove ${name} --app ${owner})` : 'use a domain of your own (DNS pointing at this host), or the default name',
      });
    }
  }
}

/**
 * Runs the `drain` verb detached (its own session, so it outlives this SSH session): the deploy
 * is done once nginx serves the new release. Its intent is on the journal first: should it die,
 * the next agent that starts stops the containers it was to stop (reconcile.ts).
 */
export async function drainInBackground(app: string, containers: string[], images: string[], drainMs: number, stopTimeoutSeconds: number): Promise<void> {
  const id = newDrainId();
  const child = start(process.execPath, [
    process.argv[1]!, 'drain', '--app', app, '--id', id, '--after', String(drainMs), '--timeout', String(stopTimeoutSeconds),
    ...containers.flatMap((name) => ['--container', name]),
    ...images.flatMap((image) => ['--image', image]),
  ], 'ignore', undefined, true);
  child.unref();
  await writeIntent({ kind: 'drain', id, app, containers, images, drainMs, stopTimeoutSeconds, pid: child.pid ?? 0, since: new Date().toISOString() });
}

function withoutAppFields(spec: ReleaseSpec): Omit<ReleaseSpec, 'app' | 'keepReleases'> {
  const { app: _app, keepReleases: _keep, ...rest } = spec;
  return rest;
}

/** The spec that starts an earlier release again as a new release (Heroku's rollback). */
export function rollbackSpec(state: AppState, options: { to?: number; version: number; createdBy: string; keepReleases: number }): ReleaseSpec {
  const target = rollbackTarget(state, options.to);
  const { createdAt: _at, status: _status, ...kept } = target;
  return {
    ...kept, app: state.app, version: options.version, createdBy: options.createdBy, keepReleases: options.keepReleases,
    description: `Rollback to v${target.version}`,
  };
}

/** The release a rollback runs again: `to`, else the newest one before the current release. */
export function rollbackTarget(state: AppState, to: number | undefined): Release {
  const current = state.current;
  const target = to !== undefined
    ? state.releases.find((r) => r.version === to)
    : [...state.releases].filter((r) => current === undefined || r.version < current).sort((a, b) => b.version - a.version)[0];
  if (!target) {
    throw new PaasError('usage', to !== undefined ? `${state.app} has no release v${to}` : `${state.app} has no earlier release to roll back to`, {
      hint: 'see `paas releases` for the releases this host keeps',
    });
  }
  return target;
}

