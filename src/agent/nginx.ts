import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { AGENT_HOST, PROBE_PATH, ROUTES_DIR, probeAnswer, renderAgentServer, renderAppConfig, renderRoutes, siteNames, type AppRoutes, type AppSite } from '../nginx/config.js';
import { run, sleep } from './exec.js';
import { NGINX_DIR, writeAtomic } from './state.js';
import { withHostLock } from './lock.js';

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

/** Puts `content` at `file` only if nginx accepts it (see applyUnlocked), one change at a time on the host. */
export async function applyNginxConfig(file: string, content: string): Promise<void> {
  await withNginxLock(() => applyUnlocked(file, content));
}

/**
 * Puts `content` at `file` only if nginx accepts the result: the new file goes in place with the
 * old one kept as `.prev`, `nginx -t` judges, and a rejected file is swapped back before anything
 * is reloaded. A crash in between leaves `.prev`, which recoverNginxConfig() settles next time.
 * Returns once nginx serves the new configuration.
 */
async function applyUnlocked(file: string, content: string): Promise<void> {
  const prev = `${file}.prev`;
  const next = `${file}.next`;
  const generation = randomUUID();
  await writeAtomic(next, content, 0o644);
  if (await exists(file)) await fs.copyFile(file, prev);
  await fs.rename(next, file);
  await writeAtomic(AGENT_SERVER_FILE(), renderAgentServer(generation), 0o644);
  const test = await testConfig();
  if (!test.ok) {
    if (await exists(prev)) await fs.rename(prev, file);
    else await fs.rm(file, { force: true });
    throw new PaasError('host', 'nginx rejected the new configuration; the previous one is still in place', {
      where: file,
      details: test.output.split('\n').slice(-8),
      hint: 'this is a bug in paas or a broken nginx setup on the host: run `nginx -t` there',
    });
  }
  await fs.rm(prev, { force: true });
  await reloadNginx(generation);
}

/**
 * Takes files out of nginx's configuration the same careful way, with one reload for all: moved
 * aside, `nginx -t`, put back if nginx refuses the rest, else reloaded. Returns false when none
 * of them was there.
 */
export async function removeNginxConfig(...files: string[]): Promise<boolean> {
  return withNginxLock(() => removeUnlocked(files));
}

async function removeUnlocked(files: string[]): Promise<boolean> {
  const present: string[] = [];
  for (const file of files) if (await exists(file)) present.push(file);
  if (present.length === 0) return false;
  const generation = randomUUID();
  for (const file of present) await fs.rename(file, `${file}.removed`);
  await writeAtomic(AGENT_SERVER_FILE(), renderAgentServer(generation), 0o644);
  const test = await testConfig();
  if (!test.ok) {
    for (const file of present) await fs.rename(`${file}.removed`, file);
    throw new PaasError('host', 'nginx rejected the configuration without these files; they are still in place', {
      where: present.join(', '),
      details: test.output.split('\n').slice(-8),
      hint: 'run `nginx -t` on the host',
    });
  }
  for (const file of present) await fs.rm(`${file}.removed`, { force: true });
  await reloadNginx(generation);
  return true;
}

/** After a crash mid-apply: keep the file nginx accepts, drop the other (and a half-written .next). */
export async function recoverNginxConfig(file: string): Promise<void> {
  const prev = `${file}.prev`;
  await fs.rm(`${file}.next`, { force: true });
  if (await exists(`${file}.removed`)) {
    // A removal was under way: put the file back; the command that removes it runs again.
    if (!(await exists(file))) await fs.rename(`${file}.removed`, file);
    else await fs.rm(`${file}.removed`, { force: true });
  }
  if (!(await exists(prev))) return;
  if (!(await testConfig()).ok) await fs.rename(prev, file);
  else await fs.rm(prev, { force: true });
}

export const siteFile = (app: string) => path.join(NGINX_DIR, `app-${app}.conf`);

/** The names each other app's site file on this host serves (a deploy in progress included). */
async function siteOwners(except: string): Promise<{ app: string; names: string[] }[]> {
  const files = (await fs.readdir(NGINX_DIR).catch(() => [] as string[])).filter((f) => /^app-[a-z][a-z0-9-]*\.conf$/.test(f));
  const owners = await Promise.all(files.map(async (f) => ({ app: f.slice(4, -5), names: siteNames(await fs.readFile(path.join(NGINX_DIR, f), 'utf8').catch(() => '')) })));
  return owners.filter((o) => o.app !== except);
}

/**
 * Writes the app's nginx file and reloads, only when its content changes (new app, new names).
 * `check` sees the names first, beside the other apps' site files, under the host-wide nginx
 * lock: two apps that claim one name at once cannot both get it.
 */
export async function applySite(site: AppSite, check: (names: string[], owners: { app: string; names: string[] }[]) => void = () => {}): Promise<boolean> {
  const file = siteFile(site.app);
  const content = renderAppConfig(site);
  return withNginxLock(async () => {
    await recoverNginxConfig(file);
    check(site.serverNames, await siteOwners(site.app));
    if ((await fs.readFile(file, 'utf8').catch(() => '')) === content) return false;
    await applyUnlocked(file, content);
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
 * Asks nginx, for each of the app's names, which app's server answers. When one is not the app's
 * (its site file is there but nginx never loaded it: an agent killed between writing and
 * reloading), the configuration is tested and reloaded once, and asked again.
 */
export async function verifyServed(site: AppSite): Promise<{ ok: boolean; missing: string[]; details: string[] }> {
  let missing = await unserved(site);
  if (missing.length) {
    await withNginxLock(async () => {
      if (!(await testConfig()).ok) return;
      const generation = randomUUID();
      await writeAtomic(AGENT_SERVER_FILE(), renderAgentServer(generation), 0o644);
      await reloadNginx(generation).catch(() => {});
    });
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
