/**
 * The agent's protocol, shared by the CLI and the agent (the only module of src/agent the CLI
 * imports): for each verb its flags, the values they carry, and its result; the messages and the
 * framing of streamed input. Both sides encode and parse through these tables, so a verb's
 * arguments are spelled in one place, and `HostAgent.call` is typed by them.
 *
 * The agent speaks JSON lines on stdout: any number of events, then exactly one result or error.
 * Human text goes to stderr. The exit code is 0 with a result, non-zero with an error.
 */
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { PaasError, type ExitCodeName } from '../errors.js';
import type { ProcessRow } from '../release/ps.js';
import type { ProcessLimits, Release, ReleaseStatus, AppState } from '../release/types.js';

export type AgentMessage =
  | { type: 'event'; message: string; step?: string }
  | { type: 'result'; data: unknown }
  | { type: 'error'; kind: ExitCodeName; message: string; where?: string; details?: string[]; hint?: string };

/** How a verb reports progress: a line for the user, and the step it belongs to. */
export type Emit = (message: string, step?: string) => void;

/** Where a verb's input comes from and its messages go. */
export interface VerbIo {
  stdin: Readable;
  send: (message: AgentMessage) => void;
  /** Human text (stderr). */
  log: (text: string) => void;
}

export const AGENT_DIR = '/var/lib/paas/agent';

/** Where the agent with this content hash lives on a host: a new build gets a new file. */
export function agentPath(hash: string): string {
  return `${AGENT_DIR}/agent-${hash}.mjs`;
}

/**
 * The unix socket of the standby agent of this build (see agent/standby.ts): a started agent
 * waiting for the next deploy, reached over SSH as a stream-local channel.
 */
export function standbySocket(hash: string): string {
  return `${AGENT_DIR}/standby-${hash}.sock`;
}

/** The first line a client sends a standby agent: what it would have run as argv. */
export interface StandbyRequest { argv: string[] }

/** Verbs a standby agent serves. */
export const STANDBY_VERBS = ['deploy'];

// ---------------------------------------------------------------------------------------------
// Frames: stdin of `paas run` without a TTY, and a deploy session's source archive, travel as
// [4-byte big-endian length][bytes]; a frame of length 0 ends the data. The agent can then tell
// the end of the data from a dropped connection (the channel's stdin ends with no end frame).

export const MAX_FRAME = 1 << 20;

export function encodeFrame(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME) {
    const part = data.subarray(at, at + MAX_FRAME);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(part.length);
    frames.push(header, part);
  }
  return frames;
}

export const END_FRAME = Buffer.alloc(4);

// ---------------------------------------------------------------------------------------------
// Verbs and their flags.

type FlagSpec =
  | { type: 'string'; required?: true }
  | { type: 'strings' }
  /** `max`: the bound, said in the refusal; `noun`: what the number is ("release number"). */
  | { type: 'number'; required?: true; max?: number; noun?: string }
  | { type: 'boolean' };

const text = { type: 'string' } as const;
const needed = { type: 'string', required: true } as const;
const count = { type: 'number' } as const;
const neededCount = { type: 'number', required: true } as const;
const list = { type: 'strings' } as const;
const flag = { type: 'boolean' } as const;

/** Every JSON verb, with the flags it takes (`--name value`, repeatable for lists, bare for booleans). */
export const VERB_FLAGS = {
  info: { app: text },
  setup: { 'base-domain': text, 'public-port': count, 'acme-directory': text, 'acme-email': text, 'acme-resolver': text, 'acme-renew-before': count, 'acme-ca': flag },
  layers: {},
  'host-info': {},
  load: {},
  lock: { app: needed, by: text, command: text, wait: count },
  deploy: { app: needed, by: text, command: text, wait: count },
  rollback: { app: needed, version: neededCount, by: text, keep: count, to: { type: 'number', noun: 'release number' }, 'lock-token': text, wait: count },
  drain: { app: needed, id: needed, after: count, timeout: count, container: list, image: list },
  releases: { app: needed },
  outcome: { app: needed, wait: count, by: text },
  apps: {},
  'app-info': { app: needed },
  images: { ref: list },
  'config-show': { app: needed, reveal: flag, key: list },
  'config-set': { app: needed, version: neededCount, by: text, keep: count, 'lock-token': needed },
  run: { app: needed, tty: flag },
  ps: { app: needed },
  scale: { app: needed, version: neededCount, by: text, keep: count, set: list, 'lock-token': text },
  restart: { app: needed, by: text, type: text, 'lock-token': text },
  logs: { app: needed, tail: { type: 'number', max: 100_000 }, process: text, follow: flag },
  domains: { app: needed },
  'domains-add': { app: needed, name: needed, 'lock-token': text, by: text },
  'domains-remove': { app: needed, name: needed, 'lock-token': text, by: text },
  certs: { app: needed },
  'certs-add': { app: needed, 'lock-token': text, by: text, 'no-redirect': flag, hsts: flag },
  'certs-auto': { app: needed, 'lock-token': text, by: text, name: list, 'no-redirect': flag, hsts: flag, off: flag },
  'certs-remove': { app: needed, 'lock-token': text, by: text },
  lb: { app: needed },
  'lb-set': { app: needed, strategy: needed, weight: list, 'lock-token': text, by: text },
  cron: { app: needed },
  'cron-run': { app: needed, id: needed },
  'cron-suspend': { app: needed, id: needed, 'lock-token': text, by: text },
  'cron-resume': { app: needed, id: needed, 'lock-token': text, by: text },
  services: {},
  'services-create': { kind: needed, name: needed, version: text },
  'services-info': { name: needed, reveal: flag },
  'services-link': { name: needed, app: needed, as: text, version: neededCount, by: text, keep: count, 'lock-token': text },
  'services-unlink': { name: needed, app: needed, version: neededCount, by: text, keep: count, 'lock-token': text },
  'services-destroy': { name: needed, backups: flag },
  'services-connect': { name: needed, tty: flag },
  'services-backup': { name: needed, scheduled: flag },
  'services-backups': { name: needed },
  'services-restore': { name: needed, backup: text, to: text, upload: flag, 'from-target': text },
  'services-backups-target': { name: needed, kind: needed, url: text, 'host-key': text, endpoint: text, region: text, bucket: text, prefix: text, 'path-style': flag, remove: flag },
  'services-backups-schedule': { name: needed, schedule: text, keep: text, off: flag },
  'services-backups-key': {},
  volumes: { app: needed },
  'volumes-backup': { app: needed, name: needed },
  'volumes-backups': { app: needed, name: needed },
  'volumes-restore': { app: needed, name: needed, backup: text, by: text, 'lock-token': text },
  'volumes-add': { app: needed, volume: needed, process: list, version: neededCount, by: text, keep: count, 'lock-token': text },
  'volumes-remove': { app: needed, name: needed, version: neededCount, by: text, keep: count, 'lock-token': text },
  destroy: { app: needed, 'lock-token': text, by: text, volumes: flag },
  'keys-add': { name: needed },
  'keys-list': {},
  'keys-remove': { name: needed },
  cluster: {},
  'cluster-init': { 'advertise-addr': text },
  'cluster-token': { role: needed },
  'cluster-join': {},
  'cluster-drain': { node: needed },
  'cluster-leave': { force: flag },
  'cluster-remove': { node: needed },
  'front-apply': { node: list, 'connect-timeout': count, 'fail-timeout': count },
  'front-show': {},
} as const satisfies Record<string, Record<string, FlagSpec>>;

export type Verb = keyof typeof VERB_FLAGS;
type Flags<V extends Verb> = (typeof VERB_FLAGS)[V];
type ValueOf<F> = F extends { type: 'boolean' } ? boolean : F extends { type: 'strings' } ? string[] : F extends { type: 'number' } ? number : string;
type RequiredKeys<V extends Verb> = { [K in keyof Flags<V>]: Flags<V>[K] extends { required: true } ? K : never }[keyof Flags<V>];
/** Always present once parsed: booleans (false when absent) and lists ([] when absent). */
type DefaultedKeys<V extends Verb> = { [K in keyof Flags<V>]: Flags<V>[K] extends { type: 'boolean' } | { type: 'strings' } ? K : never }[keyof Flags<V>];

/** What a caller gives a verb. */
export type VerbInput<V extends Verb> =
  { [K in RequiredKeys<V>]: ValueOf<Flags<V>[K]> } & { [K in Exclude<keyof Flags<V>, RequiredKeys<V>>]?: ValueOf<Flags<V>[K]> };
/** What a verb gets, parsed and checked. */
export type VerbArgs<V extends Verb> =
  { [K in RequiredKeys<V> | DefaultedKeys<V>]: ValueOf<Flags<V>[K]> } & { [K in Exclude<keyof Flags<V>, RequiredKeys<V> | DefaultedKeys<V>>]?: ValueOf<Flags<V>[K]> };

export function isVerb(name: string | undefined): name is Verb {
  return name !== undefined && Object.hasOwn(VERB_FLAGS, name);
}

/** A verb's argv from its values (undefined values and false booleans are left out). */
export function verbArgv<V extends Verb>(verb: V, input: VerbInput<V>): string[] {
  const specs = VERB_FLAGS[verb] as Record<string, FlagSpec>;
  const argv: string[] = [];
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    const spec = specs[name];
    if (!spec) throw new Error(`the verb ${verb} has no flag --${name}`);
    if (value === undefined || value === false) continue;
    if (spec.type === 'boolean') argv.push(`--${name}`);
    else if (spec.type === 'strings') for (const item of value as string[]) argv.push(`--${name}`, item);
    else argv.push(`--${name}`, String(value));
  }
  return argv;
}

const WHOLE = /^(0|[1-9]\d{0,14})$/;

/** `--name VALUE` as `--name=VALUE` for flags that take a value, so that a value may start with "-" ("--tail -1"). */
function joinFlagValues(specs: Record<string, FlagSpec>, argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      joined.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && Object.hasOwn(specs, name) && specs[name]!.type !== 'boolean' && i + 1 < argv.length) {
      joined.push(`${arg}=${argv[i + 1]}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * Parses a verb's argv by its table (node:util parseArgs, strict: an unknown flag, a missing value
 * or a missing required flag is a usage error). Numbers are whole numbers >= 0. `positionals`:
 * the words after `--` (only `run` takes them).
 */
export function parseVerbArgs<V extends Verb>(verb: V, argv: string[]): { args: VerbArgs<V>; positionals: string[] } {
  const specs = VERB_FLAGS[verb] as Record<string, FlagSpec>;
  const options = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: spec.type === 'strings' }]));
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinFlagValues(specs, argv), options, strict: true, allowPositionals: verb === 'run' });
  } catch (error) {
    throw new PaasError('usage', `${verb}: ${(error as Error).message.split('\n')[0]}`, { hint: `the flags of ${verb} are: ${Object.keys(specs).map((n) => `--${n}`).join(' ') || 'none'}` });
  }
  if (verb === 'run' && parsed.positionals.length && !argv.includes('--')) throw new PaasError('usage', 'run: the command goes after --', { hint: 'paas run -- COMMAND [ARG ...]' });
  const args: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = parsed.values[name];
    if (spec.type === 'boolean') args[name] = value === true;
    else if (spec.type === 'strings') args[name] = (value as string[] | undefined) ?? [];
    else if (value === undefined) {
      if ('required' in spec && spec.required) throw new PaasError('usage', `--${name} is required`);
    } else if (spec.type === 'number') {
      const number = WHOLE.test(value as string) ? Number(value) : undefined;
      if (spec.max !== undefined && (number === undefined || number > spec.max)) throw new PaasError('usage', `--${name}: expected a whole number 0..${spec.max}`);
      if (number === undefined) throw new PaasError('usage', `--${name}: ${JSON.stringify((value as string).slice(0, 20))} is not a ${spec.noun ?? 'whole number'}`);
      args[name] = number;
    } else {
      args[name] = value;
    }
  }
  return { args: args as VerbArgs<V>, positionals: parsed.positionals };
}

// ---------------------------------------------------------------------------------------------
// What verbs answer.

export interface HostInfo {
  /** Docker platform architecture: amd64, arm64, ... */
  arch: string;
  baseDomain: string;
  /** Port where this host's nginx is reached from outside (80, or a published sandbox port). */
  publicPort: number;
  setupAt: string;
  /** Where certs:auto gets certificates (host:setup --acme-*); Let's Encrypt and 30 days when absent. */
  acme?: HostAcme;
}

/** The host's ACME CA and renewal settings. */
export interface HostAcme {
  directoryUrl?: string;
  /** Contact for the CA's expiry and policy notices. */
  email?: string;
  /** The DNS server the pre-issuance check asks (IP or IP:PORT), instead of the host's resolver. */
  resolver?: string;
  /** Renew this many days before expiry (a third of the lifetime when that is shorter). */
  renewBeforeDays?: number;
  /** The CA's own HTTPS is trusted through host:setup --acme-ca's roots (a private CA). */
  privateCa?: boolean;
}

/** What a host has (the `info` verb, and the deploy session's first event). */
/** A node of a cluster (`paas cluster`). */
export interface ClusterNode {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  availability: string;
  state: string;
  address: string;
  leader: boolean;
  reachability?: string;
  /** `app/type` of each task running there. */
  tasks: string[];
}

export interface ClusterView {
  /** This host's own part: inactive, or a manager / worker of the cluster. */
  self: { state: 'inactive' | 'pending' | 'active' | 'error' | 'locked'; nodeId?: string; address?: string; manager: boolean; cluster?: string };
  nodes: ClusterNode[];
  apps: { app: string; type: string; release: number; replicas: number; running: number }[];
}

export interface HostFacts {
  arch: string;
  node: string;
  host?: HostInfo;
  /** With an app: its state, and what the host's other apps answer to. */
  state?: AppState;
  others?: { app: string; names: string[] }[];
  docker?: string;
}

/** host:info: what paas found on a host and what it will use. */
export interface HostReport {
  /** Who SSH logged in as (sudo's SUDO_USER, else the agent's own user). */
  user: string;
  /** The agent runs through sudo (a non-root SSH user). */
  sudo: boolean;
  arch: string;
  os: string;
  node: string;
  engine: { version?: string; api?: string; storageDriver: string; containerdStore: boolean; imageStore: string };
  builder: string;
  nginx: { version?: string; lua: boolean };
  /** Free bytes of the engine's data directory and of paas's. */
  disk: Record<string, number | null>;
}

/** What the client sends before the context archive of a build on the host. */
export interface HostBuildRequest {
  /** Image references the Dockerfile starts FROM; all must be on this host. */
  requires: string[];
  /** Path of the Dockerfile inside the archive. */
  dockerfile: string;
  buildArgs: Record<string, string>;
  /** Stop the build after this long (paas.yml build.timeout). */
  timeoutMs?: number;
}

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

export interface ConfigShowResult {
  app: string;
  /** Values, or their masks (maskValue) unless --reveal. */
  vars: Record<string, string>;
  masked: boolean;
  /** Asked-for keys (--key) that are not set. */
  missing: string[];
}

export interface ConfigSetResult {
  app: string;
  /** Names whose value changed. */
  changed: string[];
  /** The new release, when the app runs and something changed. */
  release?: RolloutResult;
}

/** What a host says about an app after a command lost its connection (the `outcome` verb). */
export interface OutcomeResult {
  app: string;
  locked: boolean;
  holder?: string;
  current?: number;
  releases: { version: number; status: ReleaseStatus }[];
  containers: { name: string; release: number; running: boolean }[];
}

export interface PsResult {
  app: string;
  current?: number;
  formation: Record<string, number>;
  limits: Record<string, ProcessLimits>;
  /** The current release's volumes, as `name:/path (types)`. */
  volumes: string[];
  /** Services linked to the app, with their container's state. */
  services: LinkedService[];
  processes: ProcessRow[];
}

export interface LinkedService { name: string; kind: 'postgres' | 'redis'; as: string; state: string }

export interface RestartResult {
  app: string;
  version: number;
  types: string[];
  restarted: string[];
  draining: string[];
}

export interface DomainsView {
  app: string;
  released: boolean;
  domains: { name: string; source: 'default' | 'paas.yml' | 'domains:add'; https: boolean }[];
}

export interface CertView {
  app: string;
  certificate: null | {
    fingerprint: string; names: string[]; notAfter: string; selfSigned: boolean; redirect: boolean; addedAt: string;
    notBefore?: string; issuer?: string; hsts: boolean;
    source: 'certs:add' | 'acme';
    /** The app's names it serves over HTTPS. */
    serves: string[];
  };
  /** certs:auto: what the host keeps issued and renews by itself. */
  auto?: {
    names: string[]; by: 'certs:auto' | 'paas.yml'; redirect: boolean; hsts: boolean;
    /** When the host renews next (now when due; later after failures, with backoff). */
    nextRenewal?: string;
    failures: number; lastError?: string; lastAttemptAt?: string;
  };
}

/** `paas cron`: an app's scheduled tasks on one host. */
export interface CronView {
  app: string;
  /** Whether this host runs the app's tasks (the first of its hosts does). */
  runsCron: boolean;
  tasks: {
    id: string;
    schedule: string;
    command: string;
    concurrencyPolicy: string;
    maintenance: boolean;
    suspended: boolean;
    source: string;
    /** The next run (UTC), unless in maintenance or suspended. */
    next?: string;
    /** The newest run on this host: its container, the minute it was for ("manual" for cron:run), whether it still runs. */
    last?: { container: string; scheduledFor: string; running: boolean };
  }[];
}

export interface LbView {
  app: string;
  balance: string;
  source: 'lb:set' | 'paas.yml';
  weights?: Record<string, number>;
  replicas: { replica: string; port: number; weight?: number }[];
}

/** A host's front balancer (cluster:front): the nodes its port 80 sends to. */
export interface FrontView {
  /** Whether the host is a front at all. */
  front: boolean;
  /** host:port of each node, in order. */
  nodes: string[];
  options?: { connectTimeout: number; failTimeout: number };
  file: string;
  /** Whether this call changed nginx's configuration (and reloaded it). */
  changed: boolean;
}

/** A backing service on a host (`paas services`, services:info). */
export interface ServiceView {
  name: string;
  kind: 'postgres' | 'redis';
  version: string;
  image: string;
  createdAt: string;
  /** creating: a create that has not finished (run it again). */
  status: 'creating' | 'created';
  /** The container's state: running, exited, restarting, ... or missing. */
  state: string;
  container: string;
  volume: string;
  network: string;
  links: { app: string; as: string; status: 'linking' | 'linked' | 'unlinking' }[];
}

/** `services:backups`: a service's backups on a host (they outlive the service: `exists` says whether it is still there). */
export interface BackupList {
  service: string;
  exists: boolean;
  backups: { id: string; service: string; kind: string; createdAt: string; sourceVersion: string; keyId: string; size: number; file: string }[];
  /** Files in the backups directory that are not readable backups. */
  unreadable: string[];
  schedule?: { schedule: string; keep?: Record<string, number>; keepText?: string };
  /** Off-host copies: `ssh ssh://...`, `s3 s3://bucket/prefix at endpoint`. */
  targets: string[];
}

/** `paas volumes`: an app's volumes on one host. */
export interface VolumesView {
  app: string;
  current?: number;
  volumes: {
    name: string; path: string; processes?: string[]; source: 'paas.yml' | 'volumes:add';
    dockerVolume: string;
    /** Mounted by the current release (else: by the next one). */
    mounted: boolean;
    /** The Docker volume exists (it is created by the first release that mounts it). */
    exists: boolean;
  }[];
  /** Docker volumes of the app that no volume mounts any more: their data is kept. */
  unmounted: string[];
}

export interface VolumesChangeResult extends VolumesView {
  /** The new release, when the app runs. */
  release?: RolloutResult;
}

export interface DestroyResult {
  app: string; containers: string[]; images: string[]; removed: string[];
  /** On a cluster's manager: the app's Swarm services removed (their tasks stop on every node). */
  swarmServices?: string[];
  /** Docker volumes removed (--volumes) or kept. */
  volumes: { removed: string[]; kept: string[] };
}

export interface AppSummary { app: string; current?: number; image?: string; urls: string[] }

export interface AppInfo {
  app: string;
  current?: number;
  release?: Release;
  releases: number;
  containers: { name: string; status: string; ports: string }[];
  urls: string[];
  services: LinkedService[];
}

/** Each verb's result. */
export interface VerbResults {
  info: HostFacts;
  setup: { host: HostInfo; did: string[] };
  layers: { chainIds: string[] };
  'host-info': HostReport;
  load: { loaded: string[] };
  lock: { app: string; released: true };
  deploy: RolloutResult | { app: string; released: true };
  rollback: RolloutResult;
  drain: { stopped: string[]; pruned: string[] };
  releases: AppState;
  outcome: OutcomeResult;
  apps: AppSummary[];
  'app-info': AppInfo;
  images: { missing: string[] };
  'config-show': ConfigShowResult;
  'config-set': ConfigSetResult;
  run: never;
  ps: PsResult;
  scale: RolloutResult;
  restart: RestartResult;
  logs: { lines: number; processes: string[] };
  domains: DomainsView;
  'domains-add': DomainsView & { added: boolean };
  'domains-remove': DomainsView & { removed: true };
  certs: CertView;
  'certs-add': CertView;
  'certs-auto': CertView;
  'certs-remove': { app: string; removed: string };
  lb: LbView;
  'lb-set': LbView;
  cron: CronView;
  'cron-run': { app: string; task: string; container: string };
  'cron-suspend': CronView;
  'cron-resume': CronView;
  services: ServiceView[];
  'services-create': ServiceView & { url: string };
  'services-info': ServiceView & { url: string };
  'services-link': ConfigSetResult & { service: string; as: string };
  'services-unlink': ConfigSetResult & { service: string };
  'services-destroy': { service: string; removed: string[] };
  'services-connect': never;
  'services-backup': { id: string; service: string; kind: string; createdAt: string; size: number; plainSize: number; sha256: string; file: string; removed?: string[]; copies: { target: string; ok: boolean; error?: string }[] };
  'services-backups-target': { service: string; targets: string[]; publicKey?: string; check: string };
  'services-backups': BackupList;
  'services-restore': { service: string; backup: string; into: string };
  'services-backups-schedule': BackupList;
  'services-backups-key': { key: string };
  volumes: VolumesView;
  'volumes-backup': { id: string; service: string; kind: string; createdAt: string; size: number; plainSize: number; sha256: string; file: string };
  'volumes-backups': { app: string; volume: string; backups: BackupList['backups'] };
  'volumes-restore': { app: string; volume: string; backup: string; restart?: RestartResult };
  'volumes-add': VolumesChangeResult;
  'volumes-remove': VolumesChangeResult;
  destroy: DestroyResult;
  'keys-add': { name: string; fingerprint: string };
  'keys-list': { name: string; type: string; fingerprint: string }[];
  'keys-remove': { removed: string };
  cluster: ClusterView;
  'cluster-init': ClusterView & { created: boolean };
  'cluster-token': { token: string; managers: string[] };
  'cluster-join': { joined: boolean; nodeId: string; manager: boolean };
  'cluster-drain': { node: string; drained: boolean; demoted: boolean };
  'cluster-leave': { left: boolean; nodeId?: string };
  'cluster-remove': { removed: string };
  'front-apply': FrontView;
  'front-show': FrontView;
}

/** What a verb is handed: its parsed flags, the words after `--` (run), its progress and input. */
export interface VerbContext<V extends Verb> {
  args: VerbArgs<V>;
  positionals: string[];
  emit: Emit;
  /** The whole request body on stdin (bounded). */
  readStdin: () => Promise<string>;
  /** The raw request body, for verbs that stream it (read it or readStdin, not both). */
  stdin: Readable;
}

export type VerbHandler<V extends Verb> = (context: VerbContext<V>) => Promise<VerbResults[V]>;
export type VerbTable = { [V in Verb]: VerbHandler<V> };
