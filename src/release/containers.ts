import { processArgv } from './command.js';
import type { ProcessLimits, ReleaseSpec } from './types.js';
import { WEB } from './types.js';
import { mountsFor } from './volumes.js';

/** Labels that tie a container to its app, release, process type and replica. */
export const LABEL = {
  app: 'paas.app',
  release: 'paas.release',
  process: 'paas.process',
  replica: 'paas.replica',
  /** Restart generation (ps:restart): absent on a release's first containers. */
  restart: 'paas.restart',
} as const;

/** Label of one-off containers (release phase, `paas run`): a rollout never drains them. */
export const ONE_OFF_LABEL = 'paas.oneoff';

/** Processes a container may run at once (fork bombs stop there, not at the host's limit). */
export const DEFAULT_PIDS_LIMIT = 4096;

/**
 * The body of the Engine API's POST /containers/create: what `docker run` would send, and the
 * only way the agent creates a container. Env values (config vars) are in it, so they never pass
 * through argv or the environment of a process the agent runs.
 */
export interface ContainerCreate {
  Image: string;
  Cmd?: string[];
  Env: string[];
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  HostConfig: {
    NetworkMode: string;
    RestartPolicy?: { Name: 'unless-stopped' | 'no' };
    LogConfig: { Type: string; Config: Record<string, string> };
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    Mounts?: { Type: 'volume'; Source: string; Target: string }[];
    Memory?: number;
    NanoCpus?: number;
    PidsLimit: number;
  };
}

export interface NetworkCreate {
  Name: string;
  Driver: 'bridge';
  CheckDuplicate: true;
  Labels: Record<string, string>;
}

export interface ContainerPlan {
  name: string;
  type: string;
  replica: number;
  create: ContainerCreate;
}

/**
 * `paas-<app>.<type>.<replica>.v<release>`; a rolling restart (ps:restart) starts the same release
 * again beside the running containers, as generation 1, 2, ...: suffix `.r<generation>`. App
 * names and process types have no dots, so no two apps' names can meet.
 */
export function containerName(app: string, type: string, replica: number, version: number, generation = 0): string {
  return `paas-${app}.${type}.${replica}.v${version}${generation > 0 ? `.r${generation}` : ''}`;
}

/** The app's own bridge network: its containers reach each other, other apps only through nginx. */
export function appNetwork(app: string): string {
  return `paas-${app}`;
}

export function networkCreate(app: string): NetworkCreate {
  return { Name: appNetwork(app), Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL.app]: app } };
}

/** HostConfig limits for a process type's limits: Memory (bytes) and NanoCpus. */
export function limitConfig(limits: ProcessLimits | undefined): { Memory?: number; NanoCpus?: number } {
  return {
    ...(limits?.memoryBytes !== undefined ? { Memory: limits.memoryBytes } : {}),
    ...(limits?.cpus !== undefined ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
  };
}

/** HostConfig.Mounts of a container of `type` (undefined: a one-off), absent when it mounts nothing. */
function mountsConfig(app: string, volumes: ReleaseSpec['volumes'], type?: string): { Mounts?: ReturnType<typeof mountsFor> } {
  const mounts = mountsFor(app, volumes, type);
  return mounts.length ? { Mounts: mounts } : {};
}

export interface PlanOptions {
  /** Only these process types (a rolling restart of web). Default: every type of the formation. */
  types?: readonly string[];
  /** Restart generation: see containerName. */
  generation?: number;
}

/** The command of a container (see processArgv); null keeps the image's CMD. */
export function commandArgs(command: string | null): string[] {
  return command === null ? [] : processArgv(command);
}

function webPort(webPorts: readonly number[], replica: number): number {
  const port = webPorts[replica - 1];
  if (port === undefined) throw new Error(`no host port for web replica ${replica}`);
  return port;
}

/** Web replicas of a release (they need one host port each). */
export function webReplicas(spec: ReleaseSpec): number {
  return WEB in spec.processes ? spec.formation[WEB] ?? 0 : 0;
}

/** PORT, PAAS_* and then the app's variables in name order: the Env of every container of a release. */
export function containerEnv(spec: Pick<ReleaseSpec, 'app' | 'version' | 'port'>, process: string, env: Record<string, string>): string[] {
  return [
    `PORT=${spec.port}`,
    `PAAS_APP=${spec.app}`,
    `PAAS_RELEASE=v${spec.version}`,
    `PAAS_PROCESS=${process}`,
    ...Object.keys(env).sort().map((key) => `${key}=${env[key]}`),
  ];
}

const LOGS = { Type: '', Config: { 'max-size': '10m', 'max-file': '3' } };

/**
 * The containers a release runs, in start order (web first), as exact Engine API bodies. `env`
 * is the release's whole environment (paas.yml env and config vars). Web replica n publishes
 * its port on 127.0.0.1:webPorts[n-1]: a fixed port (not one Docker picks), so a container that
 * Docker restarts comes back where nginx's routes say it is.
 */
export function planContainers(spec: ReleaseSpec, webPorts: readonly number[] = [], options: PlanOptions = {}, env: Record<string, string> = spec.env): ContainerPlan[] {
  const generation = options.generation ?? 0;
  const types = Object.keys(spec.formation)
    .filter((type) => spec.formation[type]! > 0 && type in spec.processes)
    .filter((type) => !options.types || options.types.includes(type));
  types.sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)));
  const plans: ContainerPlan[] = [];
  for (const type of types) {
    for (let replica = 1; replica <= spec.formation[type]!; replica += 1) {
      const name = containerName(spec.app, type, replica, spec.version, generation);
      const command = commandArgs(spec.processes[type] ?? null);
      const port = `${spec.port}/tcp`;
      plans.push({
        name, type, replica,
        create: {
          Image: spec.image,
          ...(command.length ? { Cmd: command } : {}),
          Env: containerEnv(spec, `${type}.${replica}`, env),
          Labels: {
            [LABEL.app]: spec.app,
            [LABEL.release]: String(spec.version),
            [LABEL.process]: type,
            [LABEL.replica]: String(replica),
            ...(generation > 0 ? { [LABEL.restart]: String(generation) } : {}),
          },
          ...(type === WEB ? { ExposedPorts: { [port]: {} } } : {}),
          HostConfig: {
            NetworkMode: appNetwork(spec.app),
            RestartPolicy: { Name: 'unless-stopped' },
            LogConfig: LOGS,
            ...(type === WEB ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: String(webPort(webPorts, replica)) }] } } : {}),
            ...mountsConfig(spec.app, spec.volumes, type),
            ...limitConfig(spec.limits?.[type]),
            PidsLimit: DEFAULT_PIDS_LIMIT,
          },
        },
      });
    }
  }
  return plans;
}

export interface OneOffOptions {
  /** 'release' (the release phase) or 'run' (`paas run`). */
  kind: 'release' | 'run';
  /** The command as argv: exec'd by the engine, never through a shell. */
  argv: string[];
  /** Keep stdin open and attach it; allocate a TTY. */
  interactive?: boolean;
  tty?: boolean;
}

/** Labels of a scheduled task's run (a one-off of kind 'cron'): the task's id, and the minute it was scheduled for. */
export const CRON_LABEL = { task: 'paas.cron', at: 'paas.cron-at' } as const;

/** A run of a scheduled task: paas-<app>.cron.<id>.<YYYYMMDDhhmm>.<4 hex> (a run by hand: "manual" for the minute). */
export function cronRunName(app: string, id: string, at: Date | undefined, suffix: string): string {
  const minute = at ? at.toISOString().slice(0, 16).replace(/[-T:]/g, '') : 'manual';
  return `paas-${app}.cron.${id}.${minute}.${suffix}`;
}

/**
 * A run of a scheduled task: the current release's image and environment, its command through
 * the shell rules of the process commands, detached. Unlike other one-off containers its output
 * is kept by the engine (1 MB), for `paas logs -p cron`; the host service removes old runs.
 */
export function planCronRun(spec: Pick<ReleaseSpec, 'app' | 'version' | 'image' | 'port' | 'volumes' | 'engine'>, env: Record<string, string>, task: { id: string; command: string }, at: Date | undefined): ContainerCreate {
  return {
    Image: spec.image,
    Cmd: processArgv(task.command),
    Env: containerEnv(spec, 'cron', env),
    Labels: { [LABEL.app]: spec.app, [ONE_OFF_LABEL]: 'cron', [CRON_LABEL.task]: task.id, [CRON_LABEL.at]: at ? at.toISOString() : 'manual' },
    HostConfig: {
      NetworkMode: spec.engine === 'swarm' ? CLUSTER_NETWORK : appNetwork(spec.app),
      LogConfig: { Type: '', Config: { 'max-size': '1m', 'max-file': '1' } },
      ...mountsConfig(spec.app, spec.volumes),
      PidsLimit: DEFAULT_PIDS_LIMIT,
    },
  };
}

/** The one-off container of a rollout's phase: the release phase, or an app.json script (predeploy, postdeploy, first-deploy). */
export function releasePhaseName(app: string, version: number, phase: 'release' | 'predeploy' | 'postdeploy' | 'first-deploy' = 'release'): string {
  return `paas-${app}.${phase}.v${version}`;
}

export function oneOffName(app: string, id: string): string {
  return `paas-${app}.run.${id}`;
}

/** The overlay network every paas app on the cluster joins: apps reach each other by name on it. */
export const CLUSTER_NETWORK = 'paas-internal';

/**
 * A one-off container of a release's image and environment (release phase, `paas run`), in the
 * app's network (on the swarm engine the cluster's, where the other apps answer by name), without
 * logs kept by the engine (its output goes to whoever attached).
 */
export function planOneOff(spec: Pick<ReleaseSpec, 'app' | 'version' | 'image' | 'port' | 'volumes' | 'engine'>, env: Record<string, string>, options: OneOffOptions): ContainerCreate {
  return {
    Image: spec.image,
    Cmd: options.argv,
    Env: containerEnv(spec, options.kind, env),
    Labels: { [LABEL.app]: spec.app, [ONE_OFF_LABEL]: options.kind },
    ...(options.interactive ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
    AttachStdout: true,
    AttachStderr: true,
    ...(options.tty ? { Tty: true } : {}),
    HostConfig: {
      NetworkMode: spec.engine === 'swarm' ? CLUSTER_NETWORK : appNetwork(spec.app),
      LogConfig: { Type: 'none', Config: {} },
      ...mountsConfig(spec.app, spec.volumes),
      PidsLimit: DEFAULT_PIDS_LIMIT,
    },
  };
}
