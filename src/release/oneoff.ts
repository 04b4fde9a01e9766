import { LABEL } from './containers.js';
import type { ReleaseSpec } from './types.js';

/** Label of one-off containers (release phase, `paas run`): a rollout never drains them. */
export const ONE_OFF_LABEL = 'paas.oneoff';

export interface OneOffOptions {
  /** 'release' (the release phase) or 'run' (`paas run`). */
  kind: 'release' | 'run';
  name: string;
  /** The command as argv: exec'd by docker, never through a shell. */
  argv: string[];
  /** Names of the variables whose values docker takes from its own environment. */
  envNames: string[];
  /** Keep stdin open (-i) and allocate a TTY (-t). */
  interactive?: boolean;
  tty?: boolean;
}

export function releasePhaseName(app: string, version: number): string {
  return `paas-${app}-release-v${version}`;
}

/**
 * `docker run --rm` argv of a one-off container with the release's image and environment. As for
 * the app's processes, only variable NAMES are in argv (`--env NAME`); the values come from the
 * environment of the docker process.
 */
export function planOneOff(spec: Pick<ReleaseSpec, 'app' | 'version' | 'image' | 'port'>, options: OneOffOptions): string[] {
  return [
    'run', '--rm',
    ...(options.interactive ? ['--interactive'] : []),
    ...(options.tty ? ['--tty'] : []),
    '--name', options.name,
    '--label', `${LABEL.app}=${spec.app}`,
    '--label', `${ONE_OFF_LABEL}=${options.kind}`,
    '--log-driver', 'none',
    '--env', `PORT=${spec.port}`,
    '--env', `PAAS_APP=${spec.app}`,
    '--env', `PAAS_RELEASE=v${spec.version}`,
    '--env', `PAAS_PROCESS=${options.kind}`,
    ...[...options.envNames].sort().flatMap((name) => ['--env', name]),
    spec.image,
    ...options.argv,
  ];
}
