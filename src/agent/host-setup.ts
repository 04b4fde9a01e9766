/**
 * The host itself: what it has (facts), its setup (the state directory, the nginx wiring, the git
 * user), and the images on its engine (layers for a thin push, loading an archive).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import { LUA_DIR, ROUTES_DIR, renderDefaultServer, renderInclude } from '../nginx/config.js';
import { PAAS_LUA } from '../nginx/lua.js';
import { chainIds } from '../push/layers.js';
import { imageIdsArgv, imageLayersArgv, loadArgv, serverVersionArgv } from '../release/docker.js';
import { docker, run } from './exec.js';
import { setupGit } from './git.js';
import { INTENTS_DIR } from './intents.js';
import { applyNginxConfig } from './nginx.js';
import type { HostFacts, HostInfo } from './protocol.js';
import { otherAppsNames } from './settings.js';
import { APPS_DIR, BUILDS_DIR, HOST_FILE, NGINX_DIR, ROOT, dockerArch, readJson, readState, writeAtomic } from './state.js';

const NGINX_INCLUDE = '/etc/nginx/conf.d/paas.conf';
const DEBIAN_DEFAULT_SITE = '/etc/nginx/sites-enabled/default';

/** What the host has: architecture, setup, with `engine` the Docker Engine's version; with an app, that app's state. */
export async function hostFacts(app: string | undefined, engine = true): Promise<HostFacts> {
  const host = await readJson<HostInfo>(HOST_FILE);
  const [version, state, others] = await Promise.all([
    engine ? docker(serverVersionArgv(), { check: false, timeoutMs: 30_000 }) : undefined,
    app ? readState(app) : undefined,
    // What the other apps answer to: the CLI refuses a paas.yml domain of theirs before it builds.
    app && host ? otherAppsNames(app, host.baseDomain) : undefined,
  ]);
  return {
    arch: dockerArch(), node: process.version, host, ...(state ? { state } : {}), ...(others ? { others } : {}),
    ...(version ? { docker: version.code === 0 ? version.stdout.trim() : undefined } : {}),
  };
}

/** Creates the state directory and nginx wiring; idempotent. Returns what it did. */
export async function setupHost(baseDomain: string, publicPort: number): Promise<{ host: HostInfo; did: string[] }> {
  const did: string[] = [];
  // nginx's workers (www-data) read the route files and the Lua module: those directories are
  // readable, and the state root is traversable but not listable. App state stays 0700.
  const dirs: [string, number][] = [[ROOT, 0o711], [APPS_DIR, 0o700], [NGINX_DIR, 0o755], [LUA_DIR, 0o755], [ROUTES_DIR, 0o755], [BUILDS_DIR, 0o700], [INTENTS_DIR, 0o700]];
  for (const [dir, mode] of dirs) {
    const existed = await fs.stat(dir).then(() => true, () => false);
    await fs.mkdir(dir, { recursive: true, mode });
    await fs.chmod(dir, mode);
    if (!existed) did.push(`created ${dir}`);
  }
  const luaFile = path.join(LUA_DIR, 'paas.lua');
  if ((await fs.readFile(luaFile, 'utf8').catch(() => '')) !== PAAS_LUA) {
    await writeAtomic(luaFile, PAAS_LUA, 0o644);
    did.push(`wrote ${luaFile}`);
  }
  const include = renderInclude(NGINX_DIR);
  if ((await fs.readFile(NGINX_INCLUDE, 'utf8').catch(() => '')) !== include) {
    await writeAtomic(NGINX_INCLUDE, include, 0o644);
    did.push(`wrote ${NGINX_INCLUDE}`);
  }
  const site = await fs.lstat(DEBIAN_DEFAULT_SITE).catch(() => undefined);
  if (site?.isSymbolicLink()) {
    // Debian's welcome site also claims default_server on port 80.
    await fs.rm(DEBIAN_DEFAULT_SITE);
    did.push(`disabled ${DEBIAN_DEFAULT_SITE} (the file stays in sites-available)`);
  }
  const defaultServer = path.join(NGINX_DIR, '000-default.conf');
  const fresh = (await fs.readFile(defaultServer, 'utf8').catch(() => '')) !== renderDefaultServer();
  // Applied every time: it also starts nginx when it is not running, and proves it serves.
  await applyNginxConfig(defaultServer, renderDefaultServer());
  if (fresh) did.push('installed the default server (404 for unknown host names)');
  await setupGit(did);
  const previous = await readJson<HostInfo>(HOST_FILE);
  const host: HostInfo = { arch: dockerArch(), baseDomain, publicPort, setupAt: previous?.setupAt ?? new Date().toISOString() };
  if (JSON.stringify(previous) !== JSON.stringify(host)) {
    await writeAtomic(HOST_FILE, `${JSON.stringify(host, null, 2)}\n`, 0o644);
    did.push(`recorded ${HOST_FILE}`);
  }
  return { host, did };
}

/** Chain IDs of every layer of every image on this engine: what a thin push may leave out. */
export async function layerChainIds(): Promise<{ chainIds: string[] }> {
  const ids = (await docker(imageIdsArgv(), { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return { chainIds: [] };
  // An image listed above may be pruned by now (a drain in the background): the others still print.
  const { stdout } = await docker(imageLayersArgv([...new Set(ids)]), { check: false, timeoutMs: 60_000 });
  const all = new Set<string>();
  for (const line of stdout.split('\n').filter(Boolean)) for (const id of chainIds(JSON.parse(line) as string[])) all.add(id);
  return { chainIds: [...all] };
}

/** `docker load` of an archive (a docker-save archive, gzip or not). */
export async function loadImages(archive: Readable): Promise<{ loaded: string[] }> {
  const result = await run('docker', loadArgv(), { stdin: archive, check: false });
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim();
    const full = /no space left on device/i.test(output);
    throw new PaasError('host', full ? 'docker load failed: the disk of the Docker Engine is full' : 'docker load refused the image archive', {
      details: output.split('\n').slice(-5),
      ...(full ? { hint: 'free space on the host (`df -h /var/lib/docker`; `docker system prune`), then deploy again' } : {}),
    });
  }
  return { loaded: result.stdout.split('\n').filter((l) => l.startsWith('Loaded image')).map((l) => l.replace(/^Loaded image( ID)?: /, '')) };
}
