/**
 * An app's processes on this host: what runs (ps), a new formation (scale, a release through the
 * rollout), a rolling restart (no release), and the logs of the current release's containers.
 */
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { releaseEnv } from '../config/changes.js';
import { PaasError } from '../errors.js';
import { LABEL } from '../release/containers.js';
import { appContainerIdsArgv, inspectArgv, logsArgv, restartArgv, serviceLogLinesArgv, statsArgv } from '../release/docker.js';
import { parseServiceLogLine, serviceName } from '../release/swarm.js';
import { effectiveFormation, formationText, parseFormationArgs } from '../release/formation.js';
import { planRestart } from '../release/plan.js';
import {
  INSPECT_FORMAT, PROCESS_FILTER, matchesProcess, mergeLogLines, parseStatsLine, parseTimestamped, rowFromInspect,
  type InspectLine, type LogLine, type ProcessRow,
} from '../release/ps.js';
import { WEB, type ReleaseSpec } from '../release/types.js';
import { CRON_PROCESS, cronRuns } from './cron.js';
import { HOST_PROCESS, appEventsSize, readAppEvents, readAppEventsFrom } from './app-events.js';
import { readAppConfig } from './config-store.js';
import { appContainers, removeContainers } from './containers.js';
import { docker, start } from './exec.js';
import { failpoint } from './failpoints.js';
import { readFormationOverride } from './formation-store.js';
import { removeIntent, writeIntent, type RestartIntent } from './intents.js';
import { switchRoutes } from './nginx.js';
import { allocatePorts } from './ports.js';
import type { Emit, PsResult, RestartResult, StartedContainer } from './protocol.js';
import { requireCurrentRelease, specFromRelease } from './releases.js';
import { drainInBackground, startHealthy } from './rollout.js';
import { readSettings } from './settings.js';
import { volumeText } from '../release/volumes.js';
import { linkedServices } from './services.js';
import { readState } from './state.js';

/** Containers of the app with their state, uptime, CPU, memory and limits. */
export async function processTable(app: string): Promise<PsResult> {
  const state = await readState(app);
  const ids = (await docker(appContainerIdsArgv(`${LABEL.app}=${app}`), { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  const release = state.releases.find((r) => r.version === state.current);
  const base = {
    app, ...(state.current !== undefined ? { current: state.current } : {}), formation: release?.formation ?? {}, limits: release?.limits ?? {},
    volumes: (release?.volumes ?? []).map(volumeText),
    services: await linkedServices(app),
  };
  if (release?.engine === 'swarm') {
    const { swarmProcesses } = await import('./swarm.js');
    return { ...base, processes: await swarmProcesses(app) };
  }
  if (ids.length === 0) return { ...base, processes: [] };
  const now = Date.now();
  const inspected = await docker(inspectArgv(INSPECT_FORMAT, ids), { check: false, timeoutMs: 60_000 });
  const rows: ProcessRow[] = inspected.stdout.split('\n').filter(Boolean).map((line) => rowFromInspect(JSON.parse(line) as InspectLine, now));
  const running = rows.filter((r) => r.state === 'running').map((r) => r.container);
  if (running.length) {
    const stats = await docker(statsArgv(running), { check: false, timeoutMs: 60_000 });
    const byName = new Map(stats.stdout.split('\n').map(parseStatsLine).filter((s) => s !== undefined).map((s) => [s.name, s]));
    for (const row of rows) {
      const s = byName.get(row.container);
      if (s?.cpuPercent !== undefined) row.cpuPercent = s.cpuPercent;
      if (s?.memoryBytes !== undefined) row.memoryBytes = s.memoryBytes;
    }
  }
  return { ...base, processes: rows };
}

/**
 * The release a `ps:scale` rolls out: the current one with the change over the stored formation,
 * and that formation (stored once the release is live).
 */
export async function scaleRequest(app: string, assignments: string[], fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>, emit: Emit): Promise<{ spec: ReleaseSpec; formation: Record<string, number> }> {
  const release = requireCurrentRelease(await readState(app));
  const change = parseFormationArgs(assignments, Object.keys(release.processes));
  const formation = { ...((await readFormationOverride(app)) ?? {}), ...change };
  emit(`${formationText(release.formation)} -> ${formationText(effectiveFormation(release.formation, release.processes, formation))}`, 'start');
  return { spec: specFromRelease(app, release, { ...fields, description: `Scale ${formationText(change)}` }), formation };
}

/**
 * Rolling restart of the current release, without a new release (the caller holds the app's
 * lock). web: the same release starts again beside the running replicas as restart generation
 * N+1 (containers ...v7.r1, on new loopback ports), is health-checked, nginx switches to it, the
 * old replicas drain. Other types are restarted in place (stop, then start).
 */
export async function restartProcesses(app: string, only: string | undefined, by: string, emit: Emit): Promise<RestartResult> {
  const state = await readState(app);
  const release = requireCurrentRelease(state);
  const known = Object.keys(release.processes);
  if (only !== undefined && !known.includes(only)) {
    throw new PaasError('usage', `unknown process type ${JSON.stringify(only)}; the app runs: ${known.sort().join(', ')}`, { hint: 'name a type of the app\'s Procfile or paas.yml processes, or none to restart all' });
  }
  const types = known.filter((t) => (release.formation[t] ?? 0) > 0 && (only === undefined || t === only));
  if (types.length === 0) throw new PaasError('usage', `${only ?? 'no process type'} of ${app} has no replica running`, { hint: 'scale it up first: `paas ps:scale TYPE=1`' });
  const spec = specFromRelease(app, release, { version: release.version, createdBy: by, keepReleases: 5, description: release.description });
  if (release.engine === 'swarm') {
    const { swarmRestart } = await import('./swarm.js');
    return { app, version: release.version, types, restarted: await swarmRestart(spec, types, emit), draining: [] };
  }
  const existing = await appContainers(app);
  const web = types.includes(WEB);
  // The running release's config vars (config.enc is the active release's).
  const env = releaseEnv(spec.env, await readAppConfig(app));
  const ports = web ? await allocatePorts(release.formation[WEB]!) : [];
  const plan = planRestart(spec, types, existing, env, ports, await readSettings(app));
  const restarted: string[] = [];
  if (web) {
    emit(`web: starting ${ports.length} fresh replica(s) of v${release.version} beside the running ones (restart ${plan.generation})`, 'start');
    const intent: RestartIntent = { kind: 'restart', app, version: release.version, generation: plan.generation, pid: process.pid, since: new Date().toISOString() };
    await writeIntent(intent);
    let started: StartedContainer[] = [];
    try {
      started = await startHealthy(spec, plan.containers, [], ports, emit);
      // lb:set's strategy and weights stay (routesFor), as in every rollout.
      await switchRoutes(app, plan.routes!);
    } catch (error) {
      await removeContainers(started);
      await removeIntent(intent);
      throw error;
    }
    await failpoint('rollout-switched');
    emit(`nginx now routes ${app} to the fresh web replicas, without a reload`, 'switch');
    if (plan.drain.length) await drainInBackground(app, plan.drain, [], release.drainMs, release.stopTimeoutSeconds);
    await removeIntent(intent);
    restarted.push(...started.map((c) => c.name));
  }
  for (const group of plan.restartInPlace) {
    emit(`${group.type}: restarting ${group.ids.length} container(s) (SIGTERM, up to ${release.stopTimeoutSeconds} s, then start)`, 'restart');
    await docker(restartArgv(release.stopTimeoutSeconds, group.ids), { timeoutMs: (release.stopTimeoutSeconds + 60) * 1000 });
    restarted.push(...group.names);
  }
  return { app, version: release.version, types, restarted, draining: plan.drain };
}

/** Calls `onLine` for each line of a stream, decoded as UTF-8 across chunks (node:readline). */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/** A container's last `tail` lines, tagged with its process. */
async function containerLogLines(container: { id: string; tag: string }, tail: number): Promise<LogLine[]> {
  const { stdout, stderr } = await docker(logsArgv(container.id, tail, { timestamps: true }), { check: false, timeoutMs: 60_000 });
  return `${stdout}${stderr}`.split('\n').filter(Boolean).map((line) => ({ process: container.tag, ...parseTimestamped(line) }));
}

/** A cluster app's logs: every task's, from any node (Swarm gathers them on the manager). */
async function swarmLogs(request: LogsRequest, release: { processes: Record<string, unknown> }, type: string | undefined): Promise<{ lines: number; processes: string[] }> {
  const types = Object.keys(release.processes).filter((t) => type === undefined || t === type);
  if (request.follow) return followSwarmLogs(request, types);
  const collected: LogLine[] = [];
  const seen = new Set<string>();
  // Scheduled tasks run on this manager (cron.ts): their runs' lines come too, as on a single host.
  if (type === undefined || type === CRON_PROCESS) {
    const runs = (await cronRuns(request.app)).map((run) => ({ id: run.id, tag: `${CRON_PROCESS}.${run.task}` }));
    collected.push(...(await Promise.all(runs.map((run) => containerLogLines(run, request.tail)))).flat());
    for (const run of runs) seen.add(run.tag);
  }
  await Promise.all(types.map(async (t) => {
    const service = serviceName(request.app, t);
    const { stdout, stderr } = await docker(serviceLogLinesArgv(service, request.tail), { check: false, timeoutMs: 60_000 });
    for (const line of `${stdout}${stderr}`.split('\n')) {
      const parsed = parseServiceLogLine(line, service, t);
      if (!parsed || !matchesProcess(request.process, t, Number(parsed.process.split('.')[1]))) continue;
      seen.add(parsed.process);
      collected.push({ process: parsed.process, ...parseTimestamped(parsed.rest) });
    }
  }));
  const merged = mergeLogLines(collected, request.tail);
  merged.forEach(request.send);
  return { lines: merged.length, processes: [...seen].sort() };
}

/**
 * `logs --follow` of a cluster app: one `docker service logs --follow` per process type (Swarm
 * follows new tasks by itself, on any node); lines gather for 200 ms and go out in time order.
 */
async function followSwarmLogs(request: LogsRequest, types: string[]): Promise<{ lines: number; processes: string[] }> {
  let buffer: LogLine[] = [];
  let sent = 0;
  const seen = new Set<string>();
  const children = types.map((t) => {
    const service = serviceName(request.app, t);
    const child = start('docker', serviceLogLinesArgv(service, request.tail, { follow: true }), ['ignore', 'pipe', 'pipe']);
    const onLine = (line: string) => {
      const parsed = parseServiceLogLine(line, service, t);
      if (!parsed || !matchesProcess(request.process, t, Number(parsed.process.split('.')[1]))) return;
      seen.add(parsed.process);
      buffer.push({ process: parsed.process, ...parseTimestamped(parsed.rest) });
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.on('error', () => {});
    return child;
  });
  const flush = () => {
    const out = mergeLogLines(buffer);
    buffer = [];
    out.forEach(request.send);
    sent += out.length;
  };
  const timer = setInterval(flush, 200);
  await request.stopped;
  clearInterval(timer);
  for (const child of children) child.kill('SIGTERM');
  flush();
  return { lines: sent, processes: [...seen].sort() };
}

export interface LogsRequest {
  app: string;
  tail: number;
  process?: string;
  follow: boolean;
  /** Ends a follow (the client closed stdin). */
  stopped: Promise<void>;
  send: (line: LogLine) => void;
}

/**
 * Logs of the current release's containers, each line tagged with its process (web.1), in time
 * order (docker's timestamps). With `follow`, until `stopped`: then every `docker logs -f` child
 * is killed.
 */
export async function streamLogs(request: LogsRequest): Promise<{ lines: number; processes: string[] }> {
  const { app, tail, follow, send } = request;
  if (!Number.isInteger(tail) || tail < 0 || tail > 100_000) throw new PaasError('usage', '--tail: expected a whole number 0..100000');
  const filter = request.process;
  if (filter !== undefined && !PROCESS_FILTER.test(filter)) throw new PaasError('usage', `${JSON.stringify(filter)} is not a process type or process (such as web or web.1)`);
  const release = requireCurrentRelease(await readState(app));
  const type = filter?.split('.')[0];
  if (type !== undefined && type !== HOST_PROCESS && type !== CRON_PROCESS && !(type in release.processes)) {
    throw new PaasError('usage', `unknown process type ${JSON.stringify(type)}; the app runs: ${Object.keys(release.processes).sort().join(', ')}`);
  }
  if (release.engine === 'swarm') return swarmLogs(request, release, type);
  // Scheduled tasks' runs (cron.ts) come with every process's, or alone with -p cron, as cron.<task>.
  const cronLines = filter === undefined || filter === CRON_PROCESS;
  const wanted = async (): Promise<{ id: string; name: string; tag: string }[]> => {
    const current = (await readState(app)).current ?? release.version;
    const processes = (await appContainers(app)).filter((c) => c.release === current && matchesProcess(filter, c.type, c.replica))
      .map((c) => ({ id: c.id, name: c.name, tag: `${c.type}.${c.replica}` }));
    const runs = cronLines ? (await cronRuns(app)).map((run) => ({ id: run.id, name: run.name, tag: `${CRON_PROCESS}.${run.task}` })) : [];
    return [...processes, ...runs];
  };
  // The host's own lines (app-events.ts) come with every process's, or alone with -p paas.
  const hostLines = filter === undefined || filter === HOST_PROCESS;
  const containers = await wanted();
  const tag = (c: { tag: string }) => c.tag;

  if (!follow) {
    const collected = (await Promise.all(containers.map((c) => containerLogLines(c, tail)))).flat();
    if (hostLines) collected.push(...await readAppEvents(app, tail));
    const merged = mergeLogLines(collected, tail);
    merged.forEach(send);
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
    out.forEach(send);
    sent += out.length;
  };
  const attach = (c: { id: string; name: string; tag: string }, initialTail: number | 'all') => {
    const child = start('docker', logsArgv(c.id, initialTail, { timestamps: true, follow: true }), ['ignore', 'pipe', 'pipe']);
    children.set(c.name, child);
    const onLine = (line: string) => { if (line) buffer.push({ process: tag(c), ...parseTimestamped(line) }); };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.on('error', () => {});
  };
  containers.forEach((c) => attach(c, tail));
  let eventsFrom = 0;
  if (hostLines) {
    buffer.push(...await readAppEvents(app, tail));
    eventsFrom = await appEventsSize(app);
  }
  const flushTimer = setInterval(() => {
    if (!hostLines) return flush();
    readAppEventsFrom(app, eventsFrom).then(({ lines: added, next }) => { eventsFrom = next; buffer.push(...added); }, () => {}).finally(flush);
  }, 200);
  const scanTimer = setInterval(() => {
    wanted().then((now) => now.filter((c) => !children.has(c.name)).forEach((c) => attach(c, 'all')), () => {});
  }, 2000);
  await request.stopped;
  clearInterval(flushTimer);
  clearInterval(scanTimer);
  for (const child of children.values()) child.kill('SIGTERM');
  flush();
  return { lines: sent, processes: [...children.keys()] };
}
