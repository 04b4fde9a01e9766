/**
 * The Swarm engine's decisions, as exact Engine API bodies and pure functions: the service of each
 * process type of a release, the secret that carries its config vars, the release record kept as
 * a Swarm config (replicated to every manager, encrypted at rest), the peers nginx routes to from
 * the service's tasks, and what an update's status means. src/agent/swarm.ts carries them out.
 */
import { CLUSTER_NETWORK, commandArgs, containerEnv } from './containers.js';
import { WEB, type AppState, type Release, type ReleaseSpec } from './types.js';

export { CLUSTER_NETWORK } from './containers.js';
/** Where each node's static busybox (Debian's busybox-static) is mounted into tasks: it runs the launcher and the health check. */
export const TASK_BUSYBOX = '/paas/busybox';
export const NODE_BUSYBOX = '/bin/busybox';
/** The task file holding the release's config vars (a Swarm secret). */
export const ENV_SECRET_FILE = 'paas-env';

/** Labels on services, configs and secrets paas made. */
export const SWARM_LABEL = {
  app: 'paas.app',
  process: 'paas.process',
  release: 'paas.release',
  domains: 'paas.domains',
  balance: 'paas.balance',
  kind: 'paas.kind',
} as const;

/**
 * Reads the secret's `export KEY='value'` lines into the environment and becomes the process.
 * A constant script: the values reach the shell only as single-quoted words (envFileText).
 */
export const LAUNCH_SCRIPT = `set -a; . /run/secrets/${ENV_SECRET_FILE}; set +a; exec "$@"`;

export const serviceName = (app: string, type: string): string => `${app}-${type}`;
/** The name other apps on the cluster reach a process type by: web at `<app>.internal`, others at `<type>.<app>.internal`. */
export const internalName = (app: string, type: string): string => (type === WEB ? `${app}.internal` : `${type}.${app}.internal`);
/** Each node tags the release image by number: the service names it so, rollbacks find it, and old ones are pruned by number. */
export const releaseImage = (app: string, version: number): string => `paas/${app}:v${version}`;
/** The image a release's services run: a deploy's by its number; a rollback's or config change's is an earlier release's tag, kept on every node. */
export function serviceImage(spec: Pick<ReleaseSpec, 'app' | 'version' | 'image'>): string {
  return isReleaseImage(spec.app, spec.image) ? spec.image : releaseImage(spec.app, spec.version);
}
export const isReleaseImage = (app: string, image: string): boolean => new RegExp(`^paas/${app}:v\\d+$`).test(image);
export const envSecretName = (app: string, version: number): string => `paas-${app}-env-v${version}`;
export const releaseConfigName = (app: string, version: number): string => `paas-${app}-release-v${version}`;

/** One single-quoted sh word: every `'` becomes `'\''`. */
export function shellWord(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The secret's text: one `KEY='value'` line per variable, keys already checked as variable names. */
export function envFileText(env: Record<string, string>): string {
  // A first line always: Swarm refuses an empty secret.
  return '# paas: the config vars of the release\n' + Object.keys(env).sort().map((key) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`not a variable name: ${JSON.stringify(key)}`);
    return `${key}=${shellWord(env[key]!)}\n`;
  }).join('');
}

export interface SwarmPlacement {
  constraints?: string[];
  spread?: string[];
}

/** A placement constraint as Swarm takes it: `node.labels.zone==a`, `node.role!=manager`, checked strictly (they reach the manager as data). */
export function checkPlacementConstraint(value: string): string | undefined {
  if (!/^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9_.-]{1,100})|engine\.labels\.[A-Za-z0-9_.-]{1,100})\s*(==|!=)\s*[A-Za-z0-9_.:-]{1,100}$/.test(value)) {
    return `${JSON.stringify(value)} is not a placement constraint such as node.labels.zone==a or node.role!=manager`;
  }
  return undefined;
}

export function checkSpreadDescriptor(value: string): string | undefined {
  if (!/^(node\.(id|hostname)|(node|engine)\.labels\.[A-Za-z0-9_.-]{1,100})$/.test(value)) {
    return `${JSON.stringify(value)} is not a spread descriptor such as node.labels.zone`;
  }
  return undefined;
}

/** The parts of an Engine API ServiceSpec paas writes (POST /services/create, /services/{id}/update). */
export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Command: string[];
      Args: string[];
      Env: string[];
      Labels: Record<string, string>;
      Mounts: { Type: 'bind'; Source: string; Target: string; ReadOnly: true }[];
      Secrets: { SecretID: string; SecretName: string; File: { Name: string; UID: string; GID: string; Mode: number } }[];
      StopGracePeriod: number;
      Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
    };
    Resources?: { Limits: { MemoryBytes?: number; NanoCPUs?: number } };
    RestartPolicy: { Condition: 'any'; Delay: number; MaxAttempts: number };
    Placement: { Constraints?: string[]; Preferences: { Spread: { SpreadDescriptor: string } }[] };
    Networks: { Target: string; Aliases: string[] }[];
    LogDriver: { Name: string; Options: Record<string, string> };
    ForceUpdate?: number;
  };
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig: SwarmUpdateConfig;
  RollbackConfig: SwarmUpdateConfig;
  EndpointSpec: { Mode: 'dnsrr'; Ports?: { Protocol: 'tcp'; TargetPort: number; PublishMode: 'host' }[] };
}

interface SwarmUpdateConfig {
  Parallelism: number;
  Delay: number;
  FailureAction: 'rollback' | 'pause' | 'continue';
  Monitor: number;
  MaxFailureRatio: number;
  Order: 'start-first' | 'stop-first';
}

const NS = 1_000_000;

/**
 * Swarm's health check of a web task: every interval; failures count only after the start
 * period (a first success ends it), then `retries` in a row make the task unhealthy, Swarm
 * replaces it and an update rolls back.
 */
export const HEALTH = { intervalMs: 1000, timeoutMs: 2000, retries: 3, startPeriodMs: 30_000 } as const;

/** What the image runs when its process has no command of its own (read from the image on the manager). */
export interface ImageProcess {
  entrypoint: string[];
  cmd: string[];
}

export interface ServiceInput {
  /** The release's env secret, as created. */
  secret: { id: string; name: string };
  image: ImageProcess;
  placement?: SwarmPlacement;
  /** Swarm's version of the service to update (absent: a new service). */
  forceUpdate?: number;
}

/**
 * The argv a task runs: the launcher (busybox sh reading the env secret), then the image's
 * ENTRYPOINT and the process command (or the image's CMD), as a container of the single-host
 * engine would run them.
 */
export function taskArgv(command: string | null, image: ImageProcess): string[] {
  const args = command === null ? image.cmd : commandArgs(command);
  const argv = [...image.entrypoint, ...args];
  if (argv.length === 0) throw new Error('the image has neither ENTRYPOINT nor CMD and the process has no command');
  return argv;
}

/** The health check Swarm runs in each web task (no shell, busybox's own wget / nc). */
export function taskHealthcheck(spec: Pick<ReleaseSpec, 'port' | 'healthcheck'>): NonNullable<ServiceSpec['TaskTemplate']['ContainerSpec']['Healthcheck']> {
  const check = spec.healthcheck;
  const intervalMs = check?.intervalMs ?? HEALTH.intervalMs;
  const timeoutMs = check?.timeoutMs ?? HEALTH.timeoutMs;
  const test = check?.path
    ? ['CMD', TASK_BUSYBOX, 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${spec.port}${check.path}`]
    : ['CMD', TASK_BUSYBOX, 'nc', '-z', '127.0.0.1', String(spec.port)];
  return { Test: test, Interval: intervalMs * NS, Timeout: timeoutMs * NS, Retries: HEALTH.retries, StartPeriod: HEALTH.startPeriodMs * NS };
}

/** The service of process type `type` of a release, as the exact Engine API body. */
export function serviceSpec(spec: ReleaseSpec, type: string, input: ServiceInput): ServiceSpec {
  const labels = {
    [SWARM_LABEL.app]: spec.app,
    [SWARM_LABEL.process]: type,
    [SWARM_LABEL.release]: String(spec.version),
  };
  const limits = spec.limits?.[type];
  const web = type === WEB;
  const update: SwarmUpdateConfig = { Parallelism: 1, Delay: 0, FailureAction: 'rollback', Monitor: 5_000 * NS, MaxFailureRatio: 0, Order: 'start-first' };
  return {
    Name: serviceName(spec.app, type),
    Labels: {
      ...labels,
      ...(web ? { [SWARM_LABEL.domains]: JSON.stringify(spec.domains), [SWARM_LABEL.balance]: spec.balance } : {}),
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: serviceImage(spec),
        Command: [TASK_BUSYBOX, 'sh', '-c', LAUNCH_SCRIPT, 'paas-launch'],
        Args: taskArgv(spec.processes[type] ?? null, input.image),
        // PORT and PAAS_* and paas.yml's env (no secrets); config vars come from the secret.
        Env: containerEnv(spec, type, spec.env),
        Labels: labels,
        Mounts: [{ Type: 'bind', Source: NODE_BUSYBOX, Target: TASK_BUSYBOX, ReadOnly: true }],
        Secrets: [{ SecretID: input.secret.id, SecretName: input.secret.name, File: { Name: ENV_SECRET_FILE, UID: '0', GID: '0', Mode: 0o444 } }],
        StopGracePeriod: spec.stopTimeoutSeconds * 1_000 * NS,
        ...(web ? { Healthcheck: taskHealthcheck(spec) } : {}),
      },
      ...(limits && (limits.memoryBytes !== undefined || limits.cpus !== undefined)
        ? { Resources: { Limits: { ...(limits.memoryBytes !== undefined ? { MemoryBytes: limits.memoryBytes } : {}), ...(limits.cpus !== undefined ? { NanoCPUs: Math.round(limits.cpus * 1e9) } : {}) } } }
        : {}),
      RestartPolicy: { Condition: 'any', Delay: 1_000 * NS, MaxAttempts: 0 },
      Placement: {
        ...(input.placement?.constraints?.length ? { Constraints: input.placement.constraints } : {}),
        Preferences: (input.placement?.spread?.length ? input.placement.spread : ['node.id']).map((descriptor) => ({ Spread: { SpreadDescriptor: descriptor } })),
      },
      Networks: [{ Target: CLUSTER_NETWORK, Aliases: [internalName(spec.app, type)] }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
      ...(input.forceUpdate !== undefined ? { ForceUpdate: input.forceUpdate } : {}),
    },
    Mode: { Replicated: { Replicas: spec.formation[type] ?? 0 } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: 'pause' },
    // dnsrr: no virtual IP (the sandboxes' kernel has no IPVS); host-mode ports chosen by each node.
    EndpointSpec: { Mode: 'dnsrr', ...(web ? { Ports: [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: 'host' }] } : {}) },
  };
}

/** Process types a release runs as services (every type it has, 0 replicas included, so a scale-down reaches Swarm). */
export function serviceTypes(spec: Pick<ReleaseSpec, 'processes' | 'formation'>): string[] {
  return Object.keys(spec.processes).sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)));
}

/** A task as GET /tasks answers (the fields used). */
export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string; Message?: string; Timestamp?: string; PortStatus?: { Ports?: { TargetPort?: number; PublishedPort?: number }[] } };
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> } };
}

export interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec: { Role: 'manager' | 'worker'; Availability: 'active' | 'pause' | 'drain'; Labels?: Record<string, string> };
  Status: { State: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
  Version?: { Index: number };
}

export interface Peer {
  address: string;
  port: number;
}

/**
 * The peers of a web service: its tasks Swarm reports running (with a health check, a task is
 * running only once healthy), at their node's address and the port the node published.
 */
export function taskPeers(tasks: SwarmTask[], nodes: SwarmNode[], targetPort: number): Peer[] {
  const addressOf = new Map(nodes.filter((n) => n.Status.State === 'ready').map((n) => [n.ID, n.Status.Addr ?? '']));
  const peers: Peer[] = [];
  for (const task of tasks) {
    if (task.DesiredState !== 'running' || task.Status.State !== 'running' || !task.NodeID) continue;
    const address = addressOf.get(task.NodeID);
    const port = task.Status.PortStatus?.Ports?.find((p) => p.TargetPort === targetPort)?.PublishedPort;
    if (!address || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || !port) continue;
    peers.push({ address, port });
  }
  return peers.sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
}

/** What a service update's status says, once it has settled. */
export type UpdateOutcome = 'updating' | 'completed' | 'rolled-back' | 'paused';

export function updateOutcome(status: { State?: string } | undefined): UpdateOutcome {
  switch (status?.State) {
    case undefined: return 'completed';
    case 'completed': return 'completed';
    case 'rollback_completed': return 'rolled-back';
    case 'paused': case 'rollback_paused': return 'paused';
    default: return 'updating';
  }
}

/** A service of an app as a settlement sees it. */
export interface SettlingService {
  id: string;
  type: string;
  release: number;
  update?: { State?: string };
  /** Swarm keeps the spec before the last update (none: the service was created by it). */
  hasPrevious: boolean;
  /** Tasks running of `release`, and how many the service asks for. */
  running: number;
  replicas: number;
}

export type SwarmSettlement =
  | { action: 'wait' }
  | { action: 'finish'; retire: string[] }
  | { action: 'undo'; rollBack: string[]; remove: string[] };

/**
 * What to do with a cluster release `version` of process types `types` an agent left: wait
 * while Swarm still updates any of the app's services, or while a service the release created
 * has not all its tasks running (until `expired`); finish when every type's service carries the
 * release and completed (services of other types retire); else undo: each service that carries
 * it goes back to its previous spec, or goes when it has none (created by the release). Pure.
 */
export function planSwarmSettlement(version: number, types: string[], services: SettlingService[], expired = false): SwarmSettlement {
  if (services.some((s) => updateOutcome(s.update) === 'updating')) return { action: 'wait' };
  const starting = services.some((s) => s.release === version && !s.hasPrevious && s.running < s.replicas);
  if (starting && !expired) return { action: 'wait' };
  const done = services.filter((s) => s.release === version && updateOutcome(s.update) === 'completed' && (s.hasPrevious || s.running >= s.replicas));
  if (types.every((type) => done.some((s) => s.type === type))) return { action: 'finish', retire: services.filter((s) => !types.includes(s.type)).map((s) => s.id) };
  const carrying = services.filter((s) => s.release === version);
  return { action: 'undo', rollBack: carrying.filter((s) => s.hasPrevious).map((s) => s.id), remove: carrying.filter((s) => !s.hasPrevious).map((s) => s.id) };
}

/**
 * An app's release history from the release records the cluster keeps (one Swarm config per
 * release, JSON of releaseRecord): for a manager that does not have it on its disk. `serving`
 * is the release the web service carries. Records that are not releases are left out; none:
 * undefined. Pure.
 */
export function historyFromRecords(app: string, records: string[], serving: number | undefined, keep: number): AppState | undefined {
  const releases: Release[] = [];
  for (const text of records) {
    let record: unknown;
    try { record = JSON.parse(text); } catch { continue; }
    if (typeof record !== 'object' || record === null) continue;
    const { version, processes, image } = record as Partial<Release>;
    if (!Number.isInteger(version) || version! < 1 || typeof processes !== 'object' || processes === null) continue;
    // Every node keeps a release's image under a release tag: its own, or an earlier release's
    // (a config change runs the image it had).
    releases.push({ ...(record as Release), image: typeof image === 'string' && isReleaseImage(app, image) ? image : releaseImage(app, version!) });
  }
  if (releases.length === 0) return undefined;
  const sorted = releases.sort((a, b) => a.version - b.version).slice(-Math.max(1, keep));
  const current = serving !== undefined && sorted.some((r) => r.version === serving) ? serving : sorted[sorted.length - 1]!.version;
  return { app, current, releases: sorted.map((r) => ({ ...r, status: r.version === current ? 'active' : 'superseded' })) };
}

/** The release record kept as a Swarm config: the release without its config vars' values. */
export function releaseRecord(spec: ReleaseSpec, createdAt: string): Release {
  const { app: _app, keepReleases: _keep, ...rest } = spec;
  return { ...rest, createdAt, status: 'active' };
}

/** Images a node keeps of an app: the newest `keep` release tags (by number); the others go. */
export function staleReleaseTags(tags: string[], app: string, keep: number): string[] {
  const prefix = `paas/${app}:v`;
  const numbered = tags.filter((t) => t.startsWith(prefix) && /^\d+$/.test(t.slice(prefix.length)))
    .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)));
  return numbered.slice(Math.max(1, keep));
}

/**
 * A line of `docker service logs --timestamps`: `2026-...Z shop-web.2.<task>@node-b    | text`,
 * as the process (web.2), the node and the timestamped text; undefined for any other line.
 */
export function parseServiceLogLine(line: string, service: string, type: string): { process: string; node: string; rest: string } | undefined {
  const match = /^(?:(\d{4}-\d\d-\d\dT\S+Z) )?([a-z0-9-]+)\.(\d+)(?:\.[a-z0-9]+)?@(\S+?)\s*\| ?(.*)$/s.exec(line);
  if (!match || match[2] !== service) return undefined;
  return { process: `${type}.${match[3]}`, node: match[4]!, rest: match[1] ? `${match[1]} ${match[5]!}` : match[5]! };
}
