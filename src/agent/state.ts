import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { checkAppName } from '../config/validators.js';
import type { AppState } from '../release/types.js';
import { formatBytes } from '../ui/format.js';
import type { HostInfo } from './protocol.js';

export type { HostInfo };

/** The agent's state root; PAAS_AGENT_ROOT moves it (tests of the agent's pure parts). */
export const ROOT = process.env.PAAS_AGENT_ROOT ?? '/var/lib/paas';
/** What lasts only as long as the host runs: locks, test failpoints. */
export const RUN_DIR = process.env.PAAS_AGENT_RUN ?? (process.env.PAAS_AGENT_ROOT ? path.join(ROOT, 'run') : '/run/paas');
export const LOCKS_DIR = path.join(RUN_DIR, 'locks');
export const APPS_DIR = path.join(ROOT, 'apps');
export const NGINX_DIR = path.join(ROOT, 'nginx');
export const HOST_FILE = path.join(ROOT, 'host.json');
/** Host builds' work directories (a tree, the Dockerfile, the image ID), one per build: never inside the tree. */
export const BUILDS_DIR = path.join(ROOT, 'builds');

export function appDir(app: string): string {
  const problem = checkAppName(app);
  if (problem) throw new PaasError('usage', `invalid app name ${JSON.stringify(app)}: ${problem}`);
  return path.join(APPS_DIR, app);
}

/** An error of a write on the host, as a user can act on it (a full disk names the path and the space). */
export function writeError(error: unknown, file: string, bytes?: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const dir = path.dirname(file);
    return new PaasError('host', `the disk of ${dir} is full: cannot write ${file}${bytes !== undefined ? ` (${formatBytes(bytes)})` : ''}`, {
      where: file,
      hint: `free space on the host (at least ${formatBytes(Math.max(bytes ?? 0, 1024 * 1024))}; see \`df -h ${dir}\`; \`docker system prune\` removes unused images), then run the command again: nothing was changed`,
      cause: error,
    });
  }
  return error;
}

/** fsync of a directory: a rename (or create, or unlink) in it survives a crash of the host. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A new temp file in the same directory (created exclusively: an existing file or link there is
 * never reused), fsync, rename over the target, fsync the directory: readers see the old or the
 * new file, never half, and after a crash the rename is either done or not. On any failure the
 * temp file goes and the target is untouched.
 */
export async function writeAtomic(file: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const bytes = Buffer.byteLength(content);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    await syncDir(dir);
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw writeError(error, file, bytes);
  }
}

/** Temp files of writeAtomic left by a process that died between create and rename. */
export const LEFTOVER_TMP = /\.(\d+)\.[0-9a-f]{8}\.tmp$/;

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PaasError('failure', `cannot read ${file}: ${(error as Error).message}`, { where: file });
  }
}

export const stateFile = (app: string) => path.join(appDir(app), 'state.json');

export async function readState(app: string): Promise<AppState> {
  return (await readJson<AppState>(stateFile(app))) ?? { app, releases: [] };
}

export async function writeState(state: AppState): Promise<void> {
  await writeAtomic(stateFile(state.app), `${JSON.stringify(state, null, 2)}\n`);
}

/** Apps with a state directory on this host. */
export async function listApps(): Promise<string[]> {
  try {
    return (await fs.readdir(APPS_DIR, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && checkAppName(e.name) === undefined).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

export function dockerArch(nodeArch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[nodeArch] ?? nodeArch;
}
