/**
 * Agent verbs of `paas ps`, `ps:scale`, `ps:restart` and `paas logs`.
 */
import { releaseEnv } from '../config/changes.js';
import { readAppConfig } from './config-store.js';
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { PaasError } from '../errors.js';
import { effectiveFormation, formationText, parseFormationArgs } from '../release/formation.js';
import {
  INSPECT_FORMAT, PROCESS_FILTER, matchesProcess, mergeLogLines, parseStatsLine, parseTimestamped, rowFromInspect,
  type InspectLine, type LogLine, type ProcessRow,
} from '../release/ps.js';
import { LABEL } from '../release/containers.js';
import { DEFAULTS, WEB, type AppState, type Release, type ReleaseSpec } from '../release/types.js';
import { docker, start } from './exec.js';
import { withAppLock, rollout } from './app-lock.js';
import { failpoint } from './failpoints.js';
import { removeIntent, writeIntent, type RestartIntent } from './intents.js';
import { switchRoutes } from './nginx.js';
import { readSettings } from './settings.js';
import { routesFor } from '../release/settings.js';
import { allocatePorts } from './ports.js';
import { readFormationOverride } from './formation-store.js';
import { drainInBackground, startHealthy, type StartedContainer } from './rollout.js';
import { appContainers, removeContainers, type ListedContainer } from './containers.js';
import { readState } from './state.js';
import type { VerbContext } from './verbs.js';
import { flag, flags as all, requireFlag } from './args.js';




function currentRelease(state: AppState): Release {
  const release = state.releases.find((r) => r.version === state.current);
  if (!release) throw new PaasError('usage', `${state.app} has no release on this host`, { hint: 'deploy it first: `paas deploy`' });
  return release;
}

function specOf(state: AppState, release: Release, extra: { version: number; createdBy: string; keepReleases: number; description: string }): ReleaseSpec {
  const { createdAt: _at, status: _status, ...kept } = release;
  return { ...kept, app: state.app, ...extra };
}

/** Containers of the app with their state, uptime, CPU, memory and limits. */
async function ps({ args }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const state = await readState(app);
  const ids = (await docker(['ps', '--all', '--quiet', '--filter', `label=${LABEL.app}=${app}`])).stdout.split('\n').filter(Boolean);
  const release = state.releases.find((r) => r.version === state.current);
  const base = { app, ...(state.current !== undefined ? { current: state.current } : {}), formation: release?.formation ?? {}, limits: release?.limits ?? {} };
  if (ids.length === 0) return { ...base, processes: [] };
  const now = Date.now();
  const inspected = await docker(['inspect', '--format', INSPECT_FORMAT, ...ids], { check: false });
  const rows: ProcessRow[] = inspected.stdout.split('\n').filter(Boolean).map((line) => rowFromInspect(JSON.parse(line) as InspectLine, now));
  const running = rows.filter((r) => r.state === 'running').map((r) => r.container);
  if (running.length) {
    const stats = await docker(['stats', '--no-stream', '--format', '{{json .}}', ...running], { check: false });
    const byName = new Map(stats.stdout.split('\n').map(parseStatsLine).filter((s) => s !== undefined).map((s) => [s.name, s]));
    for (const row of rows) {
      const s = byName.get(row.container);
      if (s?.cpuPercent !== undefined) row.cpuPercent = s.cpuPercent;
      if (s?.memoryBytes !== undefined) row.memoryBytes = s.memoryBytes;
    }
  }
  return { ...base, processes: rows };
}

/** A new release of the current one with a new formation (same image), stored for later rollouts. */
async function scale({ args, emit }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const state = await readState(app);
  const release = currentRelease(state);
  const change = parseFormationArgs(all(args, 'set'), Object.keys(release.processes));
  const stored = (await readFormationOverride(app)) ?? {};
  const override = { ...stored, ...change };
  const spec = specOf(state, release, {
    version: Number(flag(args, 'version') ?? 0),
    createdBy: flag(args, 'by') ?? 'unknown',
    keepReleases: Number(flag(args, 'keep') ?? DEFAULTS.keepReleases),
    description: `Scale ${formationText(change)}`,
  });
  emit(`${formationText(release.formation)} -> ${formationText(effectiveFormation(release.formation, release.processes, override))}`, 'start');
  const token = flag(args, 'lock-token');
  return rollout(spec, emit, { waitMs: 0, ...(token ? { token } : {}) }, [], { formation: override });
}

/**
 * Rolling restart of the current release, without a new release. web: the same release starts
 * again beside the running replicas as restart generation N+1 (containers ...-v7-r1, on new
 * loopback ports), is health-checked, nginx switches to it, the old replicas drain. Other types:
 * `docker restart` (stop, then start) of their containers.
 */
async function restart({ args, emit }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const only = flag(args, 'type');
  const token = flag(args, 'lock-token');
  return withAppLock(app, { holder: flag(args, 'by') ?? 'unknown', command: `ps:restart${only ? ` ${only}` : ''}` }, token ? { token } : {}, async () => {
    const state = await readState(app);
    const release = currentRelease(state);
    const known = Object.keys(release.processes);
    if (only !== undefined && !known.includes(only)) {
      throw new PaasError('usage', `unknown process type ${JSON.stringify(only)}; the app runs: ${known.sort().join(', ')}`, { hint: 'name a type of the app\'s Procfile or paas.yml processes, or none to restart all' });
    }
    const types = known.filter((t) => (release.formation[t] ?? 0) > 0 && (only === undefined || t === only));
    if (types.length === 0) throw new PaasError('usage', `${only ?? 'no process type'} of ${app} has no replica running`, { hint: 'scale it up first: `paas ps:scale TYPE=1`' });
    const existing = await appContainers(app);
    const ofRelease = (type: string) => existing.filter((c) => c.release === release.version && c.type === type);
    const restarted: string[] = [];
    let draining: string[] = [];
    const spec = specOf(state, release, { version: release.version, createdBy: flag(args, 'by') ?? 'unknown', keepReleases: DEFAULTS.keepReleases, description: release.description });
    if (types.includes(WEB)) {
      const old = ofRelease(WEB);
      const generation = Math.max(0, ...old.map((c) => c.generation)) + 1;
      const ports = await allocatePorts(release.formation[WEB]!);
      emit(`web: starting ${ports.length} fresh replica(s) of v${release.version} beside the running ones (restart ${generation})`, 'start');
      // The running release's config vars (config.enc is the active release's).
      const env = releaseEnv(spec.env, await readAppConfig(app));
      const intent: RestartIntent = { kind: 'restart', app, version: release.version, generation, pid: process.pid, since: new Date().toISOString() };
      await writeIntent(intent);
      let started: StartedContainer[] = [];
      try {
        started = await startHealthy(spec, env, ports, existing, emit, { types: [WEB], generation });
        // lb:set's strategy and weights stay (routesFor), as in every rollout.
        await switchRoutes(app, routesFor(release.version, release.balance, started.map((c) => c.port!), await readSettings(app)));
      } catch (error) {
        await removeContainers(started);
        await removeIntent(intent);
        throw error;
      }
      await failpoint('rollout-switched');
      emit(`nginx now routes ${app} to the fresh web replicas, without a reload`, 'switch');
      draining = old.map((c) => c.name);
      if (draining.length) await drainInBackground(app, draining, [], release.drainMs, release.stopTimeoutSeconds);
      await removeIntent(intent);
      restarted.push(...started.map((c) => c.name));
    }
    for (const type of types.filter((t) => t !== WEB)) {
      const names = ofRelease(type).map((c: ListedContainer) => c.name);
      if (!names.length) continue;
      emit(`${type}: restarting ${names.length} container(s) (SIGTERM, up to ${release.stopTimeoutSeconds} s, then start)`, 'restart');
      await docker(['restart', '--time', String(release.stopTimeoutSeconds), ...ofRelease(type).map((c) => c.id)]);
      restarted.push(...names);
    }
    return { app, version: release.version, types, restarted, draining };
  });
}

/** Writes one log line to the client as a protocol event (not echoed on stderr like emit). */
function sendLog(line: LogLine): void {
  try {
    process.stdout.write(`${JSON.stringify({ type: 'event', step: 'log', message: JSON.stringify(line) })}\n`);
  } catch {
    // the client went away: the stdin watch ends the verb
  }
}

/** Calls `onLine` for each line of a stream, decoded as UTF-8 across chunks (node:readline). */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/**
 * Logs of the current release's containers, each line tagged with its process (web.1), in time
 * order (docker's timestamps). --follow streams until the client closes stdin (Ctrl-C in the
 * CLI, or the SSH connection drops): then every `docker logs -f` child is killed.
 */
async function logs({ args, stdin }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const tail = Number(flag(args, 'tail') ?? 100);
  if (!Number.isInteger(tail) || tail < 0 || tail > 100_000) throw new PaasError('usage', '--tail: expected a whole number 0..100000');
  const filter = flag(args, 'process');
  if (filter !== undefined && !PROCESS_FILTER.test(filter)) throw new PaasError('usage', `${JSON.stringify(filter)} is not a process type or process (such as web or web.1)`);
  const follow = args.includes('--follow');
  const state = await readState(app);
  const release = currentRelease(state);
  const type = filter?.split('.')[0];
  if (type !== undefined && !(type in release.processes)) {
    throw new PaasError('usage', `unknown process type ${JSON.stringify(type)}; the app runs: ${Object.keys(release.processes).sort().join(', ')}`);
  }
  const wanted = async (): Promise<ListedContainer[]> => {
    const current = (await readState(app)).current ?? release.version;
    return (await appContainers(app)).filter((c) => c.release === current && matchesProcess(filter, c.type, c.replica));
  };
  const containers = await wanted();
  const tag = (c: ListedContainer) => `${c.type}.${c.replica}`;

  if (!follow) {
    const collected: LogLine[] = [];
    await Promise.all(containers.map(async (c) => {
      const { stdout, stderr } = await docker(['logs', '--timestamps', '--tail', String(tail), c.id], { check: false, timeoutMs: 60_000 });
      for (const line of `${stdout}${stderr}`.split('\n').filter(Boolean)) collected.push({ process: tag(c), ...parseTimestamped(line) });
    }));
    const merged = mergeLogLines(collected, tail);
    merged.forEach(sendLog);
    return { lines: merged.length, processes: containers.map(tag) };
  }

  // Follow: lines gather for 200 ms and go out in time order; new containers (a deploy, a
  // restart) are picked up every 2 s.
  const children = new Map<string, ChildProcess>();
  let buffer: LogLine[] = [];
  let sent = 0;
  const flush = () => {
    const out = mergeLogLines(buffer);
    buffer = [];
    out.forEach(sendLog);
    sent += out.length;
  };
  const attach = (c: ListedContainer, initialTail: string) => {
    const child = start('docker', ['logs', '--timestamps', '--follow', '--tail', initialTail, c.id], ['ignore', 'pipe', 'pipe']);
    children.set(c.name, child);
    const onLine = (line: string) => { if (line) buffer.push({ process: tag(c), ...parseTimestamped(line) }); };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.on('error', () => {});
  };
  containers.forEach((c) => attach(c, String(tail)));
  await new Promise<void>((resolve) => {
    const flushTimer = setInterval(flush, 200);
    const scanTimer = setInterval(() => {
      wanted().then((now) => now.filter((c) => !children.has(c.name)).forEach((c) => attach(c, 'all')), () => {});
    }, 2000);
    const stop = () => {
      clearInterval(flushTimer);
      clearInterval(scanTimer);
      for (const child of children.values()) child.kill('SIGTERM');
      resolve();
    };
    stdin.on('end', stop);
    stdin.on('close', stop);
    stdin.on('error', stop);
    stdin.resume();
  });
  flush();
  return { lines: sent, processes: [...children.keys()] };
}

export const PS_VERBS: Record<string, (context: VerbContext) => Promise<unknown>> = { ps, scale, restart, logs };
