/**
 * Certificates from the host's ACME CA (certs:auto), issued and renewed
 * on the host: the account, the DNS check, HTTP-01 answered by nginx from the challenges
 * directory, and the renewal schedule the host service runs. acme-client is loaded only here,
 * and only when a certificate is asked for (it is most of the agent's size).
 */
import { promises as fs } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PaasError } from '../errors.js';
import { CHALLENGES_DIR, challengeStore, removeChallenge, writeChallenge } from '../acme/challenges.js';
import { certificateKey, planRenewals, renewalTime, type ManagedCertificate } from '../acme/renewal.js';
import { appNames, issuableNames, type AcmeSettings, type AppSettings } from '../release/settings.js';
import { planTls } from '../release/tls.js';
import type { ReleaseSpec } from '../release/types.js';
import { inspectCertificate } from '../tls/pem.js';
import { failpoint } from './failpoints.js';
import type { CertView, Emit, HostAcme, HostInfo } from './protocol.js';
import { currentRelease, readHostInfo } from './releases.js';
import { certificateOf, installCertificate } from './routing.js';
import { SECRET_KEY_FILE, loadOrCreateKey, seal, unseal } from './secrets.js';
import { readSettings, writeSettings } from './settings.js';
import { HOST_FILE, ROOT, listApps, readJson, readState, writeAtomic } from './state.js';

export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
export const ACME_DIR = path.join(ROOT, 'acme');
const ACCOUNT_FILE = path.join(ACME_DIR, 'account.json');
/** PEM of the roots to trust for the CA's own HTTPS (`host:setup --acme-ca`: a private CA). */
export const DIRECTORY_CA_FILE = path.join(ACME_DIR, 'directory-ca.pem');
export const DEFAULT_RENEW_BEFORE_DAYS = 30;
/** The longest one issuance may take (orders, validation, download), whoever asked. */
const ISSUE_TIMEOUT_MS = 120_000;

/** The host's ACME settings, defaults filled in. */
export function acmeOf(host: HostInfo | undefined): Required<Pick<HostAcme, 'directoryUrl' | 'renewBeforeDays'>> & HostAcme {
  return { directoryUrl: LETS_ENCRYPT, renewBeforeDays: DEFAULT_RENEW_BEFORE_DAYS, ...host?.acme };
}

interface AccountRecord { directoryUrl: string; accountUrl?: string; key: string }

/** The host's ACME account key for the directory (made, sealed with the host key, 0600, on first use). */
async function accountFor(directoryUrl: string, make: () => Promise<string>): Promise<{ keyPem: string; accountUrl?: string; save: (url: string) => Promise<void> }> {
  const key = await loadOrCreateKey(SECRET_KEY_FILE);
  const records = (await readJson<AccountRecord[]>(ACCOUNT_FILE)) ?? [];
  const scope = `acme-account ${directoryUrl}`;
  let record = records.find((r) => r.directoryUrl === directoryUrl);
  if (!record) {
    record = { directoryUrl, key: seal(Buffer.from(await make()), key, scope) };
    await fs.mkdir(ACME_DIR, { recursive: true, mode: 0o711 });
    await writeAtomic(ACCOUNT_FILE, `${JSON.stringify([...records, record], null, 2)}\n`, 0o600);
  }
  const keyPem = unseal(record.key, key, scope, (reason) => new PaasError('host', `cannot read the ACME account key: ${reason}`, { where: ACCOUNT_FILE })).toString();
  const save = async (accountUrl: string) => {
    if (record.accountUrl === accountUrl) return;
    const all = ((await readJson<AccountRecord[]>(ACCOUNT_FILE)) ?? []).map((r) => (r.directoryUrl === directoryUrl ? { ...r, accountUrl } : r));
    await writeAtomic(ACCOUNT_FILE, `${JSON.stringify(all, null, 2)}\n`, 0o600);
  };
  return { keyPem, ...(record.accountUrl ? { accountUrl: record.accountUrl } : {}), save };
}

/** This host's own addresses (what a name must point at), from its interfaces. */
function ownAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address);
}

/** GET http://<address>/.well-known/acme-challenge/<token> with the name as Host: does it reach this host's nginx? */
function answersHere(address: string, name: string, token: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: address, port: 80, path: `/.well-known/acme-challenge/${token}`, headers: { Host: name }, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); if (body.length > 4096) request.destroy(); });
      response.on('end', () => resolve(response.statusCode === 200 && body.trim() === expected));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * Before the CA is asked: each name must point at this host. A name whose address is not one of
 * the host's interfaces may still be this host behind NAT (a cloud's public address): nginx is
 * asked through that address for a token only this host serves.
 */
async function checkDns(names: string[], acme: HostAcme): Promise<void> {
  const { preflightDns, AcmeError } = await import('../acme/client.js');
  const resolver = new Resolver({ timeout: 5000, tries: 2 });
  if (acme.resolver) resolver.setServers([acme.resolver]);
  const own = ownAddresses();
  for (const name of names) {
    try {
      await preflightDns(name, own, resolver);
    } catch (error) {
      if (!(error instanceof AcmeError) || error.problem !== 'dns' || !/points at/.test(error.message)) throw error;
      const answers = await resolver.resolve4(name).catch(() => [] as string[]);
      const token = randomBytes(24).toString('base64url');
      const expected = `${token}.paas-self-check`;
      await writeChallenge(CHALLENGES_DIR, token, expected);
      try {
        let here = answers.length > 0;
        for (const address of answers) here = here && await answersHere(address, name, token, expected);
        if (!here) throw error;
      } finally {
        await removeChallenge(CHALLENGES_DIR, token);
      }
    }
  }
}

/** The app's names now (its default one, paas.yml's and added domains). */
async function namesOf(app: string, settings: AppSettings, host: HostInfo): Promise<string[]> {
  return appNames(app, host.baseDomain, currentRelease(await readState(app))?.domains ?? [], settings);
}

/**
 * One issuance for the app (the caller holds its lock): checks, the CA, then the certificate
 * served without a reload. A failure is recorded (for `paas certs` and the backoff) and thrown;
 * nothing else changes, and a certificate the app had keeps serving.
 */
export async function issueFor(app: string, asked: AcmeSettings, emit: Emit): Promise<CertView> {
  let wanted = asked;
  const host = await readHostInfo();
  const acme = acmeOf(host);
  const settings = await readSettings(app);
  const started = new Date();
  try {
    // A name the app no longer has (a domain removed, paas.yml's changed) is not asked for again.
    const names = await namesOf(app, settings, host);
    const kept = wanted.names.filter((name) => names.includes(name));
    if (kept.length === 0) throw new PaasError('usage', `none of ${wanted.names.join(', ')} is a name of ${app} any more`, { hint: `run certs:auto again for the names it has, or certs:auto --off` });
    if (kept.length < wanted.names.length) emit(`${wanted.names.filter((name) => !kept.includes(name)).join(', ')} left ${app}: not asked for again`, 'certs');
    wanted = { ...wanted, names: kept };
    const client = await import('../acme/client.js');
    const ordered = client.normalizeNames(kept);
    emit(`checking that ${ordered.join(', ')} point${ordered.length === 1 ? 's' : ''} at this host`, 'certs');
    await checkDns(ordered, acme);
    const account = await accountFor(acme.directoryUrl, () => client.createAccountKey());
    const caBundle = await fs.readFile(DIRECTORY_CA_FILE, 'utf8').catch(() => undefined);
    emit(`asking ${new URL(acme.directoryUrl).host} for a certificate (HTTP-01)`, 'certs');
    const issued = await withTimeout(client.issueCertificate({
      directoryUrl: acme.directoryUrl, accountKeyPem: account.keyPem, names: ordered, challenge: challengeStore(CHALLENGES_DIR),
      ...(acme.email ? { email: acme.email } : {}), ...(caBundle ? { caBundle } : {}), ...(account.accountUrl ? { accountUrl: account.accountUrl } : {}),
    }), ISSUE_TIMEOUT_MS, `the CA did not issue within ${ISSUE_TIMEOUT_MS / 1000} s`);
    await account.save(issued.accountUrl);
    const info = inspectCertificate(issued.certPem, issued.keyPem, { cert: 'the certificate from the CA', key: 'its key' });
    return await installCertificate(app, { cert: issued.certPem, key: issued.keyPem, info }, {
      redirect: wanted.redirect, hsts: wanted.hsts, source: 'acme',
      settings: (next) => {
        const { lastError: _e, retryAfter: _r, ...acme } = wanted;
        return { ...next, acme: { ...acme, failures: 0, lastAttemptAt: started.toISOString() } };
      },
    }, emit);
  } catch (error) {
    // The planner waits backoffDelay(failures) after lastAttemptAt, or until the CA's Retry-After.
    // Recorded for what the host keeps renewing; a new request that failed leaves no trace.
    const caRetry = (error as { retryAfter?: Date }).retryAfter?.toISOString();
    const current = await readSettings(app);
    if (current.acme && JSON.stringify(current.acme.names) === JSON.stringify(asked.names)) {
      const { retryAfter: _old, ...acme } = current.acme;
      await writeSettings(app, { ...current, acme: { ...acme, failures: acme.failures + 1, lastError: (error as Error).message, lastAttemptAt: started.toISOString(), ...(caRetry ? { retryAfter: caRetry } : {}) } });
    }
    throw error;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new PaasError('host', message, { hint: 'try again later; `paas certs` shows the last error' })), ms); })])
    .finally(() => clearTimeout(timer));
}

/**
 * certs:auto: the host keeps a certificate from its CA for `requested` (default: every name of
 * the app a CA can issue for), issues it now, and renews it by itself. The caller holds the lock.
 */
export async function autoCertificate(app: string, requested: string[], options: { redirect: boolean; hsts: boolean; by: AcmeSettings['by'] }, emit: Emit): Promise<CertView> {
  const host = await readHostInfo();
  if (!currentRelease(await readState(app))) throw new PaasError('usage', `${app} has no release on this host yet`, { hint: 'deploy it first: the CA checks the names through the app\'s nginx routes' });
  const settings = await readSettings(app);
  const names = await namesOf(app, settings, host);
  const client = await import('../acme/client.js');
  const chosen = requested.length ? client.normalizeNames(requested) : issuableNames(names);
  if (chosen.length === 0) {
    throw new PaasError('usage', `${app} has no name a CA can issue a certificate for (${names.join(', ')})`, {
      hint: `add a domain of yours pointing at this host: paas domains:add shop.example.com --app ${app}; or set a real --base-domain at host:setup`,
    });
  }
  const unknown = chosen.filter((name) => !names.includes(name));
  if (unknown.length) {
    throw new PaasError('usage', `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a name of ${app} (${names.join(', ')})`, { hint: `add it first: paas domains:add ${unknown[0]} --app ${app}` });
  }
  const previous = settings.acme;
  const same = previous && JSON.stringify(previous.names) === JSON.stringify(chosen) && previous.redirect === options.redirect && previous.hsts === options.hsts;
  const cert = settings.certificate;
  const renewAt = cert && renewalTime({ notBefore: cert.notBefore ?? cert.addedAt, notAfter: cert.notAfter }, { renewBeforeDays: acmeOf(host).renewBeforeDays });
  if (same && cert?.source === 'acme' && chosen.every((name) => cert.names.includes(name)) && renewAt !== undefined && renewAt.getTime() > Date.now()) {
    emit(`${app} already has a certificate from the CA for ${chosen.join(', ')} (until ${cert.notAfter})`, 'certs');
    return certsView(app);
  }
  // Kept (and renewed by the host) only once the CA issued: a failed request changes nothing.
  await issueFor(app, same ? previous : { names: chosen, ...options, failures: 0 }, emit);
  return certsView(app);
}

/**
 * paas.yml `tls:` once a release is live (the caller holds the app's lock). The release stays
 * live whatever happens here: what cannot be done is a warning. A failed issuance stays recorded
 * (`paas certs` shows it), so the host service tries again with backoff; nothing else changes.
 */
export async function followTls(spec: ReleaseSpec, emit: Emit): Promise<void> {
  const { app } = spec;
  try {
    const host = await readHostInfo();
    const settings = await readSettings(app);
    const step = planTls(spec.tls, {
      app, names: appNames(app, host.baseDomain, spec.domains, settings), settings, renewBeforeDays: acmeOf(host).renewBeforeDays, now: new Date(),
    });
    if (step.kind === 'keep') {
      if (step.note) emit(step.note, 'certs');
    } else if (step.kind === 'warn') {
      emit(`warning: ${step.message}`, 'certs');
      emit(`  ${step.hint}`, 'certs');
    } else if (step.kind === 'stop') {
      await stopAutoCertificate(app, emit);
      const until = settings.certificate?.source === 'acme' ? ` It serves until ${settings.certificate.notAfter}; paas certs:remove removes it.` : '';
      emit(`paas.yml has no tls: any more, so the host stopped renewing the certificate.${until}`, 'certs');
    } else {
      // Recorded first: should this agent die now, the host service asks the CA for it (renewals start with apps that have no certificate).
      await writeSettings(app, { ...settings, acme: step.acme });
      await failpoint('tls-recorded');
      await issueFor(app, step.acme, emit);
      emit(`tls: auto: ${app} serves a certificate from the CA for ${step.acme.names.join(', ')}; the host renews it`, 'certs');
    }
  } catch (error) {
    const failure = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
    emit(`warning: tls: auto: no new certificate for ${app}: ${failure.message}`, 'certs');
    for (const line of failure.details) emit(`  ${line}`, 'certs');
    if (failure.hint) emit(`  ${failure.hint}`, 'certs');
    emit(`  v${spec.version} stays live; the host tries again with backoff (\`paas certs\` shows when), or deploy again once it is fixed`, 'certs');
  }
}

/** `paas certs`: the certificate, and for certs:auto when the host renews it next. */
export async function certsView(app: string): Promise<CertView> {
  return certificateOf(app, await nextRenewalOf(app));
}

/** certs:auto --off: the host stops renewing; the current certificate keeps serving until removed. */
export async function stopAutoCertificate(app: string, emit: Emit): Promise<CertView> {
  const { acme, ...rest } = await readSettings(app);
  if (acme) {
    await writeSettings(app, rest);
    emit(`the host no longer renews ${app}'s certificate`, 'certs');
  }
  return certsView(app);
}

/** What the renewal planner sees of each app with certs:auto, by the planner's key of its names. */
export async function managedCertificates(only?: string): Promise<Map<string, { app: string; cert: ManagedCertificate }>> {
  const managed = new Map<string, { app: string; cert: ManagedCertificate }>();
  for (const app of only ? [only] : await listApps()) {
    const settings = await readSettings(app).catch(() => undefined);
    const acme = settings?.acme;
    if (!acme) continue;
    const current = settings.certificate?.source === 'acme' ? settings.certificate : undefined;
    const covers = current && acme.names.every((name) => current.names.includes(name));
    managed.set(certificateKey(acme.names), {
      app,
      cert: {
        names: acme.names, failures: acme.failures,
        ...(current && covers ? { notBefore: current.notBefore ?? current.addedAt, notAfter: current.notAfter } : {}),
        ...(acme.lastAttemptAt ? { lastAttemptAt: acme.lastAttemptAt } : {}),
        ...(acme.retryAfter ? { retryAfter: acme.retryAfter } : {}),
      },
    });
  }
  return managed;
}

/** When the host renews the app's certificate next (now: due), for `paas certs`; undefined without certs:auto. */
export async function nextRenewalOf(app: string, now = new Date()): Promise<string | undefined> {
  const host = await readJson<HostInfo>(HOST_FILE);
  const managed = [...(await managedCertificates(app)).values()].map((m) => m.cert);
  if (managed.length === 0) return undefined;
  const plan = planRenewals(managed, now, { renewBeforeDays: acmeOf(host).renewBeforeDays, maxAtOnce: 1 });
  if (plan.renew.length) return now.toISOString();
  return plan.waiting[0]?.until ?? plan.nextCheckAt;
}
