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

/** The buildx plugin's version: it answers only where the CLI has the plugin (BuildKit builds). */
export const buildxVersionArgv = (): string[] => ['buildx', 'version'];

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

/** Runs argv in a running container (no TTY; stdin only when `interactive`), as the image's user. */
export function execArgv(container: string, argv: string[], options: { interactive?: boolean } = {}): string[] {
  return ['exec', ...(options.interactive ? ['--interactive'] : []), container, ...argv];
}

/** SIGTERM (the image's stop signal), up to `seconds`, then SIGKILL. */
export function stopArgv(seconds: number, container: string): string[] {
  return ['stop', '--time', String(seconds), container];
}

export const startArgv = (container: string): string[] => ['start', container];

/**
 * A Redis snapshot from stdin into a (stopped) service's volume, in a throwaway container with no
 * network: the old data goes, the RDB is written aside and renamed, then a Redis on a unix socket
 * loads it and writes it out as the append-only files the service reads at start (with
 * appendonly on and no such files, Redis would start empty), and the redis user (999) owns it all.
 */
export function restoreRedisSnapshotArgv(volume: string, image: string): string[] {
  return ['run', '--rm', '--interactive', '--network', 'none', '--volume', `${volume}:/data`, '--entrypoint', 'sh', image, '-c', REDIS_RESTORE_SCRIPT];
}

const REDIS_RESTORE_SCRIPT = [
  'set -e',
  'rm -rf /data/appendonlydir /data/appendonly.aof /data/dump.rdb',
  'cat > /data/dump.rdb.restore && mv /data/dump.rdb.restore /data/dump.rdb',
  "redis-server --dir /data --dbfilename dump.rdb --appendonly no --save '' --port 0 --unixsocket /tmp/restore.sock &",
  'r() { redis-cli -s /tmp/restore.sock "$@"; }',
  'i=0; until r ping >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 3000 ] || exit 1; sleep 0.1; done',
  'r config set appendonly yes >/dev/null',
  'i=0; until r info persistence | tr -d "\r" | grep -q "^aof_rewrite_in_progress:0" && r info persistence | tr -d "\r" | grep -q "^aof_rewrite_scheduled:0" && [ -d /data/appendonlydir ]; do i=$((i+1)); [ $i -lt 36000 ] || exit 1; sleep 0.1; done',
  'r info persistence | tr -d "\r" | grep -q "^aof_last_bgrewrite_status:ok"',
  'r shutdown nosave >/dev/null 2>&1 || true',
  'wait || true',
  'chown -R 999:999 /data',
].join('\n');

/** A volume's files as a tar stream on stdout, from a throwaway container of `image` (the app's) with the volume read-only and no network. */
export function volumeTarArgv(volume: string, image: string): string[] {
  return ['run', '--rm', '--network', 'none', '--volume', `${volume}:/data:ro`, '--entrypoint', 'tar', image, '-C', '/data', '-cf', '-', '.'];
}

/** A tar stream from stdin into a volume, emptied first, in a throwaway container of `image` with no network. */
export function volumeUntarArgv(volume: string, image: string): string[] {
  return ['run', '--rm', '--interactive', '--network', 'none', '--volume', `${volume}:/data`, '--entrypoint', 'sh', image, '-c', 'find /data -mindepth 1 -delete && tar -C /data -xf -'];
}

/** The last `lines` lines of every task of a Swarm service, from any node (run on a manager). */
export function serviceLogsArgv(service: string, lines: number): string[] {
  if (!/^[a-z][a-z0-9-]{0,120}$/.test(service)) throw new Error(`invalid service name ${JSON.stringify(service)}`);
  return ['service', 'logs', '--raw', '--no-trunc', '--tail', String(lines), service];
}

/** Every task's last `tail` lines of a Swarm service, each prefixed with `<service>.<slot>.<task>@<node> | ` and a timestamp. */
export function serviceLogLinesArgv(service: string, tail: number, options: { follow?: boolean } = {}): string[] {
  if (!/^[a-z][a-z0-9-]{0,120}$/.test(service)) throw new Error(`invalid service name ${JSON.stringify(service)}`);
  return ['service', 'logs', '--timestamps', '--no-trunc', ...(options.follow ? ['--follow'] : []), '--tail', String(tail), service];
}
