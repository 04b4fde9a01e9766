/**
 * Volumes: named Docker volumes of an app, mounted into the process types that declare them and
 * into every one-off container of its releases (release phase, scripts, `paas run`, scheduled
 * tasks). They come from paas.yml `volumes:` (with each deploy) and from `paas volumes:add` (kept
 * on the host, apps/<app>/volumes.json); a release records the mounts it runs with.
 */
import { PaasError } from '../errors.js';
import { checkProcessType, quote } from '../config/validators.js';

export const VOLUME_SOURCES = ['paas.yml', 'volumes:add'] as const;
export type VolumeSource = (typeof VOLUME_SOURCES)[number];

export interface VolumeMount {
  name: string;
  /** Absolute path inside the containers. */
  path: string;
  /** Process types that mount it; absent: every type. One-off containers always mount it. */
  processes?: string[];
  source: VolumeSource;
}

/** Labels of an app's Docker volumes. */
export const VOLUME_LABEL = { app: 'paas.app', volume: 'paas.volume' } as const;

export const MAX_VOLUMES = 20;
const VOLUME_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const MAX_PATH = 200;
/** Where a volume would hide what the container needs to run, or what the kernel provides. */
const RESERVED_PATHS = ['/', '/bin', '/sbin', '/lib', '/lib64', '/usr', '/etc', '/proc', '/sys', '/dev', '/run', '/tmp', '/var', '/boot'];

/** The Docker volume of an app's volume: `paas-<app>.<name>` (app names have no dots). */
export function dockerVolumeName(app: string, name: string): string {
  return `paas-${app}.${name}`;
}

export function checkVolumeName(name: string): string | undefined {
  if (VOLUME_NAME.test(name)) return undefined;
  return `${quote(name)} is not a valid volume name (lowercase letters, digits and dashes, starting with a letter, at most 30 characters)`;
}

/** A mount point: absolute, normalised (no `.`, `..`, `//`, trailing `/`), printable, and not a system directory. */
export function checkVolumePath(path: string): string | undefined {
  const invalid = `${quote(path)} is not a valid mount path`;
  if (!path.startsWith('/')) return `${invalid}: it must be absolute, such as /app/data`;
  if (path.length > MAX_PATH) return `${invalid}: at most ${MAX_PATH} characters are allowed`;
  if (!/^[A-Za-z0-9._/@+-]+$/.test(path)) return `${invalid}: only letters, digits and . _ - @ + / are allowed`;
  if (RESERVED_PATHS.includes(path) || ['/proc/', '/sys/', '/dev/'].some((prefix) => path.startsWith(prefix))) return `${invalid}: it would hide a system directory of the container`;
  const parts = path.split('/').slice(1);
  if (parts.some((part) => part === '' || part === '.' || part === '..')) return `${invalid}: write it without empty, "." or ".." parts (and without a trailing /)`;
  return undefined;
}

/** `NAME:/path` (volumes:add's argument). */
export function parseVolumeArgument(text: string): { name: string; path: string } {
  const colon = text.indexOf(':');
  if (colon < 0) throw new PaasError('usage', `${quote(text)} is not NAME:/path`, { hint: 'e.g. paas volumes:add data:/app/data' });
  const name = text.slice(0, colon);
  const path = text.slice(colon + 1);
  const problem = checkVolumeName(name) ?? checkVolumePath(path);
  if (problem) throw new PaasError('usage', problem, { hint: 'e.g. paas volumes:add data:/app/data' });
  return { name, path };
}

/** Problems of a list of mounts (as a release or the host file holds them), each naming the entry. */
export function volumeProblems(volumes: unknown, field = 'volumes'): string[] {
  if (!Array.isArray(volumes)) return [`${field}: expected a list of { name, path, processes, source }`];
  if (volumes.length > MAX_VOLUMES) return [`${field}: ${volumes.length} volumes, at most ${MAX_VOLUMES} are allowed`];
  const problems: string[] = [];
  const names = new Set<string>();
  const paths = new Set<string>();
  volumes.forEach((volume: unknown, index) => {
    const at = `${field}[${index}]`;
    if (typeof volume !== 'object' || volume === null || Array.isArray(volume)) return problems.push(`${at}: expected { name, path, processes, source }`);
    const { name, path, processes, source } = volume as Record<string, unknown>;
    const nameProblem = typeof name === 'string' ? checkVolumeName(name) : 'expected a name';
    if (nameProblem) problems.push(`${at}.name: ${nameProblem}`);
    else if (names.has(name as string)) problems.push(`${at}.name: ${name as string} is listed twice`);
    else names.add(name as string);
    const pathProblem = typeof path === 'string' ? checkVolumePath(path) : 'expected a path';
    if (pathProblem) problems.push(`${at}.path: ${pathProblem}`);
    else if (paths.has(path as string)) problems.push(`${at}.path: ${path as string} is mounted twice`);
    else paths.add(path as string);
    if (processes !== undefined) {
      if (!Array.isArray(processes) || processes.length === 0 || processes.length > 20) problems.push(`${at}.processes: expected a list of 1 to 20 process types`);
      else for (const type of processes) {
        const problem = typeof type === 'string' ? checkProcessType(type) : 'expected a process type';
        if (problem) problems.push(`${at}.processes: ${problem}`);
      }
    }
    if (!VOLUME_SOURCES.includes(source as VolumeSource)) problems.push(`${at}.source: expected ${VOLUME_SOURCES.join(' or ')}`);
    return undefined;
  });
  return problems;
}

/**
 * The mounts a release runs with: paas.yml's (from the deploy) and the host's (volumes:add), a
 * release's own volumes:add entries replaced by the host's current ones. A name or a path that
 * both declare differently is refused, naming both, before anything changes.
 */
export function mergeVolumes(requested: readonly VolumeMount[], onHost: readonly VolumeMount[]): VolumeMount[] {
  const fromConfig = requested.filter((volume) => volume.source === 'paas.yml');
  for (const added of onHost) {
    const clash = fromConfig.find((volume) => volume.name === added.name || volume.path === added.path);
    if (!clash) continue;
    if (clash.name === added.name && clash.path === added.path) continue;
    throw new PaasError('config', `volume ${clash.name} (${clash.path}) in paas.yml clashes with ${added.name} (${added.path}) added with volumes:add`, {
      where: 'paas.yml volumes',
      hint: `keep one: change paas.yml, or \`paas volumes:remove ${added.name}\``,
    });
  }
  const names = new Set(fromConfig.map((volume) => volume.name));
  const merged = [...fromConfig, ...onHost.filter((volume) => !names.has(volume.name))];
  if (merged.length > MAX_VOLUMES) throw new PaasError('config', `${merged.length} volumes, at most ${MAX_VOLUMES} are allowed`, { where: 'paas.yml volumes' });
  return merged;
}

/** The mounts of a container of `type` (undefined: a one-off container, which mounts every volume). */
export function mountsFor(app: string, volumes: readonly VolumeMount[] | undefined, type?: string): { Type: 'volume'; Source: string; Target: string }[] {
  return (volumes ?? [])
    .filter((volume) => type === undefined || !volume.processes || volume.processes.includes(type))
    .map((volume) => ({ Type: 'volume' as const, Source: dockerVolumeName(app, volume.name), Target: volume.path }));
}

/** The Engine API body of POST /volumes/create for one of an app's volumes (creating an existing one is a no-op). */
export function volumeCreate(app: string, name: string): { Name: string; Driver: 'local'; Labels: Record<string, string> } {
  return { Name: dockerVolumeName(app, name), Driver: 'local', Labels: { [VOLUME_LABEL.app]: app, [VOLUME_LABEL.volume]: name } };
}

/** One line per mount for `releases` and `ps`: `data:/app/data (web, worker)`. */
export function volumeText(volume: VolumeMount): string {
  return `${volume.name}:${volume.path}${volume.processes ? ` (${volume.processes.join(', ')})` : ''}`;
}
