import { processArgv } from './command.js';
import type { ProcessLimits, ReleaseSpec } from './types.js';
import { WEB } from './types.js';

/** Labels that tie a container to its app, release, process type and replica. */
export const LABEL = {
  app: 'paas.app',
  release: 'paas.release',
  process: 'paas.process',
  replica: 'paas.replica',
  /** Restart generation (ps:restart): absent on a release's first containers. */
  restart: 'paas.restart',
} as const;

export interface ContainerPlan {
  name: string;
  type: string;
  replica: number;
  /** `docker run` argv (without the leading "docker"). Env values are NOT in it: see envNames. */
  runArgs: string[];
  /** Variables passed by name (`-e NAME`) so their values come from docker's own environment, never argv. */
  envNames: string[];
}

/**
 * `paas-<app>-<type>-<replica>-v<release>`; a rolling restart (ps:restart) starts the same
 * release again beside the running containers, as generation 1, 2, ...: suffix `-r<generation>`.
 */
export function containerName(app: string, type: string, replica: number, version: number, generation = 0): string {
  return `paas-${app}-${type}-${replica}-v${version}${generation > 0 ? `-r${generation}` : ''}`;
}

/** `docker run` flags for a process type's limits: `--memory BYTES` (a whole number) and `--cpus N`. */
export function limitArgs(limits: ProcessLimits | undefined): string[] {
  if (!limits) return [];
  return [
    ...(limits.memoryBytes !== undefined ? ['--memory', String(limits.memoryBytes)] : []),
    ...(limits.cpus !== undefined ? ['--cpus', String(limits.cpus)] : []),
  ];
}

export interface PlanOptions {
  /** Only these process types (a rolling restart of web). Default: every type of the formation. */
  types?: readonly string[];
  /** Restart generation: see containerName. */
  generation?: number;
}

/** The command part of `docker run` (see processArgv); null keeps the image's CMD. */
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

/**
 * The containers a release runs, in start order (web first), as exact docker argv. Web replica
 * n publishes its port on 127.0.0.1:webPorts[n-1]: a fixed port (not one Docker picks), so a
 * container that Docker restarts comes back where nginx's routes say it is.
 */
export function planContainers(spec: ReleaseSpec, webPorts: readonly number[] = [], options: PlanOptions = {}): ContainerPlan[] {
  const generation = options.generation ?? 0;
  const types = Object.keys(spec.formation)
    .filter((type) => spec.formation[type]! > 0 && type in spec.processes)
    .filter((type) => !options.types || options.types.includes(type));
  types.sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)));
  const envNames = Object.keys(spec.env).sort();
  const plans: ContainerPlan[] = [];
  for (const type of types) {
    for (let replica = 1; replica <= spec.formation[type]!; replica += 1) {
      const name = containerName(spec.app, type, replica, spec.version, generation);
      const runArgs = [
        'run', '--detach',
        '--name', name,
        '--label', `${LABEL.app}=${spec.app}`,
        '--label', `${LABEL.release}=${spec.version}`,
        '--label', `${LABEL.process}=${type}`,
        '--label', `${LABEL.replica}=${replica}`,
        ...(generation > 0 ? ['--label', `${LABEL.restart}=${generation}`] : []),
        '--restart', 'unless-stopped',
        '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3',
        '--env', `PORT=${spec.port}`,
        '--env', `PAAS_APP=${spec.app}`,
        '--env', `PAAS_RELEASE=v${spec.version}`,
        '--env', `PAAS_PROCESS=${type}.${replica}`,
        ...envNames.flatMap((key) => ['--env', key]),
        ...limitArgs(spec.limits?.[type]),
        ...(type === WEB ? ['--publish', `127.0.0.1:${webPort(webPorts, replica)}:${spec.port}`] : []),
        spec.image,
        ...commandArgs(spec.processes[type] ?? null),
      ];
      plans.push({ name, type, replica, runArgs, envNames });
    }
  }
  return plans;
}
