import { processArgv } from './command.js';
import type { ReleaseSpec } from './types.js';
import { WEB } from './types.js';

/** Labels that tie a container to its app, release, process type and replica. */
export const LABEL = {
  app: 'paas.app',
  release: 'paas.release',
  process: 'paas.process',
  replica: 'paas.replica',
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

export function containerName(app: string, type: string, replica: number, version: number): string {
  return `paas-${app}-${type}-${replica}-v${version}`;
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
export function planContainers(spec: ReleaseSpec, webPorts: readonly number[] = []): ContainerPlan[] {
  const types = Object.keys(spec.formation).filter((type) => spec.formation[type]! > 0 && type in spec.processes);
  types.sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)));
  const envNames = Object.keys(spec.env).sort();
  const plans: ContainerPlan[] = [];
  for (const type of types) {
    for (let replica = 1; replica <= spec.formation[type]!; replica += 1) {
      const name = containerName(spec.app, type, replica, spec.version);
      const runArgs = [
        'run', '--detach',
        '--name', name,
        '--label', `${LABEL.app}=${spec.app}`,
        '--label', `${LABEL.release}=${spec.version}`,
        '--label', `${LABEL.process}=${type}`,
        '--label', `${LABEL.replica}=${replica}`,
        '--restart', 'unless-stopped',
        '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3',
        '--env', `PORT=${spec.port}`,
        '--env', `PAAS_APP=${spec.app}`,
        '--env', `PAAS_RELEASE=v${spec.version}`,
        '--env', `PAAS_PROCESS=${type}.${replica}`,
        ...envNames.flatMap((key) => ['--env', key]),
        ...(type === WEB ? ['--publish', `127.0.0.1:${webPort(webPorts, replica)}:${spec.port}`] : []),
        spec.image,
        ...commandArgs(spec.processes[type] ?? null),
      ];
      plans.push({ name, type, replica, runArgs, envNames });
    }
  }
  return plans;
}
