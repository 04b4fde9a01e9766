import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PaasError } from '../errors.js';
import {
  AGENT_HOST, PROBE_PATH, ROUTES_DIR, SITES_FILE, checkSite, parseSites, probeAnswer, renderAgentServer, renderRoutes, renderSites,
  type AppRoutes, type AppSite,
} from '../nginx/config.js';
import { run, sleep } from './exec.js';
import { NGINX_DIR, writeAtomic } from './state.js';
import { withHostLock } from './lock.js';
import { failpoint } from './failpoints.js';

const exists = (file: string) => fs.access(file).then(() => true, () => false);
const AGENT_SERVER_FILE = () => path.join(NGINX_DIR, '001-agent.conf');

async function testConfig(): Promise<{ ok: boolean; output: string }> {
  const result = await run('nginx', ['-t'], { check: false });
  return { ok: result.code === 0, output: `${result.stderr}${result.stdout}`.trim() };
}

/** GET on nginx's loopback agent server; the body of a 200, else undefined. */
function askNginx(pathname: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port: 80, path: pathname, headers: { Host: AGENT_HOST }, agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve(response.statusCode === 200 ? body.trim() : undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/**
 * Reloads nginx (old workers finish their requests; it is started when not running) and waits
 * until it serves `generation`: `nginx -s reload` returns before the new workers take over.
 */
export async function reloadNginx(generation: string, timeoutMs = 15_000): Promise<void> {
  const reload = await run('nginx', ['-s', 'reload'], { check: false });
  if (reload.code !== 0) await run('nginx', []);
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    // A few answers in a row from fresh connections: no old worker is still taking new ones.
    seen = (await askNginx('/generation')) === generation ? seen + 1 : 0;
    if (seen >= 3) return;
    await sleep(seen ? 10 : 50);
  }
  throw new PaasError('host', `nginx did not take the new configuration within ${timeoutMs / 1000} s`, {
    hint: 'check nginx on the host: `nginx -t`, its error log, and that it listens on port 80',
  });
}

/**
 * One nginx configuration change at a time on the host, whatever the app: each change writes the
 * agent server's generation token and waits for nginx to serve it, so two at once (two apps
 * deployed together, a domains:add during another app's deploy) would each wait for a token the
 * other overwrote. A kernel lock (lock.ts), freed if its holder dies.
 */
export async function withNginxLock<T>(change: () => Promise<T>, waitMs = 120_000): Promise<T> {
  return withHostLock('nginx', waitMs, () => new PaasError('host', `another nginx configuration change did not finish within ${waitMs / 1000} s`, {
    hint: 'try again; if it persists, check nginx on the host',
  }), change);
}

/** A change of nginx's configuration files: content to write, or null to take the file out. */
export type NginxFiles = Record<string, string | null>;

/**
 * Changes nginx's configuration files only if nginx accepts the result: new files go in place
 * with the old ones kept as `.prev`, removed ones moved to `.removed`, `nginx -t` judges, and a
 * rejected change is undone before anything is reloaded. nginx includes only `*.conf`, so what a
 * crash leaves beside them is never loaded; setupHost() settles it next time. Returns once nginx
 * serves the new configuration (it is started when not running). Only paas's own setup and
 * upgrades change nginx's configuration: apps, domains and certificates change the sites table.
 */
export async function changeNginxConfig(files: NginxFiles): Promise<void> {
  await withNginxLock(async () => {
    const generation = randomUUID();
    const undo: (() => Promise<void>)[] = [];
    for (const [file, content] of Object.entries(files)) {
      const had = await exists(file);
      if (content === null) {
        if (!had) continue;
        await fs.rename(file, `${file}.removed`);
        undo.push(() => fs.rename(`${file}.removed`, file));
        continue;
      }
      await writeAtomic(`${file}.next`, content, 0o644);
      if (had) await fs.copyFile(file, `${file}.prev`);
      await fs.rename(`${file}.next`, file);
      undo.push(had ? () => fs.rename(`${file}.prev`, file) : () => fs.rm(file, { force: true }));
    }
    await writeAtomic(AGENT_SERVER_FILE(), renderAgentServer(generation), 0o644);
    const test = await testConfig();
    if (!test.ok) {
      for (const step of undo.reverse()) await step();
      throw new PaasError('host', 'nginx rejected the new configuration; the previous one is still in place', {
        where: Object.keys(files).join(', '),
        details: test.output.split('\n').slice(-8),
        hint: 'this is a bug in paas or a broken nginx setup on the host: run `nginx -t` there',
      });
    }
    for (const file of Object.keys(files)) await Promise.all([fs.rm(`${file}.prev`, { force: true }), fs.rm(`${file}.removed`, { force: true })]);
    await reloadNginx(generation);
  });
}

/** The sites table the agent last wrote (empty before any app). */
export async function readSites(): Promise<{ generation: string; sites: AppSite[] }> {
  const text = await fs.readFile(SITES_FILE, 'utf8').catch(() => undefined);
  if (text === undefined) return { generation: '', sites: [] };
  try {
    return parseSites(text);
  } catch (error) {
    throw new PaasError('host', `the sites table is damaged: ${(error as Error).message}`, { where: SITES_FILE, hint: 'run `paas host:setup` again: it rebuilds the table from the apps\' releases' });
  }
}

/** Has nginx load the sites table into shared memory; resolves with what it answers. */
export async function refreshSites(): Promise<string | undefined> {
  return askNginx('/sites');
}

/**
 * Puts a whole sites table in place and has nginx load it (no reload): nginx answers the
 * generation it now holds; on any other answer the previous table is put back. The caller holds
 * the nginx lock.
 */
async function writeSitesUnlocked(sites: AppSite[]): Promise<void> {
  const previous = await fs.readFile(SITES_FILE, 'utf8').catch(() => undefined);
  const generation = randomUUID();
  await writeAtomic(SITES_FILE, renderSites(sites, generation), 0o644);
  await failpoint('sites-written');
  const answer = await refreshSites();
  if (answer === `generation ${generation}`) return;
  if (previous === undefined) await fs.rm(SITES_FILE, { force: true });
  else await writeAtomic(SITES_FILE, previous, 0o644);
  await refreshSites();
  throw new PaasError('host', `nginx did not take the new sites table (it answered ${JSON.stringify(answer ?? 'nothing')})`, {
    where: SITES_FILE,
    hint: 'run `paas host:setup` for this host (a host set up by an older paas serves apps from per-app files until then); check that nginx runs with its Lua module',
  });
}

/**
 * Replaces the whole sites table (host:setup rebuilding it from the apps' releases) without
 * asking nginx to load it: setup reloads nginx next, and then checks what nginx holds with
 * expectSites(). Returns the table's generation.
 */
export async function writeSitesFile(sites: AppSite[]): Promise<string> {
  const generation = randomUUID();
  const text = renderSites(sites, generation);
  await withNginxLock(() => writeAtomic(SITES_FILE, text, 0o644));
  return generation;
}

/** Has nginx load the sites table and checks it holds `generation`. */
export async function expectSites(generation: string): Promise<void> {
  const answer = await withNginxLock(() => refreshSites());
  if (answer !== `generation ${generation}`) {
    throw new PaasError('host', `nginx did not take the sites table (it answered ${JSON.stringify(answer ?? 'nothing')})`, {
      where: SITES_FILE,
      hint: 'check that nginx runs with the Lua module (libnginx-mod-http-lua and lua-resty-core) and its error log',
    });
  }
}

/** The group nginx's workers run as (its `user` directive; Debian's www-data by default), by id. */
export async function nginxWorkerGroup(): Promise<number> {
  const conf = await fs.readFile('/etc/nginx/nginx.conf', 'utf8').catch(() => '');
  const [, user = 'www-data', group] = /^\s*user\s+([A-Za-z0-9_.-]+)(?:\s+([A-Za-z0-9_.-]+))?\s*;/m.exec(conf) ?? [];
  const groups = await fs.readFile('/etc/group', 'utf8').catch(() => '');
  const byName = new Map(groups.split('\n').map((line) => line.split(':')).filter((f) => f.length >= 3).map((f) => [f[0]!, Number(f[2])]));
  if (group && byName.has(group)) return byName.get(group)!;
  if (byName.has(user)) return byName.get(user)!;
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const entry = passwd.split('\n').map((line) => line.split(':')).find((f) => f[0] === user);
  if (entry && Number.isInteger(Number(entry[3]))) return Number(entry[3]);
  throw new PaasError('host', `cannot find the group of nginx's worker user ${JSON.stringify(user)}`, { where: '/etc/nginx/nginx.conf', hint: 'check the `user` directive of nginx.conf' });
}

const sameSite = (a: AppSite | undefined, b: AppSite | undefined) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Puts the app's site into the sites table and has nginx take it, only when it changes (new app,
 * new names, a certificate). `check` sees the names first, beside the other apps' entries, under
 * the host-wide nginx lock: two apps that claim one name at once cannot both get it. No reload.
 */
export async function applySite(site: AppSite, check: (names: string[], owners: { app: string; names: string[] }[]) => void = () => {}): Promise<boolean> {
  checkSite(site);
  return withNginxLock(async () => {
    const { sites } = await readSites();
    const others = sites.filter((other) => other.app !== site.app);
    check(site.serverNames, others.map((other) => ({ app: other.app, names: other.serverNames })));
    if (sameSite(sites.find((other) => other.app === site.app), site)) return false;
    await writeSitesUnlocked([...others, site]);
    return true;
  });
}

/** Takes the app out of the sites table: its names answer 404 (HTTPS: no handshake) at once. Returns false when it was not there. */
export async function removeSite(app: string): Promise<boolean> {
  return withNginxLock(async () => {
    const { sites } = await readSites();
    if (!sites.some((site) => site.app === app)) return false;
    await writeSitesUnlocked(sites.filter((site) => site.app !== app));
    return true;
  });
}

/** GET of the probe path for a name: the answer of the server nginx picks for it. */
function probe(name: string): Promise<string | undefined> {
  const host = name.startsWith('*.') ? `paas-probe.${name.slice(2)}` : name;
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port: 80, path: PROBE_PATH, headers: { Host: host }, agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); if (body.length > 1024) request.destroy(); });
      response.on('end', () => resolve(response.statusCode === 200 ? body.trim() : `status ${response.statusCode}`));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', (error) => resolve(`no answer (${(error as NodeJS.ErrnoException).code ?? error.message})`));
  });
}

/** Which of the site's names nginx does not route to the app's server now. */
async function unserved(site: AppSite): Promise<{ name: string; answer: string | undefined }[]> {
  const answers = await Promise.all(site.serverNames.map(async (name) => ({ name, answer: await probe(name) })));
  return answers.filter((a) => a.answer !== probeAnswer(site.app));
}

/**
 * Asks nginx, for each of the app's names, which app it routes it to. When one is not the app's
 * (the table was written but nginx never loaded it: an agent killed in between), nginx is asked
 * to load the table again, and asked again.
 */
export async function verifyServed(site: AppSite): Promise<{ ok: boolean; missing: string[]; details: string[] }> {
  let missing = await unserved(site);
  if (missing.length) {
    await withNginxLock(() => refreshSites());
    missing = await unserved(site);
  }
  return { ok: missing.length === 0, missing: missing.map((m) => m.name), details: missing.map((m) => `${m.name}: nginx answered ${JSON.stringify(m.answer ?? 'nothing')}, not ${JSON.stringify(probeAnswer(site.app))}`) };
}

const routesFile = (app: string) => path.join(ROUTES_DIR, app);

/** The app's current route file, if any (to put back when a switch fails). */
export async function currentRoutes(app: string): Promise<string | undefined> {
  return fs.readFile(routesFile(app), 'utf8').catch(() => undefined);
}

/** Writes route text and has nginx load it into shared memory; resolves with what nginx answers. */
async function loadRoutes(app: string, text: string | undefined): Promise<string | undefined> {
  if (text === undefined) await fs.rm(routesFile(app), { force: true });
  else await writeAtomic(routesFile(app), text, 0o644);
  return askNginx(`/routes/${app}`);
}

/** Has nginx load the app's route file into shared memory again (after a crash between the write and the load). */
export async function refreshRoutes(app: string): Promise<string | undefined> {
  return askNginx(`/routes/${app}`);
}

/** Removes the app's route file and drops its routes from nginx's shared memory. */
export async function removeRoutes(app: string): Promise<void> {
  await loadRoutes(app, undefined);
}

/**
 * Points the app's traffic at new peers without reloading nginx: every worker reads the shared
 * dict, so the switch is one atomic write there. nginx answers the version it now routes; on
 * any other answer the previous routes are put back.
 */
export async function switchRoutes(app: string, routes: AppRoutes): Promise<void> {
  const previous = await currentRoutes(app);
  const answer = await loadRoutes(app, renderRoutes(routes));
  if (answer === `version ${routes.version}`) return;
  await loadRoutes(app, previous);
  throw new PaasError('host', `nginx did not take the new routes of ${app} (it answered ${JSON.stringify(answer ?? 'nothing')})`, {
    where: routesFile(app),
    hint: 'check that nginx runs with the Lua module (libnginx-mod-http-lua) and that `paas host:setup` has been run',
  });
}
