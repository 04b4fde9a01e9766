/**
 * The executor of a rollout plan (src/release/plan.ts) on this host: intent first, the release
 * phase, the new containers and their health checks, the records and the switch of nginx's
 * routes (no reload), a check that nginx serves the app's names, the drain of the old
 * containers. Until the switch a failure undoes what was started; an agent killed anywhere
 * leaves its intent for the next one to finish or undo (reconcile.ts).
 */
import { PaasError } from '../errors.js';
import { networkCreate, type ContainerPlan } from '../release/containers.js';
import { formationText } from '../release/formation.js';
import { planRollout, rolloutWebReplicas, type RolloutPlan } from '../release/plan.js';
import { checkClaims, extraDomains } from '../release/settings.js';
import { DEFAULTS, WEB, type ReleaseSpec } from '../release/types.js';
import { validateSpec } from '../release/validate.js';
import { pruneSnapshots, readAppConfig, removeSnapshot, writeAppConfig, writeSnapshot } from './config-store.js';
import { appContainers, removeContainers, type ListedContainer } from './containers.js';
import { apiName, createContainer, engineGet, ensureNetwork, startContainer } from './engine.js';
import { start } from './exec.js';
import { failpoint } from './failpoints.js';
import { readFormationOverride, writeFormationOverride } from './formation-store.js';
import { waitHealthy, waitStaysUp } from './health.js';
import { missingRequiredEnv, requiredEnvError, withGeneratedSecrets } from '../release/env.js';
import { newDrainId, removeIntent, writeIntent, type RolloutIntent } from './intents.js';
import { startTimeOf } from './lock.js';
import { applySite, switchRoutes, verifyServed } from './nginx.js';
import { allocatePorts, boundByContainers } from './ports.js';
import type { Emit, HostInfo, RolloutResult, StartedContainer } from './protocol.js';
import { runPhase, runReleasePhase, type Phase } from './release-phase.js';
import { appUrls, readHostInfo } from './releases.js';
import { otherAppsNames, readSettings } from './settings.js';
import { readState, writeState } from './state.js';
import { ensureVolumes, readHostVolumes } from './volume-store.js';
import type { VolumeMount } from '../release/volumes.js';
import type { AppSettings } from '../release/settings.js';
import type { AppState } from '../release/types.js';

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
  /** The volumes added on this host (volumes:add). */
  hostVolumes: VolumeMount[];
}

/** Reads a rollout's inputs (under the app's lock), at once: the engine calls among them overlap. */
export async function readRolloutInputs(app: string, options: RolloutOptions = {}): Promise<RolloutInputs> {
  const host = await readHostInfo();
  const [state, config, override, existing, settings, others, boundPorts, hostVolumes] = await Promise.all([
    readState(app),
    options.config ?? readAppConfig(app),
    options.formation ?? readFormationOverride(app),
    appContainers(app),
    readSettings(app),
    otherAppsNames(app, host.baseDomain),
    boundByContainers(),
    readHostVolumes(app),
  ]);
  return { host, state, config, override, existing, settings, others, boundPorts, hostVolumes };
}

/**
 * Creates and starts the containers (all at once, through the Engine API: their env goes in the
 * request, nowhere else), after removing `leftovers` (of a crashed attempt), and waits until every
 * one is healthy; on failure removes them all.
 */
export async function startHealthy(spec: ReleaseSpec, containers: ContainerPlan[], leftovers: ListedContainer[], webPorts: number[], emit: Emit, timings: Record<string, number> = {}): Promise<StartedContainer[]> {
  const t0 = Date.now();
  const created: StartedContainer[] = [];
  try {
    await Promise.all([removeContainers(leftovers), ensureNetwork(networkCreate(spec.app))]);
    await Promise.all(containers.map(async (plan) => {
      const id = await createContainer(plan.name, plan.create);
      const container: StartedContainer = { name: plan.name, id, type: plan.type, ...(plan.type === WEB ? { port: webPorts[plan.replica - 1]! } : {}) };
      created.push(container);
      await startContainer(id, plan.name);
      emit(`started ${plan.type}.${plan.replica} (${plan.name}${container.port ? `, 127.0.0.1:${container.port}` : ''})`, 'start');
    }));
    timings.run = Date.now() - t0;
    await failpoint('rollout-start');
    const workerWaitMs = spec.workerWaitMs ?? DEFAULTS.workerWaitMs;
    const web = created.some((c) => c.type === WEB) ? (spec.healthcheck ? `GET ${spec.healthcheck.path}` : 'the app answers HTTP and the process stays up') : undefined;
    const workers = created.some((c) => c.type !== WEB) ? `the other processes stay up for ${workerWaitMs / 1000} s` : undefined;
    emit(`health check: ${[web, workers].filter(Boolean).join('; ')}`, 'health');
    await failpoint('rollout-health');
    await Promise.all(created.map((c) => (c.type === WEB
      ? waitHealthy(c.id, c.name, c.port, spec.healthcheck, DEFAULTS.healthDeadlineMs)
      : waitStaysUp(c.id, c.name, workerWaitMs))));
    timings.health = Date.now() - t0 - timings.run;
    emit(`${created.length} container(s) healthy`, 'health');
    return containers.map((plan) => created.find((c) => c.name === plan.name)!);
  } catch (error) {
    emit('removing the new containers; the previous release keeps serving', 'health');
    await removeContainers(created);
    throw error;
  }
}

/** What undoing a rollout that never switched does: its containers go, the state read before is written back, its config snapshot goes. */
async function undo(plan: RolloutPlan, started: StartedContainer[]): Promise<void> {
  await removeContainers(started);
  await writeState(plan.undo);
  await removeSnapshot(plan.spec.app, plan.spec.version);
}

/** rolloutLocked for a caller that holds the app's lock and has started reading its inputs. */
export async function rolloutLocked(requested: ReleaseSpec, emit: Emit, reading: Promise<RolloutInputs>, alsoPrune: string[] = [], options: RolloutOptions = {}): Promise<RolloutResult> {
  validateSpec(requested);
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const inputs = await reading;
  const { host, state, override, existing, settings, others, boundPorts, hostVolumes } = inputs;
  // app.json env: secrets this host has not got yet are generated (and kept: the rollout stores
  // its config); a required key still unset refuses the release before anything changes.
  const { config, generated } = withGeneratedSecrets(inputs.config, requested.envSecrets ?? []);
  const missing = missingRequiredEnv(requested.envRequired ?? [], Object.keys(config));
  if (missing.length) throw requiredEnvError(requested.app, missing);
  if (generated.length) emit(`${generated.join(', ')}: generated (app.json env "generator": "secret"), kept from now on`, 'config');
  const [image, webPorts] = await Promise.all([
    options.imageBuilt ? { status: 200 } : engineGet(`/images/${apiName(requested.image)}/json`),
    allocatePorts(rolloutWebReplicas(requested, override), boundPorts),
  ]);
  if (image.status !== 200) throw new PaasError('host', `the image ${requested.image} is not on this host`, { hint: 'push it first (paas deploy does)' });
  const plan = planRollout(requested, { state, config, override, existing, settings, baseDomain: host.baseDomain, hostVolumes }, webPorts, new Date().toISOString(), alsoPrune);
  const { spec } = plan;
  validateSpec(spec);
  checkClaims(spec.app, plan.site.serverNames, others, host.baseDomain);
  if (override && formationText(spec.formation) !== formationText(requested.formation)) emit(`formation set by ps:scale: ${formationText(spec.formation)}`, 'start');
  emit(`v${spec.version}: ${spec.description}`, 'start');

  const intent: RolloutIntent = {
    kind: 'rollout', app: spec.app, version: spec.version, ...(state.current !== undefined ? { previous: state.current } : {}),
    ...(options.formation ? { formation: options.formation } : {}), pid: process.pid, since: new Date().toISOString(),
  };
  await writeIntent(intent);
  let started: StartedContainer[] = [];
  let t1 = 0;
  try {
    // Before the release phase: it mounts them too. An existing volume (and its data) is kept as it is.
    await ensureVolumes(spec.app, spec.volumes);
    if (options.releasePhase !== false) {
      // Dokku's order: app.json's predeploy, then the release phase; both before any new container.
      if (spec.scripts?.predeploy) timings.predeploy = (await runPhase(spec, plan.env, emit, 'predeploy', spec.scripts.predeploy)).ms;
      if (spec.releaseCommand) timings.release = (await runReleasePhase(spec, plan.env, emit)).ms;
    }
    timings.prepare = Date.now() - t0;
    started = await startHealthy(spec, plan.containers, plan.leftovers, webPorts, emit, timings);
    timings.start = Date.now() - t0;
    t1 = Date.now();
    await writeSnapshot(spec.app, spec.version, config);
    // pending: the number is taken even if the agent dies right after the switch.
    await writeState(plan.pending);
    if (await applySite(plan.site, (names, owners) => checkClaims(spec.app, names, [...others, ...owners], host.baseDomain))) {
      emit(`nginx serves ${spec.app} at ${plan.site.serverNames.join(', ')}`, 'switch');
    }
    await switchRoutes(spec.app, plan.routes);
  } catch (error) {
    await undo(plan, started).catch(() => {});
    await removeIntent(intent);
    throw error;
  }
  await failpoint('rollout-switched');
  // "Live" is what nginx answers for the app's names, not what was written.
  const served = await verifyServed(plan.site);
  const switchMs = Date.now() - t1;
  emit(Object.hasOwn(spec.processes, WEB)
    ? `nginx now routes ${spec.app} to v${spec.version} (${plan.routes.upstreams.length} web replica(s)), without a reload`
    : `v${spec.version} has no web process: nothing is routed (web=0; its names answer 502), ${formationText(spec.formation)} run`, 'switch');

  await writeState(plan.active);
  await writeAppConfig(spec.app, config);
  await pruneSnapshots(plan.active, spec.keepReleases);
  if (options.formation) await writeFormationOverride(spec.app, options.formation);
  if (plan.drain.length || plan.prune.length) {
    emit(`${plan.drain.length} old container(s) keep serving their requests for ${spec.drainMs} ms, then get SIGTERM (in the background)`, 'drain');
    await drainInBackground(spec.app, plan.drain, plan.prune, spec.drainMs, spec.stopTimeoutSeconds);
  }
  await removeIntent(intent);
  if (options.releasePhase !== false) await runAfterSwitch(spec, plan.env, state.current === undefined, emit);
  const followsTls = served.ok && (spec.tls !== undefined || settings.acme?.by === 'paas.yml');
  if (followsTls) await (await import('./acme.js')).followTls(spec, emit);
  if (!served.ok) {
    throw new PaasError('host', `v${spec.version} is the current release, but nginx does not serve ${spec.app} at ${served.missing.join(', ')}`, {
      details: served.details,
      hint: 'check nginx on the host (`nginx -t`, its error log); `paas host:setup` installs the paas configuration again',
    });
  }
  return {
    app: spec.app, version: spec.version, image: spec.image,
    ...(state.current !== undefined ? { previous: state.current } : {}),
    containers: started, draining: plan.drain, pruning: plan.prune, switchMs,
    urls: appUrls(spec.app, extraDomains(spec.domains, settings), host, (followsTls ? await readSettings(spec.app).catch(() => settings) : settings).certificate?.names), timings: { ...timings, switch: switchMs },
  };
}

/**
 * app.json's scripts that run once the release is live: Dokku's postdeploy each time, Heroku's
 * scripts.postdeploy after the app's first release (on the host that runs its tasks: once for
 * the app). The release stays live whatever they do; a failure is reported with its output.
 */
async function runAfterSwitch(spec: ReleaseSpec, env: Record<string, string>, firstRelease: boolean, emit: Emit): Promise<void> {
  const phases: [Phase, string | undefined][] = [
    ['postdeploy', spec.scripts?.postdeploy],
    ['first-deploy', firstRelease && spec.runsCron !== false ? spec.scripts?.firstDeploy : undefined],
  ];
  for (const [phase, command] of phases) {
    if (!command) continue;
    await runPhase(spec, env, emit, phase, command).catch((error: unknown) => {
      const failure = error instanceof PaasError ? error : new PaasError('release', (error as Error).message);
      emit(`warning: ${failure.message}; v${spec.version} stays live`, 'release');
      for (const line of failure.details) emit(`  ${line}`, 'release');
    });
  }
}

/**
 * Runs the `drain` verb detached (its own session, so it outlives this SSH session): the deploy
 * is done once nginx serves the new release. Its intent is on the journal: should it die, the
 * next agent that starts stops the containers it was to stop (reconcile.ts).
 */
export async function drainInBackground(app: string, containers: string[], images: string[], drainMs: number, stopTimeoutSeconds: number): Promise<void> {
  const id = newDrainId();
  const child = start(process.execPath, [
    process.argv[1]!, 'drain', '--app', app, '--id', id, '--after', String(drainMs), '--timeout', String(stopTimeoutSeconds),
    ...containers.flatMap((name) => ['--container', name]),
    ...images.flatMap((image) => ['--image', image]),
  ], 'ignore', undefined, true);
  child.unref();
  const pidStart = child.pid ? startTimeOf(child.pid) : undefined;
  await writeIntent({ kind: 'drain', id, app, containers, images, drainMs, stopTimeoutSeconds, pid: child.pid ?? 0, ...(pidStart ? { pidStart } : {}), since: new Date().toISOString() });
}
