// An app's settings kept on each host next to its releases (apps/<app>/settings.json): the
// domains, load-balancing strategy and certificate that commands change without a new release.
// Pure: the agent reads and writes the file, the decisions are here.
import { PaasError } from '../errors.js';
import { BALANCE_STRATEGIES, type BalanceStrategy } from '../config/types.js';
import { checkHostname, quote } from '../config/validators.js';
import { HSTS_MAX_AGE, type AppRoutes, type AppSite, type Upstream } from '../nginx/config.js';
import { certificateCovers } from '../tls/pem.js';

/** The app's certificate on the host (files 0640, root and nginx's workers' group). */
export interface AppCertificate {
  /** SHA-256 fingerprint, `AB:CD:...`. */
  fingerprint: string;
  /** The DNS names the certificate covers. */
  names: string[];
  notAfter: string;
  selfSigned: boolean;
  /** Answer plain HTTP for the covered names with a 308 to https://. */
  redirect: boolean;
  certFile: string;
  keyFile: string;
  addedAt: string;
  /** Where it came from: a user's files (`certs:add`), or the host's ACME CA (`certs:auto`, `tls: auto`). */
  source?: 'certs:add' | 'acme';
  /** The issuer's distinguished name. */
  issuer?: string;
  notBefore?: string;
  /** Send Strict-Transport-Security over HTTPS. */
  hsts?: boolean;
}

/** certs:auto: the host keeps a certificate from its ACME CA for these names, renewed by itself. */
export interface AcmeSettings {
  /** The names asked for (all of the app's that a CA can issue for, unless certs:auto named some). */
  names: string[];
  redirect: boolean;
  hsts: boolean;
  /** Who asked: the command, or paas.yml `tls:` at a deploy (then the next deploy without it stops the renewals). */
  by: 'certs:auto' | 'paas.yml';
  /** Failed attempts in a row since the last certificate (the backoff grows with them). */
  failures: number;
  lastError?: string;
  lastAttemptAt?: string;
  /** No attempt before this (backoff, or the CA's Retry-After). */
  retryAfter?: string;
}

export interface AppSettings {
  /** Host names added with `paas domains:add` (paas.yml's `domains:` come with each release). */
  domains: string[];
  /** Set by `paas lb:set`: wins over paas.yml's `balance:`. */
  balance?: BalanceStrategy;
  /** Replica ("web.1") -> weight, for the weighted strategy. */
  weights?: Record<string, number>;
  certificate?: AppCertificate;
  acme?: AcmeSettings;
}

export const EMPTY_SETTINGS: AppSettings = { domains: [] };

const REPLICA = /^web\.([1-9]\d{0,2})$/;
export const MAX_WEIGHT = 1000;

/** Problems of a settings document (as read from disk or built from a request): [] when valid. */
export function checkSettings(settings: AppSettings): string[] {
  const problems: string[] = [];
  if (!Array.isArray(settings.domains)) problems.push('domains: expected a list');
  else for (const name of settings.domains) {
    const problem = typeof name === 'string' ? checkHostname(name) : 'expected a string';
    if (problem) problems.push(`domains: ${problem}`);
  }
  if (settings.balance !== undefined && !BALANCE_STRATEGIES.includes(settings.balance)) {
    problems.push(`balance: ${quote(String(settings.balance))} is not one of ${BALANCE_STRATEGIES.join(', ')}`);
  }
  for (const [replica, weight] of Object.entries(settings.weights ?? {})) {
    const problem = checkWeight(replica, weight);
    if (problem) problems.push(`weights: ${problem}`);
  }
  const acme = settings.acme;
  if (acme !== undefined) {
    if (!Array.isArray(acme.names) || acme.names.length === 0 || acme.names.some((name) => typeof name !== 'string' || checkHostname(name) !== undefined || name.startsWith('*.'))) {
      problems.push('acme.names: expected a list of host names (no wildcard)');
    }
    if (typeof acme.redirect !== 'boolean' || typeof acme.hsts !== 'boolean') problems.push('acme: redirect and hsts must be true or false');
    if (acme.by !== 'certs:auto' && acme.by !== 'paas.yml') problems.push('acme.by: expected certs:auto or paas.yml');
    if (!Number.isInteger(acme.failures) || acme.failures < 0) problems.push('acme.failures: expected a whole number');
  }
  return problems;
}

function checkWeight(replica: string, weight: number): string | undefined {
  if (!REPLICA.test(replica)) return `${quote(replica)} is not a web replica (write web.1, web.2, ...)`;
  if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) return `the weight of ${replica} must be a whole number from 1 to ${MAX_WEIGHT}`;
  return undefined;
}

/** `web.1=3` flags -> { "web.1": 3 }; throws an Error naming the bad value. */
export function parseWeights(values: string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const value of values) {
    const match = /^([^=]+)=(\d{1,4})$/.exec(value);
    if (!match) throw new Error(`${quote(value)} is not REPLICA=WEIGHT (for example web.1=3)`);
    const [, replica, text] = match;
    const problem = checkWeight(replica!, Number(text));
    if (problem) throw new Error(problem);
    if (replica! in weights) throw new Error(`${replica} is given twice`);
    weights[replica!] = Number(text);
  }
  return weights;
}

/** What lb:set stores: weights only make sense with the weighted strategy. */
export function balanceSettings(strategy: string, weights: Record<string, number>): Pick<AppSettings, 'balance' | 'weights'> {
  if (!BALANCE_STRATEGIES.includes(strategy as BalanceStrategy)) {
    throw new Error(`${quote(strategy)} is not a strategy: use one of ${BALANCE_STRATEGIES.join(', ')}`);
  }
  if (strategy !== 'weighted' && Object.keys(weights).length > 0) {
    throw new Error(`weights apply to the weighted strategy only, not to ${strategy}`);
  }
  return Object.keys(weights).length ? { balance: strategy as BalanceStrategy, weights } : { balance: strategy as BalanceStrategy };
}

/** Every name the app answers to: <app>.<base domain>, then paas.yml's domains, then added ones; no duplicates. */
export function appNames(app: string, baseDomain: string, releaseDomains: string[], settings: AppSettings): string[] {
  return [...new Set([`${app}.${baseDomain}`, ...releaseDomains, ...settings.domains])];
}

/** Names no public CA issues for (RFC 2606, 6761, 6762): an app's default name under `localhost` and the like. */
const RESERVED = /(^|\.)(localhost|invalid|local|internal|example|test)$/;

/** The names `certs:auto` asks for by default: the app's that a public CA can issue for (no wildcard, no single label, no reserved name). */
export function issuableNames(names: string[]): string[] {
  return names.filter((name) => !name.startsWith('*.') && name.includes('.') && !RESERVED.test(name));
}

/** The app's extra domains (all names but the default one). */
export function extraDomains(releaseDomains: string[], settings: AppSettings): string[] {
  return [...new Set([...releaseDomains, ...settings.domains])];
}

/** The app's nginx site: its names, and HTTPS for those its certificate covers (none: no TLS). */
export function siteFor(app: string, baseDomain: string, releaseDomains: string[], settings: AppSettings): AppSite {
  const serverNames = appNames(app, baseDomain, releaseDomains, settings);
  const cert = settings.certificate;
  const covered = cert ? serverNames.filter((name) => certificateCovers(cert.names, name)) : [];
  if (!cert || covered.length === 0) return { app, serverNames };
  return {
    app, serverNames,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile, redirect: cert.redirect, serverNames: covered, ...(cert.hsts ? { hstsMaxAge: HSTS_MAX_AGE } : {}) },
  };
}

/** The balancing in force: lb:set's, else the release's (paas.yml). */
export function effectiveBalance(releaseBalance: BalanceStrategy, settings: AppSettings): { balance: BalanceStrategy; source: 'lb:set' | 'paas.yml' } {
  return settings.balance ? { balance: settings.balance, source: 'lb:set' } : { balance: releaseBalance, source: 'paas.yml' };
}

/** Routes for web replica ports in replica order (web.1 first), with the settings' strategy and weights. */
export function routesFor(version: number, releaseBalance: BalanceStrategy, ports: number[], settings: AppSettings): AppRoutes {
  const { balance } = effectiveBalance(releaseBalance, settings);
  const upstreams: Upstream[] = ports.map((port, i) => {
    const weight = settings.weights?.[`web.${i + 1}`];
    return weight !== undefined && balance === 'weighted' ? { port, weight } : { port };
  });
  return { version, balance, upstreams };
}

/** A route file (renderRoutes' text) read back: version, strategy, peer ports in order. */
export function parseRoutes(text: string): { version: number; balance: string; ports: number[] } | undefined {
  let version: number | undefined;
  let balance = 'round_robin';
  const ports: number[] = [];
  for (const line of text.split('\n')) {
    const [key, a] = line.trim().split(/\s+/);
    if (key === 'version') version = Number(a);
    else if (key === 'balance' && a) balance = a;
    else if (key === 'peer') ports.push(Number(a));
  }
  return version === undefined || !Number.isInteger(version) || ports.some((p) => !Number.isInteger(p)) ? undefined : { version, balance, ports };
}

/** The other app that already answers to `name`, if any. */
export function domainOwner(name: string, others: { app: string; names: string[] }[]): string | undefined {
  return others.find((other) => other.names.includes(name))?.app;
}

/** File names of a certificate on the host, from its fingerprint: <hex>.crt / <hex>.key. */
export function certificateBase(fingerprint: string): string {
  const hex = fingerprint.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`invalid certificate fingerprint ${quote(fingerprint)}`);
  return hex;
}

/**
 * Names an app may not take on this host: another app's, and names under the base domain other
 * than its own (`*.apps.example.com` would take every app's default name, `shop.apps.example.com`
 * the default name of an app yet to come).
 */
export function claimProblem(app: string, name: string, others: { app: string; names: string[] }[], baseDomain: string): string | undefined {
  const owner = others.find((other) => other.names.includes(name))?.app;
  if (owner) return `the domain ${name} is already served by the app ${owner} on this host`;
  const own = `${app}.${baseDomain}`;
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  const underBase = bare === baseDomain || bare.endsWith(`.${baseDomain}`);
  const underOwn = name === own || bare.endsWith(`.${own}`);
  if (underBase && !underOwn) return `the domain ${name} is under this host's base domain ${baseDomain}, where every app gets its default name (<app>.${baseDomain}); ${app} may use ${own} and names under it`;
  return undefined;
}

/** Refuses names another app answers to, or under the base domain but not the app's own (a config error: they come from paas.yml). */
export function checkClaims(app: string, names: string[], others: { app: string; names: string[] }[], baseDomain: string): void {
  for (const name of names) {
    const problem = claimProblem(app, name, others, baseDomain);
    if (!problem) continue;
    const owner = others.find((other) => other.names.includes(name))?.app;
    throw new PaasError('config', problem, {
      where: 'paas.yml domains',
      hint: owner ? `remove it from paas.yml, or from ${owner} first (paas domains:remove ${name} --app ${owner})` : 'use a domain of your own (DNS pointing at this host), or the default name',
    });
  }
}
