import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { checkAppName } from '../config/validators.js';
import type { AppState } from '../release/types.js';

/** The agent's state root; PAAS_AGENT_ROOT moves it (tests of the agent's pure parts). */
export const ROOT = process.env.PAAS_AGENT_ROOT ?? '/var/lib/paas';
export const APPS_DIR = path.join(ROOT, 'apps');
export const NGINX_DIR = path.join(ROOT, 'nginx');
export const HOST_FILE = path.join(ROOT, 'host.json');

export function appDir(app: string): string {
  const problem = checkAppName(app);
  if (problem) throw new PaasError('usage', `invalid app name ${JSON.stringify(app)}: ${problem}`);
  return path.join(APPS_DIR, app);
}

/** Temp file in the same directory, fsync, rename: readers see the old or the new file, never half. */
export async function writeAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PaasError('failure', `cannot read ${file}: ${(error as Error).message}`, { where: file });
  }
}

export async function readState(app: string): Promise<AppState> {
  return (await readJson<AppState>(path.join(appDir(app), 'state.json'))) ?? { app, releases: [] };
}

export async function writeState(state: AppState): Promise<void> {
  await writeAtomic(path.join(appDir(state.app), 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
}

export async function listApps(): Promise<string[]> {
  try {
    return (await fs.readdir(APPS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

export interface HostInfo {
  /** Docker platform architecture: amd64, arm64, ... */
  arch: string;
  baseDomain: string;
  /** Port where this host's nginx is reached from outside (80, or a published sandbox port). */
  publicPort: number;
  setupAt: string;
}

export function dockerArch(nodeArch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[nodeArch] ?? nodeArch;
}
