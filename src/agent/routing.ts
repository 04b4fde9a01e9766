/**
 * What an app answers to and how, on this host, without a new release: its domains (beyond
 * paas.yml's), its certificate, its balancing. The callers hold the app's lock for the changes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { checkHostname, quote } from '../config/validators.js';
import {
  appNames, balanceSettings, certificateBase, claimProblem, domainOwner, effectiveBalance, parseRoutes, routesFor, siteFor,
  type AppCertificate, type AppSettings,
} from '../release/settings.js';
import { certificateCovers, inspectCertificate } from '../tls/pem.js';
import { applySite, currentRoutes, switchRoutes } from './nginx.js';
import type { CertView, DomainsView, Emit, LbView } from './protocol.js';
import { currentRelease, readHostInfo } from './releases.js';
import { certsDir, otherAppsNames, readSettings, syncDefaultTlsServer, writeSettings } from './settings.js';
import { readState, writeAtomic } from './state.js';

const releaseOf = async (app: string) => currentRelease(await readState(app));

/**
 * Puts the settings in place and makes nginx serve them (the site is written, tested with
 * `nginx -t` and reloaded only when its names or certificate change). On failure the previous
 * settings are written back. An app without a release keeps them for its first deploy.
 */
async function applySettings(app: string, previous: AppSettings, next: AppSettings): Promise<{ served: boolean; reloaded: boolean }> {
  const host = await readHostInfo();
  const current = await releaseOf(app);
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

export async function domainsView(app: string): Promise<DomainsView> {
  const host = await readHostInfo();
  const current = await releaseOf(app);
  const settings = await readSettings(app);
  const fromRelease = current?.domains ?? [];
  const cert = settings.certificate;
  const entry = (name: string, source: DomainsView['domains'][number]['source']) => ({ name, source, https: Boolean(cert && certificateCovers(cert.names, name)) });
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

/** A domain NAME given to domains:add / domains:remove, checked again here. */
export function checkDomainName(name: string): string {
  const problem = checkHostname(name);
  if (problem) throw new PaasError('usage', problem, { hint: 'give a DNS name such as shop.example.com (lowercase letters, digits, dashes, dots; an optional leading *.)' });
  return name;
}

/** domains:add: the name served by the app at once (its site rewritten, tested, reloaded), kept across releases. */
export async function addDomain(app: string, name: string, emit: Emit): Promise<DomainsView & { added: boolean; reloaded?: boolean }> {
  const host = await readHostInfo();
  const settings = await readSettings(app);
  const current = await releaseOf(app);
  if (appNames(app, host.baseDomain, current?.domains ?? [], settings).includes(name)) return { ...(await domainsView(app)), added: false };
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
  return { ...(await domainsView(app)), added: true, reloaded: result.reloaded };
}

/** domains:remove of a name added with domains:add (paas.yml's are removed from paas.yml). */
export async function removeDomain(app: string, name: string, emit: Emit): Promise<DomainsView & { removed: true; reloaded: boolean }> {
  const settings = await readSettings(app);
  if (!settings.domains.includes(name)) {
    const current = await releaseOf(app);
    throw new PaasError('usage', current?.domains.includes(name)
      ? `${quote(name)} comes from paas.yml's domains:, not from domains:add`
      : `${quote(name)} is not a domain of ${app}`, {
      hint: current?.domains.includes(name) ? 'remove it from paas.yml and deploy' : 'see `paas domains` for the app\'s domains',
    });
  }
  const result = await applySettings(app, settings, { ...settings, domains: settings.domains.filter((d) => d !== name) });
  emit(`${app} no longer answers at ${name}`, 'domains');
  return { ...(await domainsView(app)), removed: true, reloaded: result.reloaded };
}

function certView(app: string, settings: AppSettings, names: string[]): CertView {
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

export async function certificateOf(app: string): Promise<CertView> {
  const host = await readHostInfo();
  const settings = await readSettings(app);
  return certView(app, settings, appNames(app, host.baseDomain, (await releaseOf(app))?.domains ?? [], settings));
}

/** A certificate and its key, checked (the pair matches, the dates hold), before any lock is taken. */
export interface CertificateRequest {
  cert: string;
  key: string;
  info: ReturnType<typeof inspectCertificate>;
}

/** The body of certs-add, checked: {"cert": PEM, "key": PEM}. */
export function certificateRequest(body: unknown): CertificateRequest {
  const request = body as { cert?: unknown; key?: unknown } | null;
  if (!request || typeof request !== 'object' || typeof request.cert !== 'string' || typeof request.key !== 'string') {
    throw new PaasError('usage', 'expected {"cert": PEM, "key": PEM} on stdin');
  }
  const info = inspectCertificate(request.cert, request.key, { cert: 'the certificate', key: 'the key' });
  return { cert: request.cert, key: request.key, info };
}

/** certs:add: checked again here, stored 0600 in certs/<app>/<fingerprint>.{crt,key}, served over HTTPS for the names it covers. */
export async function addCertificate(app: string, pem: CertificateRequest, redirect: boolean, emit: Emit): Promise<CertView> {
  const { info } = pem;
  const host = await readHostInfo();
  const settings = await readSettings(app);
  const names = appNames(app, host.baseDomain, (await releaseOf(app))?.domains ?? [], settings);
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
  await writeAtomic(certFile, pem.cert, 0o600);
  await writeAtomic(keyFile, pem.key, 0o600);
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
}

export async function removeCertificate(app: string, emit: Emit): Promise<{ app: string; removed: string }> {
  const settings = await readSettings(app);
  const cert = settings.certificate;
  if (!cert) throw new PaasError('usage', `${app} has no certificate on this host`, { hint: 'see `paas certs`' });
  const { certificate: _removed, ...rest } = settings;
  await applySettings(app, settings, rest);
  await Promise.all([fs.rm(cert.certFile, { force: true }), fs.rm(cert.keyFile, { force: true })]);
  emit(`${app} is served over plain HTTP only`, 'certs');
  return { app, removed: cert.fingerprint };
}

export async function lbView(app: string): Promise<LbView> {
  const settings = await readSettings(app);
  const current = await releaseOf(app);
  const routes = parseRoutes((await currentRoutes(app)) ?? '');
  const { balance, source } = effectiveBalance(current?.balance ?? 'round_robin', settings);
  const replicas = (routes?.ports ?? []).map((port, i) => ({ replica: `web.${i + 1}`, port, ...(balance === 'weighted' ? { weight: settings.weights?.[`web.${i + 1}`] ?? 1 } : {}) }));
  return { app, balance, source, ...(settings.weights ? { weights: settings.weights } : {}), replicas };
}

/** lb:set's strategy and weights (web.N=W), checked before anything is locked or written. */
export function balanceRequest(strategy: string, weightArgs: string[]): Pick<AppSettings, 'balance' | 'weights'> {
  try {
    const weights: Record<string, number> = {};
    for (const value of weightArgs) {
      const [replica, weight] = value.split('=');
      weights[replica!] = Number(weight);
    }
    return balanceSettings(strategy, weights);
  } catch (error) {
    throw new PaasError('usage', (error as Error).message);
  }
}

/** Stores the strategy (and weights) and rewrites the route file at once: no release, no reload. */
export async function setBalance(app: string, chosen: Pick<AppSettings, 'balance' | 'weights'>, emit: Emit): Promise<LbView> {
  const settings = await readSettings(app);
  const { balance: _b, weights: _w, ...rest } = settings;
  const next: AppSettings = { ...rest, ...chosen };
  await writeSettings(app, next);
  const current = await releaseOf(app);
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
}
