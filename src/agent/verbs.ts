import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import { chainIds } from '../push/layers.js';
import { LUA_DIR, ROUTES_DIR, renderDefaultServer, renderInclude } from '../nginx/config.js';
import { PAAS_LUA } from '../nginx/lua.js';
import { DEFAULTS, type AppState } from '../release/types.js';
import { addKey, gitShell, listKeys, removeKey, setupGit } from './git.js';
import { IMAGE_REF, missingImages, validateBuildRequest } from './build.js';
import { deploySession, hostFacts } from './deploy-session.js';
import { docker, run, sleep } from './exec.js';
import { applyNginxConfig } from './nginx.js';
import { readSnapshot } from './config-store.js';
import { CONFIG_VERBS } from './verbs-config.js';
import { appUrls, readHostInfo, rollbackSpec, rollbackTarget } from './rollout.js';
import { appContainers, pruneImages, stopAppContainers } from './containers.js';
import { rollout, withAppLock } from './app-lock.js';
import { apiName, engineGet } from './engine.js';
import { failpoint } from './failpoints.js';
import { INTENTS_DIR, removeIntent } from './intents.js';
import type { Emit } from './protocol.js';
import { PS_VERBS } from './verbs-ps.js';
import { APP_VERBS } from './verbs-app.js';
import { readSettings } from './settings.js';
import { extraDomains } from '../release/settings.js';
import { APPS_DIR, BUILDS_DIR, HOST_FILE, NGINX_DIR, ROOT, appDir, dockerArch, listApps, readJson, readState, writeAtomic, type HostInfo } from './state.js';
import { flag, flags, readBounded, requireFlag } from './args.js';

export interface VerbContext {
  args: string[];
  emit: Emit;
  readStdin: () => Promise<string>;
  /** The raw request body, for verbs that stream it (read it or readStdin, not both). */
  stdin: Readable;
}



const NGINX_INCLUDE = '/etc/nginx/conf.d/paas.conf';
const DEBIAN_DEFAULT_SITE = '/etc/nginx/sites-enabled/default';

async function info({ args }: VerbContext): Promise<unknown> {
  return hostFacts(flag(args, 'app'));
}

/**
 * The background end of a rollout: wait, SIGTERM the old containers (found by the app's label),
 * remove old images, then its intent (intents.ts) goes. Killed on the way, the next agent that
 * starts finishes it (reconcile.ts).
 */
async function drain({ args }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  appDir(app); // validates the name
  const id = requireFlag(args, 'id');
  if (!/^[0-9a-f]{8}$/.test(id)) throw new PaasError('usage', '--id: expected 8 hex digits');
  const containers = flags(args, 'container').filter((name) => /^paas-[A-Za-z0-9_.-]+$/.test(name));
  const images = flags(args, 'image').filter((image) => IMAGE_REF.test(image));
  await sleep(Math.min(Number(flag(args, 'after') ?? 0) || 0, 600_000));
  await failpoint('drain-stop');
  const stopped = await stopAppContainers(app, containers, Math.min(Number(flag(args, 'timeout') ?? 10) || 0, 3600));
  const pruned = await pruneImages(images);
  await removeIntent({ kind: 'drain', app, id });
  return { stopped, pruned };
}

/** Creates the state directory and nginx wiring; idempotent. Returns what it did. */
async function setup({ args }: VerbContext): Promise<unknown> {
  const baseDomain = flag(args, 'base-domain') ?? 'localhost';
  const publicPort = Number(flag(args, 'public-port') ?? 80);
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
async function layers(): Promise<unknown> {
  const ids = (await docker(['image', 'ls', '--quiet', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return { chainIds: [] };
  // An image listed above may be pruned by now (a drain in the background): the others still print.
  const { stdout } = await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ...new Set(ids)], { check: false });
  const all = new Set<string>();
  for (const line of stdout.split('\n').filter(Boolean)) for (const id of chainIds(JSON.parse(line) as string[])) all.add(id);
  return { chainIds: [...all] };
}

/** `docker load` from stdin (a docker-save archive, gzip or not). */
async function load(): Promise<unknown> {
  const result = await run('docker', ['load'], { stdin: process.stdin, check: false });
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim();
    throw new PaasError('host', /no space left on device/i.test(output) ? 'docker load failed: the disk of the Docker Engine is full' : 'docker load refused the image archive', {
      details: output.split('\n').slice(-5),
      ...(/no space left on device/i.test(output) ? { hint: 'free space on the host (`df -h /var/lib/docker`; `docker system prune`), then deploy again' } : {}),
    });
  }
  return { loaded: result.stdout.split('\n').filter((l) => l.startsWith('Loaded image')).map((l) => l.replace(/^Loaded image( ID)?: /, '')) };
}

/**
 * Holds the app's lock for as long as stdin stays open: the CLI takes it when it connects, so a
 * second command fails before anything changes, and a dropped connection releases it (after the
 * verbs working under it, with its token, are done).
 */
async function lock({ args, emit, readStdin }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const token = randomUUID();
  await withAppLock(app, { holder: flag(args, 'by') ?? 'unknown', command: flag(args, 'command') ?? 'paas', token }, { waitMs: Number(flag(args, 'wait') ?? 0) }, async () => {
    emit(token, 'locked');
    await readStdin();
  });
  return { app, released: true };
}

async function rollback({ args, emit }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const to = flag(args, 'to');
  if (to !== undefined && !/^[1-9]\d{0,8}$/.test(to)) throw new PaasError('usage', `--to: ${JSON.stringify(to.slice(0, 20))} is not a release number`, { hint: 'give the number of a release, e.g. --to 3 (see paas releases)' });
  const state = await readState(app);
  const spec = rollbackSpec(state, {
    ...(to !== undefined ? { to: Number(to) } : {}),
    version: Number(flag(args, 'version') ?? 0),
    createdBy: flag(args, 'by') ?? 'unknown',
    keepReleases: Number(flag(args, 'keep') ?? DEFAULTS.keepReleases),
  });
  const present = await engineGet(`/images/${apiName(spec.image)}/json`);
  if (present.status !== 200) {
    throw new PaasError('usage', `the image of v${to ?? '?'} (${spec.image}) is no longer on this host`, {
      hint: 'only the newest releases keep their images (keep_releases in paas.yml); deploy that code again instead',
    });
  }
  // Heroku's rollback: the code AND the config vars of that release; no release phase.
  const config = await readSnapshot(app, rollbackTarget(state, to !== undefined ? Number(to) : undefined));
  const token = flag(args, 'lock-token');
  return rollout(spec, emit, { waitMs: Number(flag(args, 'wait') ?? 0), ...(token ? { token } : {}) }, [], { config, releasePhase: false });
}

/**
 * What a host says about an app after a command lost its connection: once the app's lock is free
 * (waiting up to --wait ms for the agent that may still be finishing), reconciled, which release
 * is current and which containers run. With the lock still held, who holds it.
 */
async function outcome({ args }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const waitMs = Math.min(Math.max(Number(flag(args, 'wait') ?? 0) || 0, 0), 300_000);
  const summary = async () => {
    const state = await readState(app);
    const containers = (await appContainers(app)).map((c) => ({ name: c.name, release: c.release, running: c.running }));
    return { current: state.current, releases: state.releases.map((r) => ({ version: r.version, status: r.status })), containers };
  };
  try {
    return await withAppLock(app, { holder: flag(args, 'by') ?? 'unknown', command: 'outcome' }, { waitMs }, async () => ({ app, locked: false, ...(await summary()) }));
  } catch (error) {
    if (error instanceof PaasError && error.kind === 'lock') return { app, locked: true, holder: error.message, ...(await summary()) };
    throw error;
  }
}

async function releases({ args }: VerbContext): Promise<AppState> {
  return readState(requireFlag(args, 'app'));
}

async function apps(): Promise<unknown> {
  const host = await readHostInfo();
  return Promise.all((await listApps()).map(async (app) => {
    const state = await readState(app);
    const current = state.releases.find((r) => r.version === state.current);
    const domains = extraDomains(current?.domains ?? [], await readSettings(app).catch(() => ({ domains: [] })));
    return { app, current: state.current, image: current?.image, urls: current ? appUrls(app, domains, host) : [] };
  }));
}

async function appInfo({ args }: VerbContext): Promise<unknown> {
  const app = requireFlag(args, 'app');
  const state = await readState(app);
  const host = await readHostInfo();
  const current = state.releases.find((r) => r.version === state.current);
  const { stdout } = await docker(['ps', '--all', '--filter', `label=paas.app=${app}`, '--format', '{{.Names}}\t{{.Status}}\t{{.Ports}}']);
  const containers = stdout.split('\n').filter(Boolean).map((line) => {
    const [name, status, ports] = line.split('\t');
    return { name, status, ports };
  });
  const domains = extraDomains(current?.domains ?? [], await readSettings(app));
  return { app, current: state.current, release: current, releases: state.releases.length, containers, urls: current ? appUrls(app, domains, host) : [] };
}

/** Which of the given images (--ref, repeatable) this host lacks. */
async function images({ args }: VerbContext): Promise<unknown> {
  const refs = flags(args, 'ref');
  validateBuildRequest({ requires: refs, dockerfile: 'Dockerfile', buildArgs: {} });
  return { missing: await missingImages(refs) };
}

async function keysAdd({ args, readStdin }: VerbContext): Promise<unknown> {
  return addKey(requireFlag(args, 'name'), await readStdin());
}

export const VERBS: Record<string, (context: VerbContext) => Promise<unknown>> = {
  info, setup, layers, load, lock, deploy: deploySession, rollback, drain, releases, outcome, apps, 'app-info': appInfo, images,
  ...CONFIG_VERBS,
  ...PS_VERBS,
  ...APP_VERBS,
  'keys-add': keysAdd,
  'keys-list': () => listKeys(),
  'keys-remove': ({ args }) => removeKey(requireFlag(args, 'name')),
};

/** Verbs git runs: they speak to git (and, through it, to the pusher as `remote:` lines), not to the CLI. */
export const RAW_VERBS: Record<string, (args: string[]) => Promise<number>> = {
  'git-shell': (args) => gitShell(args[0]),
  'git-receive': async (args) => {
    const { gitReceive } = await import('./git-receive.js');
    await gitReceive(args[0] ?? '', await readBounded(process.stdin), (line) => { if (!process.stderr.destroyed) process.stderr.write(`${line}\n`); });
    return 0;
  },
};
