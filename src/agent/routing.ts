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
import { applySite, currentRoutes, nginxWorkerGroup, switchRoutes } from './nginx.js';
import { failpoint } from './failpoints.js';
import type { CertView, DomainsView, Emit, LbView } from './protocol.js';
import { currentRelease, readHostInfo } from './releases.js';
import { certsDir, otherAppsNames, readSettings, writeSettings } from './settings.js';
import { writeAtomic } from './state.js';

/** The app's current release; on a cluster manager that does not keep the app's releases, the cluster's (its paas.yml domains). */
const releaseOf = async (app: string) => currentRelease(await (await import('./swarm.js')).readStateOrHistory(app));

/**
 * Puts the settings in place and makes nginx serve them (the app's entry of the sites table,
 * loaded by nginx without a reload). On failure the previous settings are written back. An app
 * without a release keeps them for its first deploy.
 */
async function applySettings(app: string, previous: AppSettings, next: AppSettings): Promise<{ served: boolean }> {
  const host = await readHostInfo();
  const current = await releaseOf(app);
  await writeSettings(app, next);
  if (!current) return { served: false };
  try {
    const others = await otherAppsNames(app, host.baseDomain);
    await applySite(siteFor(app, host.baseDomain, current.domains, next), (names, owners) => {
      for (const name of names) {
        const problem = claimProblem(app, name, [...others, ...owners], host.baseDomain);
        if (problem) throw new PaasError('usage', problem, { hint: 'remove the domain from the other app first, or use another one' });
      }
    });
    return { served: true };
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

/** domains:add: the name served by the app at once (no reload), kept across releases. */
export async function addDomain(app: string, name: string, emit: Emit): Promise<DomainsView & { added: boolean }> {
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
  if (settings.acme) emit(`the certificate of certs:auto does not cover ${name}: run \`paas certs:auto\` to ask for one that does`, 'domains');
  return { ...(await domainsView(app)), added: true };
}

/** domains:remove of a name added with domains:add (paas.yml's are removed from paas.yml). */
export async function removeDomain(app: string, name: string, emit: Emit): Promise<DomainsView & { removed: true }> {
  const settings = await readSettings(app);
  if (!settings.domains.includes(name)) {
    const current = await releaseOf(app);
    throw new PaasError('usage', current?.domains.includes(name)
      ? `${quote(name)} comes from paas.yml's domains:, not from domains:add`
      : `${quote(name)} is not a domain of ${app}`, {
      hint: current?.domains.includes(name) ? 'remove it from paas.yml and deploy' : 'see `paas domains` for the app\'s domains',
    });
  }
  // certs:auto renews for the app's names: a name that went is not asked for again.
  const { acme, ...rest } = settings;
  const names = acme?.names.filter((n) => n !== name) ?? [];
  const next: AppSettings = { ...rest, domains: settings.domains.filter((d) => d !== name), ...(acme && names.length ? { acme: { ...acme, names } } : {}) };
  await applySettings(app, settings, next);
  emit(`${app} no longer answers at ${name}${acme && names.length === 0 ? ' (certs:auto had no other name: it is off)' : ''}`, 'domains');
  return { ...(await domainsView(app)), removed: true };
}

function certView(app: string, settings: AppSettings, names: string[], nextRenewal?: string): CertView {
  const cert = settings.certificate;
  const acme = settings.acme;
  const auto = acme ? {
    auto: {
      names: acme.names, by: acme.by, redirect: acme.redirect, hsts: acme.hsts, failures: acme.failures,
      ...(nextRenewal ? { nextRenewal } : {}), ...(acme.lastError ? { lastError: acme.lastError } : {}), ...(acme.lastAttemptAt ? { lastAttemptAt: acme.lastAttemptAt } : {}),
    },
  } : {};
  if (!cert) return { app, certificate: null, ...auto };
  return {
    app,
    certificate: {
      fingerprint: cert.fingerprint, names: cert.names, notAfter: cert.notAfter, selfSigned: cert.selfSigned, redirect: cert.redirect,
      addedAt: cert.addedAt, hsts: cert.hsts ?? false, source: cert.source ?? 'certs:add',
      ...(cert.notBefore ? { notBefore: cert.notBefore } : {}), ...(cert.issuer ? { issuer: cert.issuer } : {}),
      serves: names.filter((name) => certificateCovers(cert.names, name)),
    },
    ...auto,
  };
}

export async function certificateOf(app: string, nextRenewal?: string): Promise<CertView> {
  const host = await readHostInfo();
  const settings = await readSettings(app);
  return certView(app, settings, appNames(app, host.baseDomain, (await releaseOf(app))?.domains ?? [], settings), nextRenewal);
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

/** What a certificate is served with, beside its files. */
export interface CertificateUse {
  redirect: boolean;
  hsts: boolean;
  source: NonNullable<AppCertificate['source']>;
  /** The settings beside the certificate (certs:add turns certs:auto off, an ACME issuance records its success). */
  settings: (settings: AppSettings) => AppSettings;
}

/**
 * Stores a checked certificate and key in certs/<app>/<fingerprint>.{crt,key} (0640, root and
 * nginx's workers' group: they pick each handshake's certificate) and serves it over HTTPS for
 * the names it covers, replacing the app's previous one, whose files then go. Nothing changes
 * when it covers none of the app's names.
 */
export async function installCertificate(app: string, pem: CertificateRequest, use: CertificateUse, emit: Emit): Promise<CertView> {
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
  const gid = await nginxWorkerGroup();
  const dir = certsDir(app);
  const base = certificateBase(info.fingerprint256);
  const certFile = path.join(dir, `${base}.crt`);
  const keyFile = path.join(dir, `${base}.key`);
  await fs.mkdir(dir, { recursive: true, mode: 0o750 });
  await fs.chown(dir, 0, gid);
  await fs.chmod(dir, 0o750);
  for (const [file, content] of [[certFile, pem.cert], [keyFile, pem.key]] as const) {
    await writeAtomic(file, content, 0o640);
    await fs.chown(file, 0, gid);
  }
  const certificate: AppCertificate = {
    fingerprint: info.fingerprint256, names: info.names, notAfter: info.notAfter, notBefore: info.notBefore, selfSigned: info.selfSigned, issuer: info.issuer,
    redirect: use.redirect, hsts: use.hsts, source: use.source, certFile, keyFile, addedAt: new Date().toISOString(),
  };
  await failpoint('certificate-stored');
  const old = settings.certificate;
  const next = use.settings({ ...settings, certificate });
  try {
    await applySettings(app, settings, next);
  } catch (error) {
    if (old?.certFile !== certFile) await Promise.all([fs.rm(certFile, { force: true }), fs.rm(keyFile, { force: true })]);
    throw error;
  }
  // The previous certificate's files, and any an agent killed mid-way left.
  for (const name of await fs.readdir(dir)) {
    if (name !== path.basename(certFile) && name !== path.basename(keyFile)) await fs.rm(path.join(dir, name), { force: true });
  }
  emit(`HTTPS for ${covered.join(', ')}${use.redirect ? ' (HTTP redirects with 308)' : ''}${use.hsts ? ', with HSTS' : ''}, without a reload`, 'certs');
  return certView(app, next, names);
}

/** certs:add: a user's certificate, checked again here; it replaces certs:auto's for the app. */
export async function addCertificate(app: string, pem: CertificateRequest, options: { redirect: boolean; hsts: boolean }, emit: Emit): Promise<CertView> {
  return installCertificate(app, pem, {
    ...options, source: 'certs:add',
    settings: ({ acme: _auto, ...rest }) => rest,
  }, emit);
}

export async function removeCertificate(app: string, emit: Emit): Promise<{ app: string; removed: string }> {
  const settings = await readSettings(app);
  const cert = settings.certificate;
  if (!cert) throw new PaasError('usage', `${app} has no certificate on this host`, { hint: 'see `paas certs`' });
  const { certificate: _removed, acme: _auto, ...rest } = settings;
  await applySettings(app, settings, rest);
  await Promise.all([fs.rm(cert.certFile, { force: true }), fs.rm(cert.keyFile, { force: true })]);
  emit(`${app} is served over plain HTTP only${settings.acme ? ' (certs:auto is off)' : ''}`, 'certs');
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
