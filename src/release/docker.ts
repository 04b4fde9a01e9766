/**
 * Every docker command line the agent runs, as exact argv arrays (without the leading `docker`):
 * pure builders, unit-tested as values (test/release/docker.test.ts). Containers, networks and
 * images are created and removed through the Engine API instead (src/agent/engine.ts); the CLI
 * is left for what streams (builds, `load`, logs, attaching) or formats (ps, stats, inspect).
 * Every value in these arrays is a name or a number paas validated; nothing goes through a shell.
 */

export interface BuildArgv {
  /** The Dockerfile, outside the context directory. */
  dockerfile: string;
  tag: string;
  /** Where docker writes the image ID. */
  idFile: string;
  buildArgs: Record<string, string>;
  context: string;
}

/** `docker build` with BuildKit's plain progress (the caller sets DOCKER_BUILDKIT=1). */
export function buildArgv(job: BuildArgv): string[] {
  return ['build', '--progress', 'plain', ...classicBuildArgv(job).slice(1)];
}

/** `docker build` with the classic builder (DOCKER_BUILDKIT=0; it has no --progress). */
export function classicBuildArgv(job: BuildArgv): string[] {
  return [
    'build', '--file', job.dockerfile, '--tag', job.tag, '--iidfile', job.idFile,
    ...Object.entries(job.buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]),
    job.context,
  ];
}

/** The `repository:tag` of each image of a repository (`paas/<app>`). */
export function imageTagsArgv(repository: string): string[] {
  return ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository];
}

/** Every image's ID. */
export const imageIdsArgv = (): string[] => ['image', 'ls', '--quiet', '--no-trunc'];

/** The layer diff IDs of each image, one JSON list per line. */
export function imageLayersArgv(ids: string[]): string[] {
  return ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ...ids];
}

export const serverVersionArgv = (): string[] => ['version', '--format', '{{.Server.Version}}'];

/** `docker load` of an archive on stdin. */
export const loadArgv = (): string[] => ['load'];

/** The last lines of a container's log, with Docker's timestamps when asked. */
export function logsArgv(container: string, tail: number | 'all', options: { timestamps?: boolean; follow?: boolean } = {}): string[] {
  return ['logs', ...(options.timestamps ? ['--timestamps'] : []), ...(options.follow ? ['--follow'] : []), '--tail', String(tail), container];
}

/** IDs of the app's containers, running or not. */
export function appContainerIdsArgv(label: string): string[] {
  return ['ps', '--all', '--quiet', '--filter', `label=${label}`];
}

/** Name, status and ports of the app's containers, tab-separated. */
export function appContainerTableArgv(label: string): string[] {
  return ['ps', '--all', '--filter', `label=${label}`, '--format', '{{.Names}}\t{{.Status}}\t{{.Ports}}'];
}

export function inspectArgv(format: string, ids: string[]): string[] {
  return ['inspect', '--format', format, ...ids];
}

/** One sample of CPU and memory of running containers, one JSON object per line. */
export function statsArgv(containers: string[]): string[] {
  return ['stats', '--no-stream', '--format', '{{json .}}', ...containers];
}

/** SIGTERM, up to `seconds`, then SIGKILL, then start again. */
export function restartArgv(seconds: number, ids: string[]): string[] {
  return ['restart', '--time', String(seconds), ...ids];
}

/** Starts a created container with its output (and, with `interactive`, its input) attached. */
export function startAttachedArgv(id: string, interactive = false): string[] {
  return ['start', '--attach', ...(interactive ? ['--interactive'] : []), id];
}

/** Runs argv in a running container (no TTY, no stdin), as the image's user. */
export function execArgv(container: string, argv: string[]): string[] {
  return ['exec', container, ...argv];
}
