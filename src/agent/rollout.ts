import { spawn } from 'node:child_process';
import { PaasError } from '../errors.js';
import { checkAppName, checkHostname, checkVariableName } from '../config/validators.js';
import { BALANCE_STRATEGIES } from '../config/types.js';
import { planContainers, webReplicas, LABEL, type PlanOptions } from '../release/containers.js';
import { DEFAULTS, WEB, type AppState, type Release, type ReleaseSpec } from '../release/types.js';
import { releaseEnv } from '../config/changes.js';
import { pruneSnapshots, readAppConfig, removeSnapshot, writeAppConfig, writeSnapshot } from './config-store.js';
import { docker } from './exec.js';
import { engineGet } from './engine.js';
import { runReleasePhase } from './release-phase.js';
import { waitHealthy } from './health.js';
import { allocatePorts, boundByContainers } from './ports.js';
import { acquireLock } from './lock.js';
import { applySite, switchRoutes } from './nginx.js';
import { HOST_FILE, readJson, readState, writeState, type HostInfo } from './state.js';
import { effectiveFormation, formationText } from '../release/formation.js';
import { readFormationOverride, writeFormationOverride } from './formation-store.js';
import { domainOwner, extraDomains, routesFor, siteFor } from '../release/settings.js';
import { otherAppsNames, readSettings } from './settings.js';
import type { AppSettings } from '../release/settings.js';

export type Emit = (message: string, step?: string) => void;

export interface StartedContainer {
  name: string;
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
  /** Time from "all new containers healthy" to "nginx reloaded". */
  switchMs: number;
  urls: string[];
  timings: Record<string, number>;
}

/** Refuses a spec that could put anything but validated names and numbers into docker or nginx. */
export function validateSpec(spec: ReleaseSpec): void {
  const problems: string[] = [];
  const appProblem = checkAppName(spec.app);
  if (appProblem) problems.push(`app: ${appProblem}`);
  if (!Number.isInteger(spec.version) || spec.version < 1) problems.push('version: expected a whole number >= 1');
  if (!/^[a-z0-9][a-z0-9._/:@-]*$/i.test(spec.image)) problems.push(`image: ${JSON.stringify(spec.image)} is not an image reference`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) problems.push('port: expected 1..65535');
  for (const [type, replicas] of Object.entries(spec.formation)) {
    if (!/^[A-Za-z0-9_-]{1,30}$/.test(type)) problems.push(`formation: invalid process type ${JSON.stringify(type)}`);
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 100) problems.push(`formation.${type}: expected 0..100 replicas`);
  }
  for (const [type, limits] of Object.entries(spec.limits ?? {})) {
    if (!/^[A-Za-z0-9_-]{1,30}$/.test(type)) problems.push(`limits: invalid process type ${JSON.stringify(type)}`);
    if (limits.memoryBytes !== undefined && !(Number.isInteger(limits.memoryBytes) && limits.memoryBytes >= 6 * 1024 ** 2)) problems.push(`limits.${type}.memory: expected a whole number of bytes >= 6m`);
    if (limits.cpus !== undefined && !(typeof limits.cpus === 'number' && Number.isFinite(limits.cpus) && limits.cpus > 0 && limits.cpus <= 1024)) problems.push(`limits.${type}.cpus: expected a number of CPUs above 0`);
  }
  for (const domain of spec.domains) {
    const problem = checkHostname(domain);
    if (problem) problems.push(`domains: ${JSON.stringify(domain)}: ${problem}`);
  }
  for (const key of Object.keys(spec.env)) {
    const problem = checkVariableName(key);
    if (problem) problems.push(`env: ${problem}`);
  }
  if (!BALANCE_STRATEGIES.includes(spec.balance)) problems.push(`balance: ${JSON.stringify(spec.balance)} is not a strategy`);
  if (problems.length) throw new PaasError('usage', 'the release spec is invalid', { details: problems });
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

export interface ListedContainer { name: string; release: number; type: string; replica: number; generation: number }

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

export async function appContainers(app: string): Promise<ListedContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL.app}=${app}`] }));
  const { status, body } = await engineGet<{ Names: string[]; Labels: Record<string, string> | null }[]>(`/containers/json?all=1&filters=${filters}`);
  if (status !== 200 || !body) throw new PaasError('host', `the Docker Engine did not list the containers of ${app} (${status})`);
  // One-off containers (release phase, `paas run`) have no process label: a rollout leaves them be.
  return body.map((container) => {
    const labels = container.Labels ?? {};
    return {
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      release: Number(labels[LABEL.release]) || 0,
      type: labels[LABEL.process] ?? '',
      replica: Number(labels[LABEL.replica]) || 0,
      generation: Number(labels[LABEL.restart]) || 0,
    };
  }).filter((c) => c.type !== '');
}

async function removeContainers(names: string[]): Promise<void> {
  if (names.length) await docker(['rm', '--force', ...names], { check: false });
}

/**
 * Starts the release's containers (all at once) and waits until every one is healthy; on
 * failure removes them all. `existing` are the app's containers now, leftovers included.
 */
export async function startHealthy(spec: ReleaseSpec, env: Record<string, string>, webPorts: number[], existing: ListedContainer[], emit: Emit, options: PlanOptions = {}, timings: Record<string, number> = {}): Promise<StartedContainer[]> {
  const t0 = Date.now();
  const plans = planContainers({ ...spec, env }, webPorts, options);
  const names = new Set(plans.map((p) => p.name));
  try {
    await removeContainers(existing.filter((c) => names.has(c.name)).map((c) => c.name)); // leftovers of an attempt that crashed
    const started = await Promise.all(plans.map(async (plan) => {
      await docker(plan.runArgs, { env });
      const container: StartedContainer = { name: plan.name, type: plan.type };
      if (plan.type === WEB) container.port = webPorts[plan.replica - 1];
      emit(`started ${plan.type}.${plan.replica} (${plan.name}${container.port ? `, 127.0.0.1:${container.port}` : ''})`, 'start');
      return container;
    }));
    timings.run = Date.now() - t0;
    emit(`health check: ${spec.healthcheck ? `GET ${spec.healthcheck.path}` : 'the app answers HTTP and the process stays up'}`, 'health');
    await Promise.all(started.map((c) => waitHealthy(c.name, c.port, c.type === WEB ? spec.healthcheck : undefined, DEFAULTS.healthDeadlineMs)));
    timings.health = Date.now() - t0 - timings.run;
    emit(`${started.length} container(s) healthy`, 'health');
    return started;
  } catch (error) {
    emit(`removing the new containers; the previous release keeps serving`, 'health');
    await removeContainers([...names]);
    throw error;
  }
}

export async function stopContainers(names: string[], timeoutSeconds: number): Promise<void> {
  await Promise.all(names.map(async (name) => {
    await docker(['stop', '--time', String(timeoutSeconds), name], { check: false });
    await docker(['rm', '--force', name], { check: false });
  }));
}

/** Removes images of releases beyond the newest `keep`, unless a kept release uses them. */
export function imagesToPrune(state: AppState, keep: number): string[] {
  const byNewest = [...state.releases].sort((a, b) => b.version - a.version);
  const kept = new Set(byNewest.slice(0, keep).map((r) => r.image));
  return [...new Set(byNewest.slice(keep).map((r) => r.image))].filter((image) => !kept.has(image));
}

export async function pruneImages(images: string[]): Promise<string[]> {
  const removed: string[] = [];
  // Release records outlive their images: only the tags still on the engine need a `docker rmi`.
  const listed = await engineGet<{ RepoTags?: string[] | null }[]>('/images/json');
  const tagged = new Set((listed.body ?? []).flatMap((image) => image.RepoTags ?? []));
  for (const image of listed.status === 200 ? images.filter((i) => tagged.has(i)) : images) {
    if ((await docker(['rmi', image], { check: false })).code === 0) removed.push(image);
  }
  return removed;
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

/** Reads a rollout's inputs (under the app's lock), at once: the docker calls among them overlap. */
export async function readRolloutInputs(app: string, options: RolloutOptions = {}): Promise<RolloutInputs> {
  // Config vars: only their names go into the spec (and so the release record); the values stay
  // in memory, reach docker through its environment, and are kept encrypted (config-store.ts).
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
 * The zero-downtime rollout of one release on this host: lock, start new containers on loopback
 * ports, health-check them, switch nginx (test, then reload), record the release, drain, stop the
 * old containers, prune old images. Until nginx is switched, a failure changes nothing.
 */
export async function rollout(requested: ReleaseSpec, emit: Emit, lock: { waitMs?: number; token?: string } = {}, alsoPrune: string[] = [], options: RolloutOptions = {}): Promise<RolloutResult> {
  validateSpec(requested);
  const release = await acquireLock(requested.app, { holder: requested.createdBy, command: requested.description }, lock.waitMs ?? 0, lock.token);
  try {
    return await rolloutLocked(requested, emit, readRolloutInputs(requested.app, options), alsoPrune, options);
  } finally {
    await release();
  }
}

/** rollout() for a caller that holds the app's lock and has started reading its inputs. */
export async function rolloutLocked(requested: ReleaseSpec, emit: Emit, reading: Promise<RolloutInputs>, alsoPrune: string[] = [], options: RolloutOptions = {}): Promise<RolloutResult> {
  validateSpec(requested);
  const timings: Record<string, number> = {};
  const mark = (step: string, since: number) => { timings[step] = Date.now() - since; };
  const t0 = Date.now();
  const { host, state, config, override, existing, settings, others, boundPorts } = await reading;
  const formation = effectiveFormation(requested.formation, requested.processes, override);
  const spec: ReleaseSpec = { ...requested, formation, version: nextVersion(state, requested.version), configVars: Object.keys(config).sort() };
  if (override && formationText(formation) !== formationText(requested.formation)) emit(`formation set by ps:scale: ${formationText(formation)}`, 'start');
  const env = releaseEnv(spec.env, config);
  const [inspect, webPorts] = await Promise.all([
    options.imageBuilt ? { code: 0 } : docker(['image', 'inspect', '--format', '{{.Id}}', spec.image], { check: false }),
    allocatePorts(webReplicas(spec), boundPorts),
  ]);
  if (inspect.code !== 0) throw new PaasError('host', `the image ${spec.image} is not on this host`, { hint: 'push it first (paas deploy does)' });
  const old = existing.filter((c) => c.release !== spec.version);
  for (const domain of spec.domains) {
    const owner = domainOwner(domain, others);
    if (owner) {
      throw new PaasError('usage', `the domain ${domain} (paas.yml) is already served by the app ${owner} on this host`, {
        hint: `remove it from paas.yml, or from ${owner} first (paas domains:remove ${domain} --app ${owner})`,
      });
    }
  }
  emit(`v${spec.version}: ${spec.description}`, 'start');

  if (spec.releaseCommand && options.releasePhase !== false) {
    timings.release = (await runReleasePhase(spec, env, emit)).ms;
  }
  mark('prepare', t0);
  const started = await startHealthy(spec, env, webPorts, existing, emit, {}, timings);
  mark('start', t0);

  const t1 = Date.now();
  const routes = routesFor(spec.version, spec.balance, started.filter((c) => c.type === WEB).map((c) => c.port!), settings);
  const upstreams = routes.upstreams;
  const record = (status: Release['status']): Release => ({ ...withoutAppFields(spec), createdAt: new Date().toISOString(), status });
  const otherReleases = state.releases.filter((r) => r.version !== spec.version);
  await writeSnapshot(spec.app, spec.version, config);
  await writeState({ ...state, releases: [...otherReleases, record('pending')] });
  try {
    const site = siteFor(spec.app, host.baseDomain, spec.domains, settings);
    if (await applySite(site)) {
      emit(`nginx serves ${spec.app} at ${site.serverNames.join(', ')}`, 'switch');
    }
    await switchRoutes(spec.app, routes);
  } catch (error) {
    await docker(['rm', '--force', ...started.map((c) => c.name)], { check: false });
    await writeState(state);
    await removeSnapshot(spec.app, spec.version);
    throw error;
  }
  const switchMs = Date.now() - t1;
  emit(`nginx now routes ${spec.app} to v${spec.version} (${upstreams.length} web replica(s)), without a reload`, 'switch');

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
    drainInBackground(draining, pruning, spec.drainMs, spec.stopTimeoutSeconds);
  }
  return {
    app: spec.app, version: spec.version, image: spec.image,
    ...(previous !== undefined ? { previous } : {}),
    containers: started, draining, pruning, switchMs,
    urls: appUrls(spec.app, extraDomains(spec.domains, settings), host), timings: { ...timings, switch: switchMs },
  };
}

/**
 * Runs the `drain` verb detached (its own session, so it outlives this SSH session): the deploy
 * is done once nginx serves the new release. Should it die, the next rollout stops whatever old
 * containers are left, as it stops every container not of the release it starts.
 */
export function drainInBackground(containers: string[], images: string[], drainMs: number, stopTimeoutSeconds: number): void {
  const args = [
    process.argv[1]!, 'drain', '--after', String(drainMs), '--timeout', String(stopTimeoutSeconds),
    ...containers.flatMap((name) => ['--container', name]),
    ...images.flatMap((image) => ['--image', image]),
  ];
  spawn(process.execPath, args, { detached: true, stdio: 'ignore' }).unref();
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
  const options = { to };
  const current = state.current;
  const target = options.to !== undefined
    ? state.releases.find((r) => r.version === options.to)
    : [...state.releases].filter((r) => current === undefined || r.version < current).sort((a, b) => b.version - a.version)[0];
  if (!target) {
    throw new PaasError('usage', options.to !== undefined ? `${state.app} has no release v${options.to}` : `${state.app} has no earlier release to roll back to`, {
      hint: 'see `paas releases` for the releases this host keeps',
    });
  }
  return target;
}
