// Verbs that change an app without a new release: domains, certificates, load balancing, and
// destroying the app. Each one that changes something works under the app's lock (--lock-token).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { checkHostname, quote } from '../config/validators.js';
import {
  appNames, balanceSettings, certificateBase, domainOwner, effectiveBalance, parseRoutes, routesFor, siteFor,
  type AppCertificate, type AppSettings,
} from '../release/settings.js';
import type { Release } from '../release/types.js';
import { certificateCovers, inspectCertificate } from '../tls/pem.js';
import { docker } from './exec.js';
import { withAppLock } from './app-lock.js';
import { apiName, containersLabelled, engineRequest, removeContainer, removeNetwork } from './engine.js';
import { LABEL, appNetwork } from '../release/containers.js';
import { applySite, currentRoutes, removeNginxConfig, removeRoutes, siteFile, switchRoutes } from './nginx.js';
import { claimProblem, readHostInfo } from './rollout.js';
import { repoPath } from './git.js';
import { DEFAULT_TLS_FILE, anyCertificate, appStateDir, certsDir, otherAppsNames, readSettings, syncDefaultTlsServer, writeSettings } from './settings.js';
import { appDir, readState, writeAtomic } from './state.js';
import type { VerbContext } from './verbs.js';
import { flag, flags as all, parseJsonRequest } from './args.js';



function appOf(args: string[]): string {
  const app = flag(args, 'app');
  if (app === undefined) throw new PaasError('usage', '--app is required');
  appDir(app); // validates the name
  return app;
}

/** Runs `change` under the app's lock (worked under the CLI's `lock` verb when --lock-token is given). */
async function locked<T>(args: string[], what: string, change: (app: string) => Promise<T>): Promise<T> {
  const app = appOf(args);
  const token = flag(args, 'lock-token');
  return withAppLock(app, { holder: flag(args, 'by') ?? 'unknown', command: what }, token ? { token } : {}, () => change(app));
}

async function currentRelease(app: string): Promise<Release | undefined> {
  const state = await readState(app);
  return state.releases.find((r) => r.version === state.current);
}

/**
 * Puts the settings in place and makes nginx serve them (the site is written, tested with
 * `nginx -t` and reloaded only when its names or certificate change). On failure the previous
 * settings are written back. An app without a release keeps them for its first deploy.
 */
async function applySettings(app: string, previous: AppSettings, next: AppSettings): Promise<{ served: boolean; reloaded: boolean }> {
  const host = await readHostInfo();
  const current = await currentRelease(app);
  await writeSettings(app, next);
  if (!current) {
    await syncDefaultTlsServer();
    return { served: false, reloaded: false };
  }
  try {
    // A certificate added: the catch-all HTTPS server first, so the app's cert never answers other names.
    const defaultChanged = next.certificate ? await syncDefaultTlsServer() : false;
    const others = await otherAppsNames(app, host.baseDomain);
    const siteChanged = await applySite(siteFor(app, host.baseDomain, current.domains, next), (names, owners) => {
      for (const name of names) {
        const problem = claimProblem(app, name, [...others, ...owners], host.baseDomain);
        if (problem) throw new PaasError('usage', problem, { hint: 'remove the domain from the other app first, or use another one' });
      }
    });
    const defaultRemoved = next.certificate ? false : await syncDefaultTlsServer();
    return { served: true, reloaded: defaultChanged || siteChanged || defaultRemoved };
  } catch (error) {
    await writeSettings(app, previous);
    throw error;
  }
}

async function domainsView(app: string): Promise<unknown> {
  const host = await readHostInfo();
  const current = await currentRelease(app);
  const settings = await readSettings(app);
  const fromRelease = current?.domains ?? [];
  const cert = settings.certificate;
  const entry = (name: string, source: string) => ({ name, source, https: Boolean(cert && certificateCovers(cert.names, name)) });
  return {
    app,
    released: Boolean(current),
    domains: [
      entry(`${app}.${host.baseDomain}`, 'default'),
      ...fromRelease.map((name) => entry(name, 'paas.yml')),
      ...settings.domains.filter((name) => !fromRelease.includes(name)).map((name) => entry(name, 'domains:add')),
    ],
  };
}

function checkedName(args: string[]): string {
  const name = flag(args, 'name');
  if (name === undefined) throw new PaasError('usage', '--name is required');
  const problem = checkHostname(name);
  if (problem) throw new PaasError('usage', problem, { hint: 'give a DNS name such as shop.example.com (lowercase letters, digits, dashes, dots; an optional leading *.)' });
  return name;
}

async function domains({ args }: VerbContext): Promise<unknown> {
  return domainsView(appOf(args));
}

async function domainsAdd({ args, emit }: VerbContext): Promise<unknown> {
  const name = checkedName(args);
  return locked(args, `domains:add ${name}`, async (app) => {
    const host = await readHostInfo();
    const settings = await readSettings(app);
    const current = await currentRelease(app);
    if (appNames(app, host.baseDomain, current?.domains ?? [], settings).includes(name)) {
      return { ...(await domainsView(app) as object), added: false };
    }
    const others = await otherAppsNames(app, host.baseDomain);
    const owner = domainOwner(name, others);
    if (owner) {
      throw new PaasError('usage', `${quote(name)} is already a domain of the app ${owner} on this host`, {
        hint: `remove it there first: paas domains:remove ${name} --app ${owner}`,
      });
    }
    const problem = claimProblem(app, name, others, host.baseDomain);
    if (problem) throw new PaasError('usage', problem, { hint: 'use a domain of your own (its DNS pointing at this host), or the default name' });
    const result = await applySettings(app, settings, { ...settings, domains: [...settings.domains, name] });
    emit(result.served ? `nginx serves ${app} at ${name}` : `${name} is kept for ${app}'s first deploy`, 'domains');
    return { ...(await domainsView(app) as object), added: true, reloaded: result.reloaded };
  });
}

async function domainsRemove({ args, emit }: VerbContext): Promise<unknown> {
  const name = checkedName(args);
  return locked(args, `domains:remove ${name}`, async (app) => {
    const settings = await readSettings(app);
    if (!settings.domains.includes(name)) {
      const current = await currentRelease(app);
      throw new PaasError('usage', current?.domains.includes(name)
        ? `${quote(name)} comes from paas.yml's domains:, not from domains:add`
        : `${quote(name)} is not a domain of ${app}`, {
        hint: current?.domains.includes(name) ? 'remove it from paas.yml and deploy' : 'see `paas domains` for the app\'s domains',
      });
    }
    const result = await applySettings(app, settings, { ...settings, domains: settings.domains.filter((d) => d !== name) });
    emit(`${app} no longer answers at ${name}`, 'domains');
    return { ...(await domainsView(app) as object), removed: true, reloaded: result.reloaded };
  });
}

function certView(app: string, settings: AppSettings, names: string[]): unknown {
  const cert = settings.certificate;
  if (!cert) return { app, certificate: null };
  return {
    app,
    certificate: {
      fingerprint: cert.fingerprint, names: cert.names, notAfter: cert.notAfter, selfSigned: cert.selfSigned, redirect: cert.redirect,
      addedAt: cert.addedAt, serves: names.filter((name) => certificateCovers(cert.names, name)),
    },
  };
}

async function certs({ args }: VerbContext): Promise<unknown> {
  const app = appOf(args);
  const host = await readHostInfo();
  const settings = await readSettings(app);
  return certView(app, settings, appNames(app, host.baseDomain, (await currentRelease(app))?.domains ?? [], settings));
}

/** Body: {"cert": PEM, "key": PEM}. Checked again here, stored 0600 in certs/<app>/<fingerprint>.{crt,key}. */
async function certsAdd({ args, emit, readStdin }: VerbContext): Promise<unknown> {
  const app = appOf(args);
  const body = parseJsonRequest(await readStdin(), 'the certificate request on stdin') as { cert?: unknown; key?: unknown } | null;
  if (!body || typeof body !== 'object') throw new PaasError('usage', 'expected {"cert": PEM, "key": PEM} on stdin');
  if (typeof body.cert !== 'string' || typeof body.key !== 'string') throw new PaasError('usage', 'expected {"cert": PEM, "key": PEM} on stdin');
  const info = inspectCertificate(body.cert, body.key, { cert: 'the certificate', key: 'the key' });
  const redirect = !args.includes('--no-redirect');
  return locked(args, 'certs:add', async () => {
    const host = await readHostInfo();
    const settings = await readSettings(app);
    const names = appNames(app, host.baseDomain, (await currentRelease(app))?.domains ?? [], settings);
    const covered = names.filter((name) => certificateCovers(info.names, name));
    if (covered.length === 0) {
      throw new PaasError('usage', `the certificate (for ${info.names.join(', ')}) covers none of ${app}'s names (${names.join(', ')})`, {
        hint: `add the domain first: paas domains:add ${info.names[0]?.replace(/^\*\./, 'www.') ?? 'NAME'}`,
      });
    }
    const dir = certsDir(app);
    const base = certificateBase(info.fingerprint256);
    const certFile = path.join(dir, `${base}.crt`);
    const keyFile = path.join(dir, `${base}.key`);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chmod(dir, 0o700);
    await writeAtomic(certFile, body.cert as string, 0o600);
    await writeAtomic(keyFile, body.key as string, 0o600);
    const certificate: AppCertificate = {
      fingerprint: info.fingerprint256, names: info.names, notAfter: info.notAfter, selfSigned: info.selfSigned,
      redirect, certFile, keyFile, addedAt: new Date().toISOString(),
    };
    const old = settings.certificate;
    try {
      await applySettings(app, settings, { ...settings, certificate });
    } catch (error) {
      if (old?.certFile !== certFile) await Promise.all([fs.rm(certFile, { force: true }), fs.rm(keyFile, { force: true })]);
      throw error;
    }
    if (old && old.certFile !== certFile) await Promise.all([fs.rm(old.certFile, { force: true }), fs.rm(old.keyFile, { force: true })]);
    emit(`HTTPS for ${covered.join(', ')}${redirect ? ' (HTTP redirects with 308)' : ''}`, 'certs');
    return certView(app, { ...settings, certificate }, names);
  });
}

async function certsRemove({ args, emit }: VerbContext): Promise<unknown> {
  return locked(args, 'certs:remove', async (app) => {
    const settings = await readSettings(app);
    const cert = settings.certificate;
    if (!cert) throw new PaasError('usage', `${app} has no certificate on this host`, { hint: 'see `paas certs`' });
    const { certificate: _removed, ...rest } = settings;
    await applySettings(app, settings, rest);
    await Promise.all([fs.rm(cert.certFile, { force: true }), fs.rm(cert.keyFile, { force: true })]);
    emit(`${app} is served over plain HTTP only`, 'certs');
    return { app, removed: cert.fingerprint };
  });
}

async function lbView(app: string): Promise<unknown> {
  const settings = await readSettings(app);
  const current = await currentRelease(app);
  const routes = parseRoutes((await currentRoutes(app)) ?? '');
  const { balance, source } = effectiveBalance(current?.balance ?? 'round_robin', settings);
  const replicas = (routes?.ports ?? []).map((port, i) => ({ replica: `web.${i + 1}`, port, ...(balance === 'weighted' ? { weight: settings.weights?.[`web.${i + 1}`] ?? 1 } : {}) }));
  return { app, balance, source, ...(settings.weights ? { weights: settings.weights } : {}), replicas };
}

async function lb({ args }: VerbContext): Promise<unknown> {
  return lbView(appOf(args));
}

/** Stores the strategy (and weights) and rewrites the route file at once: no release, no reload. */
async function lbSet({ args, emit }: VerbContext): Promise<unknown> {
  let chosen: Pick<AppSettings, 'balance' | 'weights'>;
  try {
    const weights: Record<string, number> = {};
    for (const value of all(args, 'weight')) {
      const [replica, weight] = value.split('=');
      weights[replica!] = Number(weight);
    }
    chosen = balanceSettings(flag(args, 'strategy') ?? '', weights);
  } catch (error) {
    throw new PaasError('usage', (error as Error).message);
  }
  return locked(args, 'lb:set', async (app) => {
    const settings = await readSettings(app);
    const { balance: _b, weights: _w, ...rest } = settings;
    const next: AppSettings = { ...rest, ...chosen };
    await writeSettings(app, next);
    const current = await currentRelease(app);
    const routes = parseRoutes((await currentRoutes(app)) ?? '');
    if (current && routes) {
      try {
        await switchRoutes(app, routesFor(routes.version, current.balance, routes.ports, next));
      } catch (error) {
        await writeSettings(app, settings);
        throw error;
      }
      emit(`nginx balances ${app} with ${chosen.balance}, without a reload`, 'lb');
    }
    return lbView(app);
  });
}

/** Removes everything of one app from this host: site, routes, containers, images, certificates, git repo, state. */
async function destroy({ args, emit }: VerbContext): Promise<unknown> {
  return locked(args, 'apps:destroy', async (app) => {
    const removed: string[] = [];
    // One reload: the site, and the catch-all HTTPS server when no other app has a certificate.
    const files = [siteFile(app), ...(await anyCertificate(app) ? [] : [DEFAULT_TLS_FILE()])];
    const present = (await Promise.all(files.map((file) => fs.stat(file).then(() => file, () => undefined)))).filter((f): f is string => f !== undefined);
    await removeNginxConfig(...present);
    removed.push(...present);
    await removeRoutes(app);
    emit(`nginx no longer serves ${app}`, 'destroy');
    // Every container whose label says it is the app's (one-off runs too), by ID.
    const all = await containersLabelled([`${LABEL.app}=${app}`]);
    const containers = all.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
    await Promise.all(all.map((c) => removeContainer(c.Id)));
    await removeNetwork(appNetwork(app));
    const images = (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', `paas/${app}`], { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
    const removedImages: string[] = [];
    for (const image of images) {
      const answer = await engineRequest('DELETE', `/images/${apiName(image)}?force=1`).catch(() => ({ status: 0 }));
      if (answer.status === 200) removedImages.push(image);
    }
    emit(`removed ${containers.length} container(s) and ${removedImages.length} image(s)`, 'destroy');
    for (const dir of [certsDir(app), repoPath(app)]) {
      if (await fs.stat(dir).then(() => true, () => false)) {
        await fs.rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    // Last: the state directory holds the lock file (the lock verb finds it gone and leaves it be).
    await fs.rm(appStateDir(app), { recursive: true, force: true });
    removed.push(appStateDir(app));
    await syncDefaultTlsServer();
    return { app, containers, images: removedImages, removed };
  });
}

export const APP_VERBS: Record<string, (context: VerbContext) => Promise<unknown>> = {
  domains, 'domains-add': domainsAdd, 'domains-remove': domainsRemove,
  certs, 'certs-add': certsAdd, 'certs-remove': certsRemove,
  lb, 'lb-set': lbSet, destroy,
};
