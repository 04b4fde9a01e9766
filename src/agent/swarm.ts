/**
 * The Swarm engine on a host: the cluster itself (init, join, drain, leave, remove, what it
 * holds), a release as service updates (start-first, Swarm's own health check and rollback),
 * and each manager's routes to the tasks of every paas service on any node. Every request goes
 * to the Engine API over the local socket, with JSON bodies: tokens and config vars never travel
 * in argv. The decisions are in src/release/swarm.ts.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { PaasError } from '../errors.js';
import { BALANCE_STRATEGIES, type BalanceStrategy } from '../config/types.js';
import { checkClaims, siteFor } from '../release/settings.js';
import {
  CLUSTER_NETWORK, NODE_BUSYBOX, isReleaseImage, serviceImage, SWARM_LABEL, envFileText, envSecretName, releaseConfigName, releaseImage, releaseRecord, serviceName, serviceSpec,
  historyFromRecords, planSwarmSettlement, serviceTypes, staleReleaseTags, taskPeers, updateOutcome, type ImageProcess, type ServiceSpec, type SwarmNode, type SwarmTask,
} from '../release/swarm.js';
import { WEB, type AppState, type Release, type ReleaseSpec } from '../release/types.js';
import type { ProcessRow } from '../release/ps.js';
import { validateSpec } from '../release/validate.js';
import { pruneSnapshots, readAppConfig, readSnapshotIfKept, removeSnapshot, writeAppConfig, writeSnapshot } from './config-store.js';
import { failpoint } from './failpoints.js';
import { removeIntent, writeIntent, type SwarmIntent } from './intents.js';
import { releaseEnv } from '../config/changes.js';
import { runReleasePhase } from './release-phase.js';
import { apiName, engineGet, engineRequest } from './engine.js';
import { docker, run, sleep } from './exec.js';
import { applySite, currentRoutes, readSites, removeRoutes, removeSite, switchRoutes } from './nginx.js';
import type { ClusterView, Emit, RolloutResult } from './protocol.js';
import { appUrls, readHostInfo } from './releases.js';
import { renderRoutes } from '../nginx/config.js';
import { serviceLogsArgv } from '../release/docker.js';
import { readSettings } from './settings.js';
import { readState, writeState } from './state.js';

interface SwarmInfo {
  LocalNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked';
  NodeID: string;
  NodeAddr: string;
  ControlAvailable: boolean;
  Cluster?: { ID: string };
  RemoteManagers?: { NodeID: string; Addr: string }[] | null;
  Error?: string;
}

const NS_PER_S = 1e9;

async function swarmInfo(timeoutMs = 30_000): Promise<SwarmInfo> {
  const answer = await engineRequest<{ Swarm?: SwarmInfo }>('GET', '/info', undefined, timeoutMs);
  if (answer.status !== 200 || !answer.body?.Swarm) throw new PaasError('host', 'the Docker Engine did not say whether it is in a swarm', { hint: 'check the Docker Engine (`docker info`)' });
  return answer.body.Swarm;
}

function engineError(what: string, answer: { status: number; body: unknown }): PaasError {
  const message = (answer.body as { message?: string } | undefined)?.message ?? `status ${answer.status}`;
  return new PaasError('host', `the Docker Engine refused to ${what}: ${message}`, { hint: 'check the cluster with `paas cluster` and the Docker Engine\'s log on the host' });
}

/** Tasks run the launcher and health check with the node's static busybox: Debian's busybox-static, installed once. */
async function ensureBusybox(emit: Emit): Promise<void> {
  const installed = await run('dpkg-query', ['-W', '-f', '${Status}', 'busybox-static'], { check: false, timeoutMs: 10_000 });
  if (installed.stdout.includes('install ok installed')) return;
  emit('installing busybox-static (the tasks\' launcher and health check)', 'setup');
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'busybox-static'], { timeoutMs: 300_000, extraEnv: env }).catch(async () => {
    await run('apt-get', ['update'], { timeoutMs: 300_000, extraEnv: env });
    await run('apt-get', ['install', '-y', '--no-install-recommends', 'busybox-static'], { timeoutMs: 300_000, extraEnv: env });
  });
  await fs.access(NODE_BUSYBOX);
}

async function ensureClusterNetwork(): Promise<void> {
  const existing = await engineGet(`/networks/${CLUSTER_NETWORK}`);
  if (existing.status === 200) return;
  const answer = await engineRequest('POST', '/networks/create', {
    Name: CLUSTER_NETWORK, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: { [SWARM_LABEL.kind]: 'network' },
  });
  if (answer.status !== 201 && answer.status !== 409) throw engineError(`create the overlay network ${CLUSTER_NETWORK}`, answer);
}

/** An address the CLI gave for the cluster's traffic: an IPv4 literal only (it reaches the engine as data, still checked). */
export function checkAdvertiseAddress(value: string): string {
  if (!/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(value)) {
    throw new PaasError('usage', `${JSON.stringify(value)} is not an IPv4 address`, { hint: 'give the address the other nodes reach this host at, e.g. --advertise-addr 10.0.0.5' });
  }
  return value;
}

/** cluster:init: this host becomes the cluster's first manager (nothing happens when it already is one). */
export async function clusterInit(advertise: string | undefined, emit: Emit): Promise<ClusterView & { created: boolean }> {
  const info = await swarmInfo();
  if (info.LocalNodeState === 'active') {
    if (!info.ControlAvailable) throw new PaasError('usage', 'this host is a worker of a cluster already', { hint: 'run cluster:init on one of its managers, or cluster:leave first' });
    await ensureBusybox(emit);
    await ensureClusterNetwork();
    return { ...(await clusterView()), created: false };
  }
  await ensureBusybox(emit);
  const answer = await engineRequest('POST', '/swarm/init', {
    ListenAddr: '0.0.0.0:2377',
    ...(advertise ? { AdvertiseAddr: checkAdvertiseAddress(advertise) } : {}),
    // A node that stops answering is marked down after a few heartbeats: 2 s makes that ~10 s, not ~25 s.
    Spec: { Dispatcher: { HeartbeatPeriod: 2 * NS_PER_S }, Orchestration: { TaskHistoryRetentionLimit: 5 } },
  }, 60_000);
  if (answer.status !== 200) throw engineError('start a swarm', answer);
  emit('this host is the first manager of a new cluster', 'cluster');
  await ensureClusterNetwork();
  return { ...(await clusterView()), created: true };
}

/** The tokens a new node joins with, and where the managers listen (asked of a manager). */
export async function clusterToken(role: 'manager' | 'worker'): Promise<{ token: string; managers: string[] }> {
  const info = await swarmInfo();
  if (!info.ControlAvailable) throw new PaasError('usage', 'this host is not a manager of a cluster', { hint: 'give a manager with --manager (see `paas cluster`), or run `paas cluster:init` first' });
  const swarm = await engineGet<{ JoinTokens?: { Worker: string; Manager: string } }>('/swarm');
  if (swarm.status !== 200 || !swarm.body?.JoinTokens) throw engineError('tell the join tokens', swarm);
  const managers = (info.RemoteManagers ?? []).map((m) => m.Addr);
  return { token: role === 'manager' ? swarm.body.JoinTokens.Manager : swarm.body.JoinTokens.Worker, managers: managers.length ? managers : [`${info.NodeAddr}:2377`] };
}

/** The join request the CLI hands over on stdin: never in argv. */
export function checkJoinRequest(value: unknown): { token: string; managers: string[]; advertise?: string } {
  const request = value as { token?: unknown; managers?: unknown; advertise?: unknown };
  if (typeof request?.token !== 'string' || !/^SWMTKN-1-[a-z0-9-]{20,200}$/.test(request.token)) throw new PaasError('usage', 'the join request has no valid swarm token');
  if (!Array.isArray(request.managers) || request.managers.length === 0 || request.managers.length > 7
    || !request.managers.every((m) => typeof m === 'string' && /^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/.test(m))) {
    throw new PaasError('usage', 'the join request lists no valid manager addresses (IPv4:port)');
  }
  const advertise = typeof request.advertise === 'string' ? checkAdvertiseAddress(request.advertise) : undefined;
  return { token: request.token, managers: request.managers as string[], ...(advertise ? { advertise } : {}) };
}

/** cluster:join: this host joins the cluster of `managers` (nothing happens when it is in it already). */
export async function clusterJoin(request: { token: string; managers: string[]; advertise?: string }, emit: Emit): Promise<{ joined: boolean; nodeId: string; manager: boolean }> {
  const info = await swarmInfo();
  if (info.LocalNodeState === 'active') {
    const known = (info.RemoteManagers ?? []).map((m) => m.Addr);
    if (request.managers.some((m) => known.includes(m))) return { joined: false, nodeId: info.NodeID, manager: info.ControlAvailable };
    throw new PaasError('usage', `this host is in another cluster (its managers: ${known.join(', ') || 'unknown'})`, { hint: 'run `paas cluster:leave` on it first' });
  }
  await ensureBusybox(emit);
  const answer = await engineRequest('POST', '/swarm/join', {
    ListenAddr: '0.0.0.0:2377', RemoteAddrs: request.managers, JoinToken: request.token,
    ...(request.advertise ? { AdvertiseAddr: request.advertise } : {}),
  }, 90_000);
  if (answer.status !== 200) throw engineError('join the cluster', answer);
  const joined = await swarmInfo();
  emit(`joined the cluster as a ${joined.ControlAvailable ? 'manager' : 'worker'}`, 'cluster');
  return { joined: true, nodeId: joined.NodeID, manager: joined.ControlAvailable };
}

async function listNodes(): Promise<SwarmNode[]> {
  const answer = await engineGet<SwarmNode[]>('/nodes');
  if (answer.status !== 200 || !answer.body) throw engineError('list the nodes', answer);
  return answer.body;
}

interface SwarmService { ID: string; Version: { Index: number }; Spec: ServiceSpec; PreviousSpec?: ServiceSpec; UpdateStatus?: { State?: string; Message?: string; StartedAt?: string } }

async function paasServices(app?: string): Promise<SwarmService[]> {
  const filters = JSON.stringify({ label: [app ? `${SWARM_LABEL.app}=${app}` : SWARM_LABEL.app] });
  const answer = await engineGet<SwarmService[]>(`/services?filters=${encodeURIComponent(filters)}`);
  if (answer.status !== 200 || !answer.body) throw engineError('list the services', answer);
  return answer.body;
}

async function tasksOf(filters: Record<string, string[]>): Promise<SwarmTask[]> {
  const answer = await engineGet<SwarmTask[]>(`/tasks?filters=${encodeURIComponent(JSON.stringify(filters))}`);
  if (answer.status !== 200 || !answer.body) throw engineError('list the tasks', answer);
  return answer.body;
}

/** `paas cluster`: the nodes, their role and state, and the apps' services (on a manager; a worker tells only itself). */
export async function clusterView(): Promise<ClusterView> {
  const info = await swarmInfo();
  const self = {
    state: info.LocalNodeState, manager: info.ControlAvailable,
    ...(info.NodeID ? { nodeId: info.NodeID } : {}), ...(info.NodeAddr ? { address: info.NodeAddr } : {}), ...(info.Cluster?.ID ? { cluster: info.Cluster.ID } : {}),
  };
  if (!info.ControlAvailable) return { self, nodes: [], apps: [] };
  const [nodes, services, tasks] = await Promise.all([listNodes(), paasServices(), tasksOf({ 'desired-state': ['running'] })]);
  const serviceById = new Map(services.map((s) => [s.ID, s]));
  return {
    self,
    nodes: nodes.map((node) => ({
      id: node.ID, hostname: node.Description?.Hostname ?? '', role: node.Spec.Role, availability: node.Spec.Availability, state: node.Status.State,
      address: node.Status.Addr ?? '', leader: node.ManagerStatus?.Leader === true,
      ...(node.ManagerStatus?.Reachability ? { reachability: node.ManagerStatus.Reachability } : {}),
      tasks: tasks.filter((t) => t.NodeID === node.ID && t.Status.State === 'running' && serviceById.has(t.ServiceID))
        .map((t) => { const labels = serviceById.get(t.ServiceID)!.Spec.Labels; return `${labels[SWARM_LABEL.app]}/${labels[SWARM_LABEL.process]}`; }),
    })),
    apps: services.map((s) => ({
      app: s.Spec.Labels[SWARM_LABEL.app] ?? '', type: s.Spec.Labels[SWARM_LABEL.process] ?? '', release: Number(s.Spec.Labels[SWARM_LABEL.release] ?? 0),
      replicas: s.Spec.Mode.Replicated.Replicas, running: tasks.filter((t) => t.ServiceID === s.ID && t.Status.State === 'running').length,
    })),
  };
}

/** A node named by the CLI: its ID, an ID prefix of 6+ characters, or its hostname. */
async function findNode(name: string): Promise<SwarmNode> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new PaasError('usage', `${JSON.stringify(name)} is not a node ID or hostname`);
  const nodes = await listNodes();
  const matches = nodes.filter((n) => n.ID === name || (name.length >= 6 && n.ID.startsWith(name)) || n.Description?.Hostname === name);
  if (matches.length !== 1) {
    throw new PaasError('usage', matches.length ? `${name} names ${matches.length} nodes` : `no node ${name} in the cluster`, { hint: `nodes: ${nodes.map((n) => `${n.ID.slice(0, 12)} (${n.Description?.Hostname ?? '?'})`).join(', ')}` });
  }
  return matches[0]!;
}

async function updateNode(node: SwarmNode, change: Partial<SwarmNode['Spec']>): Promise<void> {
  const answer = await engineRequest('POST', `/nodes/${node.ID}/update?version=${node.Version?.Index ?? 0}`, { ...node.Spec, ...change });
  if (answer.status !== 200) throw engineError(`update node ${node.ID.slice(0, 12)}`, answer);
}

/**
 * Drains a node (its tasks start on the others first: Swarm's rescheduling), waits until none
 * runs there (bounded), and demotes it when it is a manager and not the last one.
 */
export async function clusterDrain(name: string, emit: Emit, waitMs = 120_000): Promise<{ node: string; drained: boolean; demoted: boolean }> {
  let node = await findNode(name);
  if (node.Spec.Availability !== 'drain') await updateNode(node, { Availability: 'drain' });
  emit(`draining ${node.Description?.Hostname ?? node.ID}: its tasks move to the other nodes`, 'cluster');
  const deadline = Date.now() + waitMs;
  let running = 0;
  for (;;) {
    running = (await tasksOf({ node: [node.ID], 'desired-state': ['running'] })).length;
    if (running === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  let demoted = false;
  node = await findNode(node.ID);
  if (node.Spec.Role === 'manager') {
    const managers = (await listNodes()).filter((n) => n.Spec.Role === 'manager' && n.Status.State === 'ready');
    if (managers.length > 1) {
      await updateNode(node, { Role: 'worker' });
      demoted = true;
      // The demoted node leaves the Raft group: wait until the others agree it is a worker.
      const until = Date.now() + 30_000;
      while (Date.now() < until && (await findNode(node.ID)).ManagerStatus) await sleep(500);
    }
  }
  return { node: node.ID, drained: running === 0, demoted };
}

/** cluster:leave on the node itself (after clusterDrain on a manager). A last manager leaves only with `force`. */
export async function clusterLeave(force: boolean, emit: Emit): Promise<{ left: boolean; nodeId?: string }> {
  const info = await swarmInfo();
  if (info.LocalNodeState === 'inactive') return { left: false };
  if (info.ControlAvailable && !force) {
    const managers = (await listNodes()).filter((n) => n.Spec.Role === 'manager');
    if (managers.length > 1) throw new PaasError('usage', 'this host is still a manager', { hint: 'drain and demote it first (`paas cluster:leave` does, through another manager)' });
    throw new PaasError('usage', 'this host is the last manager: leaving ends the cluster and its services', { hint: 'remove the other nodes first, then run `paas cluster:leave --force`' });
  }
  const answer = await engineRequest('POST', `/swarm/leave?force=${force ? 'true' : 'false'}`, undefined, 60_000);
  if (answer.status !== 200) throw engineError('leave the cluster', answer);
  emit('this host has left the cluster', 'cluster');
  return { left: true, nodeId: info.NodeID };
}

/** cluster:remove: forgets a node (drained first when it still answers); one that has not left is removed by force. */
export async function clusterRemove(name: string, emit: Emit): Promise<{ removed: string }> {
  const node = await findNode(name);
  if (node.Status.State === 'ready') await clusterDrain(node.ID, emit, 60_000);
  const down = (await findNode(node.ID)).Status.State !== 'ready';
  const answer = await engineRequest('DELETE', `/nodes/${node.ID}?force=${down ? 'false' : 'true'}`);
  if (answer.status !== 200) throw engineError(`remove node ${node.ID.slice(0, 12)}`, answer);
  emit(`node ${node.Description?.Hostname ?? node.ID} removed from the cluster`, 'cluster');
  return { removed: node.ID };
}

async function tagImage(image: string, app: string, version: number): Promise<void> {
  const answer = await engineRequest('POST', `/images/${apiName(image)}/tag?repo=${encodeURIComponent(`paas/${app}`)}&tag=v${version}`);
  if (answer.status !== 201) throw engineError(`tag ${image} as ${releaseImage(app, version)}`, answer);
}

/** Old release tags of the app on this node: the newest `keep` stay for rollbacks. */
async function pruneReleaseImages(app: string, keep: number): Promise<string[]> {
  const answer = await engineGet<{ RepoTags?: string[] | null }[]>(`/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [`paas/${app}`] }))}`);
  const tags = (answer.body ?? []).flatMap((i) => i.RepoTags ?? []);
  const stale = staleReleaseTags(tags, app, keep);
  for (const tag of stale) await engineRequest('DELETE', `/images/${apiName(tag)}`);
  return stale;
}

/** A node that is not the manager of the release: the image is here (pushed or built); it is tagged for the release, old ones pruned. */
export async function swarmPrepare(spec: ReleaseSpec, emit: Emit): Promise<RolloutResult> {
  validateSpec(spec);
  const image = await engineGet(`/images/${apiName(spec.image)}/json`);
  if (image.status !== 200) throw new PaasError('host', `the image ${spec.image} is not on this host`, { hint: 'push it first (paas deploy does)' });
  await tagImage(spec.image, spec.app, spec.version);
  const pruned = await pruneReleaseImages(spec.app, spec.keepReleases);
  emit(`image ready for v${spec.version} (${releaseImage(spec.app, spec.version)}); Swarm starts tasks here`, 'start');
  const host = await readHostInfo();
  return { app: spec.app, version: spec.version, image: spec.image, containers: [], draining: [], pruning: pruned, switchMs: 0, urls: appUrls(spec.app, spec.domains, host), timings: {} };
}

async function imageProcess(image: string): Promise<ImageProcess> {
  const answer = await engineGet<{ Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } }>(`/images/${apiName(image)}/json`);
  if (answer.status !== 200) throw new PaasError('host', `the image ${image} is not on this host`, { hint: 'push it first (paas deploy does)' });
  return { entrypoint: answer.body?.Config?.Entrypoint ?? [], cmd: answer.body?.Config?.Cmd ?? [] };
}

/** The release's env secret (named after its content: a retried release finds it; secrets cannot change). */
async function ensureEnvSecret(app: string, version: number, env: Record<string, string>): Promise<{ id: string; name: string }> {
  const text = envFileText(env);
  const name = `${envSecretName(app, version)}-${createHash('sha256').update(text).digest('hex').slice(0, 10)}`;
  const existing = await engineGet<{ ID: string }>(`/secrets/${encodeURIComponent(name)}`);
  if (existing.status === 200 && existing.body) return { id: existing.body.ID, name };
  const answer = await engineRequest<{ ID?: string }>('POST', '/secrets/create', {
    Name: name, Labels: { [SWARM_LABEL.app]: app, [SWARM_LABEL.release]: String(version), [SWARM_LABEL.kind]: 'env' }, Data: Buffer.from(text).toString('base64'),
  });
  if (answer.status !== 201 || !answer.body?.ID) throw engineError(`create the secret ${name}`, answer);
  return { id: answer.body.ID, name };
}

/**
 * Secrets and release records of the app's releases that are not among `keep` (Docker refuses to
 * remove a secret a service still uses); how many the engine refused to remove.
 */
async function pruneReleaseObjects(app: string, keep: Set<number>): Promise<number> {
  let left = 0;
  for (const kind of ['secrets', 'configs'] as const) {
    const answer = await engineGet<{ ID: string; Spec: { Labels?: Record<string, string> } }[]>(`/${kind}?filters=${encodeURIComponent(JSON.stringify({ label: [`${SWARM_LABEL.app}=${app}`] }))}`);
    for (const item of answer.body ?? []) {
      if (!keep.has(Number(item.Spec.Labels?.[SWARM_LABEL.release])) && (await engineRequest('DELETE', `/${kind}/${item.ID}`)).status >= 300) left += 1;
    }
  }
  return left;
}

/** The app's state on this host; on a manager that has none, the cluster's release history (clusterHistory). */
export async function readStateOrHistory(app: string): Promise<AppState> {
  const state = await readState(app);
  if (state.releases.length) return state;
  return (await clusterHistory(app).catch(() => undefined)) ?? state;
}

/**
 * The app's releases as the cluster keeps them (release records: Swarm configs, replicated to
 * every manager), for a manager that has none on its disk: it stands in for the one that kept
 * them. Undefined off a manager or with no record.
 */
export async function clusterHistory(app: string, keep = 100): Promise<AppState | undefined> {
  const info = await swarmInfo(2000).catch(() => undefined);
  if (!info?.ControlAvailable) return undefined;
  const filters = encodeURIComponent(JSON.stringify({ label: [`${SWARM_LABEL.app}=${app}`, `${SWARM_LABEL.kind}=release`] }));
  const listed = await engineGet<{ Spec: { Data?: string } }[]>(`/configs?filters=${filters}`);
  const records = (listed.body ?? []).flatMap((c) => (c.Spec.Data ? [Buffer.from(c.Spec.Data, 'base64').toString('utf8')] : []));
  if (records.length === 0) return undefined;
  const web = (await paasServices(app)).find((s) => s.Spec.Labels[SWARM_LABEL.process] === WEB);
  const serving = web ? Number(web.Spec.Labels[SWARM_LABEL.release]) : undefined;
  return historyFromRecords(app, records, serving, keep);
}

async function keepReleaseConfig(spec: ReleaseSpec): Promise<void> {
  const name = releaseConfigName(spec.app, spec.version);
  await engineRequest('DELETE', `/configs/${encodeURIComponent(name)}`);
  const answer = await engineRequest('POST', '/configs/create', {
    Name: name, Labels: { [SWARM_LABEL.app]: spec.app, [SWARM_LABEL.release]: String(spec.version), [SWARM_LABEL.kind]: 'release' },
    Data: Buffer.from(JSON.stringify(releaseRecord({ ...spec, image: serviceImage(spec) }, new Date().toISOString()))).toString('base64'),
  });
  if (answer.status !== 201) throw engineError(`record release v${spec.version}`, answer);
}

/** The last lines of a service's tasks' output, from every node (the manager gathers them). */
async function serviceLogTail(name: string, lines = 20): Promise<string[]> {
  const { stdout, stderr } = await docker(serviceLogsArgv(name, lines), { check: false, timeoutMs: 15_000 });
  return `${stdout}${stderr}`.split('\n').filter(Boolean).slice(-lines);
}

/** Why tasks of the release failed, as Swarm recorded it. */
async function taskErrors(serviceId: string, version: number): Promise<string[]> {
  const tasks = await tasksOf({ service: [serviceId] });
  return tasks.filter((t) => t.Spec?.ContainerSpec?.Labels?.[SWARM_LABEL.release] === String(version) && (t.Status.Err || ['failed', 'rejected'].includes(t.Status.State)))
    .slice(0, 5).map((t) => `task ${t.ID.slice(0, 12)}: ${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ''}`);
}

/**
 * Creates or updates one service and waits until Swarm says how it went. An update Swarm does
 * not start (the service runs this release already: a release retried after a kill) is done
 * once its tasks run; `restart` (a forced update of the same release) always waits for Swarm.
 */
async function applyService(spec: ReleaseSpec, type: string, body: ServiceSpec, emit: Emit, deadlineMs: number, options: { restart?: boolean } = {}): Promise<{ id: string; created: boolean }> {
  const name = serviceName(spec.app, type);
  const existing = await engineGet<SwarmService>(`/services/${encodeURIComponent(name)}`);
  const started = Date.now();
  let id: string;
  let created = false;
  if (existing.status === 200 && existing.body) {
    id = existing.body.ID;
    const answer = await engineRequest('POST', `/services/${id}/update?version=${existing.body.Version.Index}`, body);
    if (answer.status !== 200) throw engineError(`update the service ${name}`, answer);
  } else {
    const answer = await engineRequest<{ ID?: string }>('POST', '/services/create', body);
    if (answer.status !== 201 || !answer.body?.ID) throw engineError(`create the service ${name}`, answer);
    id = answer.body.ID;
    created = true;
  }
  const replicas = body.Mode.Replicated.Replicas;
  let lastLine = '';
  for (;;) {
    const [service, tasks] = await Promise.all([engineGet<SwarmService>(`/services/${id}`), tasksOf({ service: [id], 'desired-state': ['running'] })]);
    const status = service.body?.UpdateStatus;
    const fresh = !created && status?.StartedAt !== undefined && Date.parse(status.StartedAt) >= started - 2000;
    const running = tasks.filter((t) => t.Status.State === 'running' && t.Spec?.ContainerSpec?.Labels?.[SWARM_LABEL.release] === String(spec.version)).length;
    const line = `${type}: ${running}/${replicas} task(s) of v${spec.version} running and healthy`;
    if (line !== lastLine) { emit(line, 'health'); lastLine = line; }
    const settledBefore = !created && !options.restart && !fresh && Date.now() - started > 5000 && updateOutcome(status) === 'completed';
    const outcome = fresh || settledBefore ? updateOutcome(status) : 'updating';
    if (outcome === 'rolled-back' || outcome === 'paused') {
      const details = [...(status?.Message ? [`Swarm: ${status.Message}`] : []), ...(await taskErrors(id, spec.version)), ...(await serviceLogTail(name)).map((l) => `log: ${l}`)];
      throw new PaasError('healthcheck', `v${spec.version} of ${spec.app} failed on the cluster; Swarm ${outcome === 'rolled-back' ? 'rolled the service back: the previous release keeps serving' : 'paused the update'}`, {
        details, hint: 'fix the app (see its log above), then deploy again',
      });
    }
    // A new service is done once its tasks run; an update once Swarm says it completed.
    if (running >= replicas && (created || outcome === 'completed')) return { id, created };
    if (Date.now() - started > deadlineMs) {
      const details = [...(await taskErrors(id, spec.version)), ...(await serviceLogTail(name)).map((l) => `log: ${l}`)];
      if (created) await engineRequest('DELETE', `/services/${id}`);
      throw new PaasError('healthcheck', `v${spec.version} of ${spec.app}: ${type} did not get ${replicas} healthy task(s) within ${Math.round(deadlineMs / 1000)} s`, {
        details, hint: created ? 'the new service was removed; fix the app and deploy again' : 'Swarm goes on with the update; see `paas cluster` and the app\'s log',
      });
    }
    await sleep(500);
  }
}

/**
 * The release on the cluster, run on a manager: its image tagged, its config vars in a new
 * secret, its record kept, each process type's service created or updated (start-first, one
 * task at a time, rolled back by Swarm when the new tasks do not become healthy), then this
 * manager's routes at once (every manager's host service keeps its own).
 */
export async function swarmRelease(spec: ReleaseSpec, emit: Emit, configOverride?: Record<string, string>, options: { releasePhase?: boolean } = {}): Promise<RolloutResult> {
  validateSpec(spec);
  const t0 = Date.now();
  const info = await swarmInfo();
  if (!info.ControlAvailable) throw new PaasError('host', 'the first host of the app is not a manager of a cluster', { hint: 'list a manager first in paas.yml hosts (see `paas cluster`), or run `paas cluster:init` there' });
  if (spec.volumes?.length) {
    throw new PaasError('config', `${spec.app} declares volumes, and the swarm engine has no volume shared by its nodes`, { hint: 'keep the app on the single-host engine, or keep its state in a service (Postgres, Redis) it reaches over the network' });
  }
  const state = await readStateOrHistory(spec.app);
  const config = configOverride ?? await readAppConfig(spec.app);
  const standIn = (await readState(spec.app)).releases.length === 0 && state.releases.length > 0;
  const lostVars = standIn ? (state.releases.find((r) => r.version === state.current)?.configVars ?? []) : [];
  if (!configOverride && lostVars.some((name) => !(name in config))) {
    // Swarm secrets cannot be read back: a release now would run without them.
    throw new PaasError('config', `this manager stands in for the one that kept ${spec.app}'s releases, and does not have its config vars ${lostVars.join(', ')}`, {
      hint: `set them here first (paas config:set ${lostVars.map((n) => `${n}=...`).join(' ')} --host THIS-MANAGER), then deploy`,
    });
  }
  // Names another app of this manager answers to are refused before anything changes (each
  // manager's host service checks them again when it routes the app).
  const host = await readHostInfo();
  const site = siteFor(spec.app, host.baseDomain, spec.domains, await readSettings(spec.app));
  checkClaims(spec.app, site.serverNames, (await readSites()).sites.filter((s) => s.app !== spec.app).map((s) => ({ app: s.app, names: s.serverNames })), host.baseDomain);
  if (!isReleaseImage(spec.app, spec.image)) await tagImage(spec.image, spec.app, spec.version);
  const [image, secret] = await Promise.all([imageProcess(spec.image), ensureEnvSecret(spec.app, spec.version, config)]);
  await ensureClusterNetwork();
  // The release records the names of its config vars (their values: the secret and this manager's snapshot).
  spec = { ...spec, configVars: Object.keys(config).sort() };
  emit(`v${spec.version}: ${spec.description}, on the cluster (start-first, one task at a time)`, 'start');
  // Intent first: an agent killed from here on leaves it, and the next one finishes the release
  // when Swarm completed it, or undoes it (settleSwarmRelease).
  const intent: SwarmIntent = {
    kind: 'swarm', app: spec.app, version: spec.version, ...(state.current !== undefined ? { previous: state.current } : {}),
    record: releaseRecord({ ...spec, image: serviceImage(spec) }, new Date().toISOString()), keepReleases: spec.keepReleases, pid: process.pid, since: new Date().toISOString(),
  };
  await writeSnapshot(spec.app, spec.version, config);
  await writeIntent(intent);
  await failpoint('swarm-intent-written');
  try {
    await keepReleaseConfig(spec);
    // The release phase runs once, on this manager (a container of the new image on the app's own network), before any task starts.
    if (spec.releaseCommand && options.releasePhase !== false) await runReleasePhase(spec, releaseEnv(spec.env, config), emit);
    const placement = spec.placement;
    for (const type of serviceTypes(spec)) {
      const body = serviceSpec(spec, type, { secret, image, ...(placement ? { placement } : {}) });
      const deadline = 60_000 + 30_000 * Math.max(1, body.Mode.Replicated.Replicas);
      await applyService(spec, type, body, emit, deadline);
      await failpoint('swarm-service-applied');
    }
  } catch (error) {
    // Swarm may go on with what it was given (an update past paas's deadline): then the next
    // agent settles it; else nothing of the release is left to settle.
    const going = (await paasServices(spec.app).catch(() => [])).some((s) => s.Spec.Labels[SWARM_LABEL.release] === String(spec.version) && updateOutcome(s.UpdateStatus) === 'updating');
    if (going) await writeIntent({ ...intent, pid: 0 });
    else {
      if (!state.releases.some((r) => r.version === spec.version)) {
        await removeSnapshot(spec.app, spec.version);
        await engineRequest('DELETE', `/configs/${encodeURIComponent(releaseConfigName(spec.app, spec.version))}`).catch(() => undefined);
      }
      await removeIntent(intent);
    }
    throw error;
  }
  await removeRetiredServices(spec.app, spec.processes);
  await recordSwarmRelease(spec.app, intent.record, config, spec.keepReleases);
  await removeIntent(intent);
  const pruning = await pruneReleaseImages(spec.app, spec.keepReleases);
  const t1 = Date.now();
  // The release is recorded: another app's clash on this manager does not make it fail.
  await syncSwarmRoutes().catch((error: Error) => emit(`routes on this manager: ${error.message}`, 'switch'));
  emit(`${spec.app} v${spec.version} runs on the cluster; every manager's nginx routes to its healthy tasks`, 'switch');
  return {
    app: spec.app, version: spec.version, image: serviceImage(spec),
    ...(state.current !== undefined ? { previous: state.current } : {}),
    containers: [], draining: [], pruning, switchMs: Date.now() - t1, urls: appUrls(spec.app, spec.domains, host), timings: { total: Date.now() - t0 },
  };
}

/** Process types a release no longer has: their services go. */
async function removeRetiredServices(app: string, processes: Record<string, unknown>): Promise<void> {
  for (const service of await paasServices(app)) {
    const type = service.Spec.Labels[SWARM_LABEL.process] ?? '';
    if (!(type in processes)) await engineRequest('DELETE', `/services/${service.ID}`);
  }
}

/** The release as the app's current one on this manager: state, config vars, and what older releases no longer need. */
async function recordSwarmRelease(app: string, record: Release, config: Record<string, string>, keepReleases: number): Promise<Release[]> {
  const state = await readStateOrHistory(app);
  const releases = [...state.releases.filter((r) => r.version !== record.version).map((r) => ({ ...r, status: 'superseded' as const })), { ...record, status: 'active' as const }];
  const kept = releases.slice(-keepReleases);
  const next = { app, current: record.version, releases: kept };
  await writeState(next);
  await writeAppConfig(app, config);
  await pruneReleaseObjects(app, new Set(kept.map((r) => r.version)));
  await pruneSnapshots(next, keepReleases);
  return kept;
}

/**
 * A cluster release an agent left (its intent, intents.ts), settled from what Swarm shows:
 * every service of the release carries it and Swarm completed the update: recorded as the
 * agent would have; otherwise undone (services Swarm updated are rolled back to their previous
 * spec, ones it created go). Nothing is decided while Swarm still updates, or off a manager:
 * undefined, and the intent stays for the next agent.
 */
export async function settleSwarmRelease(intent: SwarmIntent): Promise<string | undefined> {
  const info = await swarmInfo(5000).catch(() => undefined);
  if (!info?.ControlAvailable) return undefined;
  const { app, version } = intent;
  const services = await paasServices(app);
  const byId = new Map(services.map((s) => [s.ID, s]));
  const settling = await Promise.all(services.map(async (s) => {
    const release = Number(s.Spec.Labels[SWARM_LABEL.release] ?? 0);
    const tasks = await tasksOf({ service: [s.ID], 'desired-state': ['running'] });
    const running = tasks.filter((t) => t.Status.State === 'running' && t.Spec?.ContainerSpec?.Labels?.[SWARM_LABEL.release] === String(release)).length;
    return {
      id: s.ID, type: s.Spec.Labels[SWARM_LABEL.process] ?? '', release, update: s.UpdateStatus ?? {}, hasPrevious: s.PreviousSpec !== undefined,
      running, replicas: s.Spec.Mode.Replicated.Replicas,
    };
  }));
  // A first release whose tasks never run is given up after 5 minutes (Swarm has nothing to roll back to).
  const plan = planSwarmSettlement(version, serviceTypes(intent.record), settling, Date.now() - Date.parse(intent.since) > 300_000);
  if (plan.action === 'wait') return undefined;
  if (plan.action === 'finish') {
    for (const id of plan.retire) await engineRequest('DELETE', `/services/${id}`);
    const config = await readSnapshotIfKept(app, version) ?? await readAppConfig(app);
    await recordSwarmRelease(app, intent.record, config, intent.keepReleases);
    await removeIntent(intent);
    return `finished v${version} on the cluster that an agent left: Swarm had completed its update`;
  }
  const undone: string[] = [];
  for (const id of [...plan.rollBack, ...plan.remove]) {
    const service = byId.get(id)!;
    const rollBack = plan.rollBack.includes(id);
    const answer = rollBack
      ? await engineRequest('POST', `/services/${id}/update?version=${service.Version.Index}&rollback=previous`, service.Spec)
      : await engineRequest('DELETE', `/services/${id}`);
    if (answer.status !== 200) throw engineError(`undo v${version} of the service ${service.Spec.Name}`, answer);
    undone.push(`${service.Spec.Name} ${rollBack ? 'rolled back' : 'removed'}`);
  }
  const state = await readState(app);
  if (!state.releases.some((r) => r.version === version)) {
    await removeSnapshot(app, version);
    await engineRequest('DELETE', `/configs/${encodeURIComponent(releaseConfigName(app, version))}`);
  }
  await removeIntent(intent);
  return `undid v${version} on the cluster that an agent left${undone.length ? `: ${undone.join(', ')}` : ''}; v${state.current ?? '-'} serves`;
}

/**
 * `ps:restart` of a cluster app: each service of `types` gets fresh tasks of the same release,
 * one at a time, start-first (a forced update: Swarm's health check and rollback as in a deploy).
 */
export async function swarmRestart(spec: ReleaseSpec, types: string[], emit: Emit): Promise<string[]> {
  const restarted: string[] = [];
  for (const type of types) {
    const name = serviceName(spec.app, type);
    const existing = await engineGet<SwarmService>(`/services/${encodeURIComponent(name)}`);
    if (existing.status !== 200 || !existing.body) throw engineError(`find the service ${name}`, existing);
    const current = existing.body.Spec;
    const body: ServiceSpec = { ...current, TaskTemplate: { ...current.TaskTemplate, ForceUpdate: (current.TaskTemplate.ForceUpdate ?? 0) + 1 } };
    emit(`${type}: fresh task(s) of v${spec.version}, one at a time, each started before the one it replaces stops`, 'start');
    await applyService(spec, type, body, emit, 60_000 + 30_000 * Math.max(1, current.Mode.Replicated.Replicas), { restart: true });
    restarted.push(name);
  }
  return restarted;
}

/** apps:destroy on a manager: the app's services (their tasks on every node), secrets and release configs. */
export async function removeSwarmApp(app: string, emit: Emit): Promise<string[]> {
  const services = await paasServices(app);
  for (const service of services) {
    const answer = await engineRequest('DELETE', `/services/${service.ID}`);
    if (answer.status !== 200 && answer.status !== 404) throw engineError(`remove the service ${service.Spec.Name}`, answer);
  }
  // A secret cannot go while a task still holds it: asked again until the tasks are gone (bounded).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = await pruneReleaseObjects(app, new Set());
    if (left === 0) break;
    if (Date.now() > deadline) throw new PaasError('host', `${left} secret(s) or config(s) of ${app} are still in use after 60 s`, { hint: `run apps:destroy ${app} again; see \`docker service ls\` on this manager` });
    await sleep(500);
  }
  if (services.length) emit(`removed the cluster service(s) ${services.map((s) => s.Spec.Name).sort().join(', ')}, their secrets and release records`, 'destroy');
  written.delete(app);
  return services.map((s) => s.Spec.Name);
}

/** `paas ps` of a cluster app: its services' tasks that should run, on whichever node. */
export async function swarmProcesses(app: string, now = Date.now()): Promise<ProcessRow[]> {
  const [services, nodes] = await Promise.all([paasServices(app), listNodes()]);
  const hostname = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
  const rows: ProcessRow[] = [];
  for (const service of services) {
    const type = service.Spec.Labels[SWARM_LABEL.process] ?? '';
    for (const task of await tasksOf({ service: [service.ID], 'desired-state': ['running'] })) {
      const since = task.Status.Timestamp ? Date.parse(task.Status.Timestamp) : NaN;
      rows.push({
        process: `${type}.${task.Slot ?? 0}`, type, replica: task.Slot ?? 0, generation: 0,
        release: Number(task.Spec?.ContainerSpec?.Labels?.[SWARM_LABEL.release] ?? 0), state: task.Status.State,
        ...(task.Status.State === 'running' && Number.isFinite(since) ? { uptimeSeconds: Math.max(0, Math.round((now - since) / 1000)) } : {}),
        restarts: 0, container: `${service.Spec.Name}.${task.Slot ?? 0} on ${hostname.get(task.NodeID ?? '') ?? '?'}`,
      });
    }
  }
  return rows.sort((a, b) => a.type.localeCompare(b.type) || a.replica - b.replica);
}

/** Is this app on the cluster (a manager that has its services)? */
export async function isSwarmApp(app: string): Promise<boolean> {
  const info = await swarmInfo().catch(() => undefined);
  if (!info?.ControlAvailable) return false;
  return (await paasServices(app)).length > 0;
}

/** When the host service last found this host outside a cluster's managers: it asks again 10 s later, not every tick. */
let notManagerAt = -Infinity;

/** syncSwarmRoutes for the host service's tick: a host that is no manager costs one short request every 10 s. */
export async function keepSwarmRoutes(now = Date.now()): Promise<void> {
  if (now - notManagerAt < 10_000) return;
  const info = await swarmInfo(2000).catch(() => undefined);
  if (!info?.ControlAvailable && written.size === 0) {
    notManagerAt = now;
    return;
  }
  await syncSwarmRoutes();
}

/** The last routes and site written per app by this process: a tick that changes nothing writes nothing. */
const written = new Map<string, string>();
/** Apps whose names another app of this host has, with the refusal last reported. */
const refused = new Map<string, string>();

/**
 * On a manager: every paas web service's site and peers (its running tasks on any node), written
 * for this host's nginx when they changed. Apps whose services are gone lose their routes.
 * Run by the host service every tick, and by a release right away.
 */
export async function syncSwarmRoutes(): Promise<{ apps: string[] }> {
  const info = await swarmInfo(2000).catch(() => undefined);
  if (!info?.ControlAvailable) return { apps: [] };
  const [services, nodes] = await Promise.all([paasServices(), listNodes()]);
  const web = services.filter((s) => s.Spec.Labels[SWARM_LABEL.process] === WEB);
  const host = await readHostInfo();
  const apps: string[] = [];
  const problems: string[] = [];
  for (const service of web) {
    const app = service.Spec.Labels[SWARM_LABEL.app] ?? '';
    const version = Number(service.Spec.Labels[SWARM_LABEL.release] ?? 0);
    const port = service.Spec.EndpointSpec?.Ports?.[0]?.TargetPort;
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(app) || !port) continue;
    const tasks = await tasksOf({ service: [service.ID], 'desired-state': ['running'] });
    const peers = taskPeers(tasks, nodes, port);
    const balance = service.Spec.Labels[SWARM_LABEL.balance];
    const routes = { version, balance: (BALANCE_STRATEGIES as readonly string[]).includes(balance ?? '') ? balance as BalanceStrategy : 'round_robin', upstreams: peers.map((p) => ({ port: p.port, address: p.address })) };
    const text = renderRoutes(routes);
    apps.push(app);
    let domains: string[] = [];
    try {
      const parsed = JSON.parse(service.Spec.Labels[SWARM_LABEL.domains] ?? '[]') as unknown;
      if (Array.isArray(parsed)) domains = parsed.filter((d): d is string => typeof d === 'string');
    } catch { /* no domains */ }
    // This manager's settings (domains:add, certs:add on it) are part of the site.
    const site = siteFor(app, host.baseDomain, domains, await readSettings(app));
    const key = `${text}\n${JSON.stringify(site)}`;
    if (written.get(app) === key && (await currentRoutes(app)) === text) continue;
    try {
      await applySite(site, (names, owners) => checkClaims(app, names, owners, host.baseDomain));
    } catch (error) {
      // An app of this host answers to one of its names: not routed here; said once, not every tick.
      const message = `${app}: ${(error as Error).message}`;
      if (refused.get(app) !== message) problems.push(message);
      refused.set(app, message);
      continue;
    }
    refused.delete(app);
    if ((await currentRoutes(app)) !== text) await switchRoutes(app, routes);
    written.set(app, key);
  }
  // Apps routed here from the cluster before and gone from it now.
  for (const app of written.keys()) {
    if (apps.includes(app)) continue;
    written.delete(app);
    if ((await readState(app)).current === undefined) {
      await removeSite(app);
      await removeRoutes(app);
    }
  }
  if (problems.length) throw new PaasError('config', `not routed on this manager: ${problems.join('; ')}`, { hint: 'remove the name from one of the two apps (paas domains:remove NAME --app APP)' });
  return { apps };
}

