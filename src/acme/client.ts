// Certificates from an ACME CA (RFC 8555: Let's Encrypt, or pebble in tests), through the
// `acme-client` package: this module chooses the steps (account, one order, HTTP-01, finalize,
// download) and turns the CA's problems into PaasErrors a user can act on. Agent-side only.
//
// acme-client keeps one shared axios instance. Per issuance, an AsyncLocalStorage context gives
// that instance this CA's TLS trust (a test CA's root), a timeout, turns off acme-client's own
// HTTP retries (it would sleep out a Retry-After of hours inside the request: the renewal
// schedule waits instead, see renewal.ts) and records the CA's last problem document, whose
// `type` acme-client's errors drop.
import { AsyncLocalStorage } from 'node:async_hooks';
import dnsPromises from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import axios, { type AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { PaasError, type ExitCodeName } from '../errors.js';
import { certificateCovers, inspectCertificate } from '../tls/pem.js';

export type AccountKeyType = 'ecdsa' | 'rsa';

export interface AcmeConnection {
  /** The CA's directory, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** PEM of the certificates to trust for the CA's own HTTPS (a test CA); the system's otherwise. */
  caBundle?: string;
  /** Each HTTP request to the CA, at most (default 30 s). */
  requestTimeoutMs?: number;
  /** Polling of pending challenges and orders (defaults: 10 attempts, 1 s doubling to 30 s). */
  poll?: { attempts?: number; minMs?: number; maxMs?: number };
}

export interface AccountOptions extends AcmeConnection {
  /** The account's private key (PEM, from createAccountKey; the caller stores it sealed, 0600). */
  accountKeyPem: string;
  /** Contact for the CA (expiry and policy notices); optional in RFC 8555. */
  email?: string;
}

export interface ChallengeHooks {
  /** Serve `keyAuthorization` at http://<name>/.well-known/acme-challenge/<token>. */
  set(token: string, keyAuthorization: string): Promise<void>;
  /** Stop serving it (called whatever the outcome). */
  remove(token: string): Promise<void>;
}

export interface IssueOptions extends AccountOptions {
  /** The names of one certificate (all of an app's domains, as SANs). */
  names: string[];
  challenge: ChallengeHooks;
  /** The account URL from registerAccount (saves a request); looked up from the key otherwise. */
  accountUrl?: string;
  /** The certificate's key type (a new key per certificate); default ecdsa (P-256). */
  keyType?: AccountKeyType;
}

export interface IssuedCertificate {
  /** The leaf, then its chain, as the CA sent it (what nginx's ssl_certificate takes). */
  certPem: string;
  /** The certificate's new private key (PEM, PKCS#8 or SEC1): store it sealed. */
  keyPem: string;
  notBefore: string;
  notAfter: string;
  /** The names the certificate covers, as read from it. */
  names: string[];
  accountUrl: string;
}

/** Why an ACME step failed, for the renewal schedule (the message says it for the user). */
export type AcmeProblem = 'refused' | 'rate-limited' | 'challenge' | 'unreachable' | 'dns' | 'account' | 'failure';

export class AcmeError extends PaasError {
  readonly problem: AcmeProblem;
  /** The CA's problem type (urn:ietf:params:acme:error:...), when it sent one. */
  readonly acmeType?: string;
  /** After a rate limit: no new attempt before this (the CA's Retry-After). */
  readonly retryAfter?: Date;

  constructor(problem: AcmeProblem, kind: ExitCodeName, message: string, options: { hint?: string; details?: string[]; where?: string; acmeType?: string; retryAfter?: Date } = {}) {
    super(kind, message, { hint: options.hint, details: options.details, where: options.where });
    this.problem = problem;
    this.acmeType = options.acmeType;
    this.retryAfter = options.retryAfter;
  }
}

// ---------------------------------------------------------------------------------------------
// Names and DNS

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** Let's Encrypt's limit of names per certificate. */
export const MAX_NAMES = 100;

/** Why `name` cannot be in a certificate paas asks for over HTTP-01, or undefined. */
export function checkCertificateName(name: string): string | undefined {
  if (name.startsWith('*.')) return 'is a wildcard: HTTP-01 cannot prove control of a wildcard (it needs DNS-01, not supported)';
  if (net.isIP(name)) return 'is an IP address: certificates are issued for DNS names';
  if (name.length > 253) return `is ${name.length} characters long, at most 253 are allowed`;
  const labels = name.split('.');
  if (labels.length < 2) return 'is not a fully qualified domain name (e.g. app.example.com)';
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) return `has an invalid label ${JSON.stringify(bad)} (letters, digits and inner hyphens, 1 to 63 characters)`;
  return undefined;
}

/** The names, lowercase, without trailing dots, once each, in the given order; a PaasError for an invalid one. */
export function normalizeNames(names: string[]): string[] {
  const out = [...new Set(names.map((name) => name.trim().toLowerCase().replace(/\.$/, '')))];
  if (out.length === 0) throw new PaasError('usage', 'no name to issue a certificate for');
  if (out.length > MAX_NAMES) {
    throw new PaasError('usage', `${out.length} names for one certificate, at most ${MAX_NAMES}`, { hint: 'split the domains over several apps' });
  }
  for (const name of out) {
    const problem = checkCertificateName(name);
    if (problem) throw new AcmeError('refused', 'usage', `cannot ask for a certificate for ${JSON.stringify(name)}: it ${problem}`, { hint: 'remove the name from the app\'s domains, or fix its spelling' });
  }
  return out;
}

export interface DnsResolver {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

const canonicalIp = (address: string) => (net.isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address);

/**
 * Checks, before asking the CA, that `name`'s A/AAAA answers include one of this host's
 * addresses (a wrong record is the most common failure of HTTP-01, and each failed validation
 * counts against the CA's limits). With an AAAA record and no IPv6 address of the host given,
 * the AAAA record must go: Let's Encrypt tries IPv6 first. Returns the answers.
 */
export async function preflightDns(name: string, expectedAddresses: string[], resolver: DnsResolver = dnsPromises): Promise<{ a: string[]; aaaa: string[] }> {
  const lookup = async (family: 'A' | 'AAAA'): Promise<string[]> => {
    try {
      return (await (family === 'A' ? resolver.resolve4(name) : resolver.resolve6(name))).map(canonicalIp);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw new AcmeError('dns', 'failure', `cannot look up the ${family} records of ${name}: ${(error as Error).message}`, {
        hint: 'check the host\'s DNS resolver (/etc/resolv.conf) and that the domain\'s name servers answer, then try again',
      });
    }
  };
  const [a, aaaa] = await Promise.all([lookup('A'), lookup('AAAA')]);
  const expected = expectedAddresses.map(canonicalIp);
  const host = expected.join(', ');
  const v4 = expected.filter((ip) => net.isIPv4(ip));
  const v6 = expected.filter((ip) => net.isIPv6(ip));
  if (a.length === 0 && aaaa.length === 0) {
    throw new AcmeError('dns', 'usage', `${name} has no A or AAAA record`, { hint: `add an A record for ${name} pointing at this host (${host}) at your DNS provider` });
  }
  if (aaaa.length > 0 && !aaaa.some((ip) => expected.includes(ip))) {
    const fix = v6.length > 0 ? 'fix its AAAA record' : 'remove its AAAA record (this host has no IPv6 address; the CA tries IPv6 first)';
    throw new AcmeError('dns', 'usage', `${name} points at ${aaaa.join(', ')}, not at this host (${host}): ${fix}`, { hint: `at your DNS provider, ${fix}; changes can take the record's TTL to be seen` });
  }
  if (a.length > 0 && !a.some((ip) => expected.includes(ip))) {
    throw new AcmeError('dns', 'usage', `${name} points at ${a.join(', ')}, not at this host (${v4.join(', ') || host}): fix its A record`, { hint: 'at your DNS provider, point the A record at this host; changes can take the record\'s TTL to be seen' });
  }
  if (a.length === 0 && v4.length > 0 && v6.length === 0) {
    throw new AcmeError('dns', 'usage', `${name} has no A record pointing at this host (${host})`, { hint: `add an A record for ${name} pointing at ${v4[0]}` });
  }
  return { a, aaaa };
}

// ---------------------------------------------------------------------------------------------
// The shared axios instance of acme-client, per issuance

interface CaProblem {
  type?: string;
  detail?: string;
  status?: number;
  retryAfter?: string;
  subproblems?: Array<{ type?: string; detail?: string; identifier?: { value?: string } }>;
}

interface Context {
  agent: https.Agent;
  timeoutMs: number;
  problem?: CaProblem;
  transportError?: Error & { code?: string };
}

const contexts = new AsyncLocalStorage<Context>();
let installed = false;

function installInterceptors(): void {
  if (installed) return;
  installed = true;
  const defaultAdapter = axios.getAdapter('http');
  acme.axios.interceptors.request.use((config: InternalAxiosRequestConfig) => {
    const context = contexts.getStore();
    if (!context) return config;
    config.httpsAgent = context.agent;
    config.timeout = context.timeoutMs;
    // acme-client retries 429 and 5xx up to 5 times, sleeping Retry-After (or 5 s, 10 s...): off.
    (config as { retryAttempt?: number }).retryAttempt = Number.MAX_SAFE_INTEGER - 1;
    // Keep the transport error: acme-client's interceptor replaces it with a TypeError.
    config.adapter = async (request: InternalAxiosRequestConfig) => {
      try {
        return await defaultAdapter(request);
      } catch (error) {
        if (!(error as AxiosError).response) context.transportError = error as Error;
        throw error;
      }
    };
    return config;
  });
  acme.axios.interceptors.response.use((response: AxiosResponse) => {
    const context = contexts.getStore();
    if (context) recordProblem(context, response);
    return response;
  });
}

function recordProblem(context: Context, response: AxiosResponse): void {
  const data = response.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== 'object') return;
  const header = (name: string) => {
    const value = (response.headers as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
  if (response.status >= 400 && typeof data.type === 'string') {
    context.problem = { ...(data as CaProblem), status: response.status, retryAfter: header('retry-after') };
    return;
  }
  // An invalid challenge, authorization or order carries its error inside (§7.1.3, §7.1.4).
  if (data.status === 'invalid') {
    const inner = (data.error as CaProblem | undefined)
      ?? (Array.isArray(data.challenges) ? (data.challenges as Array<{ error?: CaProblem }>).find((c) => c.error)?.error : undefined);
    if (inner) context.problem = { ...inner, status: response.status };
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

export type Step = 'directory' | 'account' | 'order' | 'challenge' | 'finalize' | 'download';
const STEP_TEXT: Record<Step, string> = {
  directory: 'reading the CA\'s directory',
  account: 'registering the ACME account',
  order: 'ordering the certificate',
  challenge: 'validating the names over HTTP-01',
  finalize: 'finalizing the order',
  download: 'downloading the certificate',
};

const ERR = 'urn:ietf:params:acme:error:';

function parseRetryAfter(value: string | undefined, now = Date.now()): Date | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return new Date(now + Number(value.trim()) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : new Date(date);
}

/** The CA's problem (or a transport failure) at `step` as an AcmeError. Pure: exported for its tests. */
export function acmeFailure(step: Step, context: Pick<Context, 'problem' | 'transportError'>, error: unknown, directoryUrl: string, names: string[]): AcmeError {
  if (error instanceof AcmeError) return error;
  const problem = context.problem;
  const type = problem?.type?.startsWith(ERR) ? problem.type.slice(ERR.length) : problem?.type;
  const detail = (problem?.detail ?? (error as Error).message ?? String(error)).replace(/\s+/g, ' ').trim();
  const details = (problem?.subproblems ?? []).map((sub) => `${sub.identifier?.value ?? '?'}: ${sub.detail ?? sub.type ?? ''}`);
  const acmeType = problem?.type;
  const forNames = names.join(', ');

  if (!problem && context.transportError) {
    return unreachable(directoryUrl, context.transportError, `while ${STEP_TEXT[step]}`);
  }
  switch (type) {
    case 'rateLimited': {
      const retryAfter = parseRetryAfter(problem?.retryAfter);
      return new AcmeError('rate-limited', 'failure', `the CA rate-limited ${STEP_TEXT[step]} for ${forNames}: ${detail}`, {
        acmeType, retryAfter, details,
        hint: `${retryAfter ? `paas tries again after ${retryAfter.toISOString()}` : 'paas tries again later'}; avoid re-creating certificates for the same names (Let's Encrypt allows 5 identical certificates a week), and test against the CA's staging directory`,
      });
    }
    case 'rejectedIdentifier':
    case 'unsupportedIdentifier':
      return new AcmeError('refused', 'usage', `the CA refuses to issue a certificate for ${forNames}: ${detail}`, {
        acmeType, details,
        hint: 'remove the refused name from the app\'s domains (the CA\'s policy forbids it: a blocked, reserved or internal name), or use a certificate of your own with certs:add',
      });
    case 'caa':
      return new AcmeError('refused', 'usage', `a CAA record forbids this CA to issue for ${forNames}: ${detail}`, {
        acmeType, details,
        hint: 'add a CAA record allowing this CA (for Let\'s Encrypt: `0 issue "letsencrypt.org"`) at your DNS provider, or remove the CAA records that exclude it',
      });
    case 'malformed':
      if (step === 'order') {
        return new AcmeError('refused', 'usage', `the CA refuses the names ${forNames}: ${detail}`, { acmeType, details, hint: 'check the spelling of the app\'s domains' });
      }
      break;
    case 'accountDoesNotExist':
    case 'unauthorized':
      if (step === 'account' || type === 'accountDoesNotExist') {
        return new AcmeError('account', 'failure', `the CA does not know this ACME account: ${detail}`, { acmeType, hint: 'register the account again (its key may have been replaced or revoked)' });
      }
      break;
    case 'userActionRequired':
    case 'externalAccountRequired':
      return new AcmeError('account', 'failure', `the CA wants more before it opens an account: ${detail}`, { acmeType, hint: 'read the CA\'s terms (its directory\'s meta.termsOfService); a CA that needs an external account binding is not supported yet' });
    default:
      break;
  }
  if (step === 'challenge' || ['connection', 'incorrectResponse', 'dns', 'tls'].includes(type ?? '') || (type === 'unauthorized' && step !== 'account')) {
    return new AcmeError('challenge', 'failure', `the CA could not validate ${forNames} over HTTP-01: ${detail}`, { acmeType, details, hint: challengeHint(type) });
  }
  return new AcmeError('failure', 'failure', `the CA failed ${STEP_TEXT[step]} for ${forNames}: ${detail}`, {
    acmeType, details,
    hint: (problem?.status ?? 0) >= 500 ? 'the CA had an internal error: paas tries again later' : 'try again later; if it persists, check the CA\'s status page',
  });
}

function challengeHint(type: string | undefined): string {
  switch (type) {
    case 'connection':
      return 'the CA could not connect to port 80 of the name: point its A/AAAA records at this host and open port 80 to the internet (firewall, security group, router)';
    case 'dns':
      return 'the CA could not resolve the name: check its A/AAAA (and CAA) records at your DNS provider, and that its name servers answer';
    case 'unauthorized':
    case 'incorrectResponse':
      return 'the CA reached a server that gave another answer at /.well-known/acme-challenge/: the name points at another server, a CDN or proxy in front, or a redirect away from this host';
    case 'tls':
      return 'the CA followed a redirect to HTTPS and its TLS failed: serve /.well-known/acme-challenge/ over plain HTTP on this host';
    default:
      return 'point the name at this host and make http://<name>/.well-known/acme-challenge/ reach it on port 80';
  }
}

function unreachable(directoryUrl: string, error: Error & { code?: string }, when: string): AcmeError {
  const code = error.code ?? '';
  const tlsTrust = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  const hint = tlsTrust
    ? 'the CA\'s HTTPS certificate is not trusted: check the host\'s clock and CA certificates (ca-certificates); for a test CA, give its root as the CA bundle'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? 'the CA\'s host name does not resolve: check the directory URL and the host\'s DNS resolver'
      : 'check the directory URL, and that this host can reach the CA over HTTPS (outbound port 443, proxy, firewall)';
  return new AcmeError('unreachable', 'host', `cannot reach the ACME directory ${directoryUrl} ${when}: ${code ? `${code}: ` : ''}${error.message}`, { hint });
}

// ---------------------------------------------------------------------------------------------
// Steps

function makeContext(connection: AcmeConnection): Context {
  return {
    agent: new https.Agent({ keepAlive: false, ...(connection.caBundle ? { ca: connection.caBundle } : {}) }),
    timeoutMs: connection.requestTimeoutMs ?? 30_000,
  };
}

/** GETs the directory ourselves first: a clear error when it is unreachable or not ACME. */
async function fetchDirectory(connection: AcmeConnection, context: Context): Promise<void> {
  let url: URL;
  try {
    url = new URL(connection.directoryUrl);
  } catch {
    throw new AcmeError('unreachable', 'usage', `the ACME directory URL ${JSON.stringify(connection.directoryUrl)} is not a URL`, { hint: 'give the CA\'s directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory' });
  }
  const body = await new Promise<string>((resolve, reject) => {
    const get = url.protocol === 'http:' ? http.get : https.get;
    const request = get(url, { agent: url.protocol === 'http:' ? undefined : context.agent, timeout: context.timeoutMs, headers: { accept: 'application/json' } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { if (text.length < 1_000_000) text += chunk; });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new AcmeError('unreachable', 'host', `the ACME directory ${connection.directoryUrl} answered HTTP ${response.statusCode}`, { hint: 'check the directory URL (Let\'s Encrypt: https://acme-v02.api.letsencrypt.org/directory)' }));
        else resolve(text);
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${context.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
  }).catch((error: Error) => {
    throw error instanceof AcmeError ? error : unreachable(connection.directoryUrl, error, 'from this host');
  });
  let directory: Record<string, unknown>;
  try {
    directory = JSON.parse(body) as Record<string, unknown>;
  } catch {
    directory = {};
  }
  if (typeof directory.newOrder !== 'string' || typeof directory.newAccount !== 'string' || typeof directory.newNonce !== 'string') {
    throw new AcmeError('unreachable', 'usage', `${connection.directoryUrl} is not an ACME directory (no newNonce, newAccount and newOrder)`, { hint: 'give the CA\'s directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory' });
  }
}

function makeClient(options: AccountOptions & { accountUrl?: string }): acme.Client {
  const poll = options.poll ?? {};
  return new acme.Client({
    directoryUrl: options.directoryUrl,
    accountKey: options.accountKeyPem,
    ...(options.accountUrl ? { accountUrl: options.accountUrl } : {}),
    backoffAttempts: poll.attempts ?? 10,
    backoffMin: poll.minMs ?? 1000,
    backoffMax: poll.maxMs ?? 30_000,
  });
}

async function ensureAccount(client: acme.Client, options: AccountOptions, context: Context): Promise<string> {
  const email = options.email?.trim();
  if (email !== undefined && email !== '' && !/^[^@\s,;<>"]+@[^@\s,;<>"]+\.[^@\s,;<>"]+$/.test(email)) {
    throw new PaasError('usage', `${JSON.stringify(email)} is not an e-mail address`, { hint: 'give an address such as ops@example.com for the CA\'s notices' });
  }
  try {
    // An existing account first (onlyReturnExisting, §7.3.1): acme-client's createAccount on a
    // known key sends the creation fields again as an update, which pebble refuses as an empty
    // update when there is no contact to change.
    context.problem = undefined;
    const existing = await client.createAccount({ onlyReturnExisting: true }).then(() => true, (error: unknown) => {
      if (context.problem?.type === `${ERR}accountDoesNotExist`) return false;
      throw error;
    });
    if (!existing) await client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) });
    else if (email) await client.updateAccount({ contact: [`mailto:${email}`] });
    return client.getAccountUrl();
  } catch (error) {
    throw acmeFailure('account', context, error, options.directoryUrl, []);
  }
}

async function run<T>(connection: AcmeConnection, body: (context: Context) => Promise<T>): Promise<T> {
  installInterceptors();
  const context = makeContext(connection);
  try {
    return await contexts.run(context, async () => {
      await fetchDirectory(connection, context);
      return body(context);
    });
  } finally {
    context.agent.destroy();
  }
}

/** A new account key: ECDSA P-256 (default) or RSA 2048, as PEM. */
export async function createAccountKey(type: AccountKeyType = 'ecdsa'): Promise<string> {
  const key = type === 'rsa' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256');
  return key.toString();
}

/** Registers (or finds) the account of `accountKeyPem` with the CA, terms agreed. */
export async function registerAccount(options: AccountOptions): Promise<{ accountUrl: string }> {
  return run(options, async (context) => ({ accountUrl: await ensureAccount(makeClient(options), options, context) }));
}

/**
 * One certificate for all of `names`, validated over HTTP-01.
 *
 * One order for the whole set of an app's names, rather than one per name: nginx serves one
 * certificate per app, the CA's limits count orders and certificates (fewer against the weekly
 * and hourly limits), and there is one renewal to schedule. The cost: one name failing fails the
 * order, which is why preflightDns runs first.
 */
export async function issueCertificate(options: IssueOptions): Promise<IssuedCertificate> {
  const names = normalizeNames(options.names);
  return run(options, async (context) => {
    const client = makeClient(options);
    const accountUrl = options.accountUrl ?? await ensureAccount(client, options, context);

    let step: Step = 'order';
    const served: string[] = [];
    try {
      const order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
      const authorizations = await client.getAuthorizations(order);

      step = 'challenge';
      const pending: Array<{ authz: acme.Authorization; challenge: (typeof authorizations)[number]['challenges'][number] }> = [];
      for (const authz of authorizations) {
        if (authz.status === 'valid') continue; // validated recently: the CA reuses it
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (!challenge) {
          throw new AcmeError('refused', 'failure', `the CA offers no HTTP-01 challenge for ${authz.identifier.value}`, { hint: 'this CA needs another challenge type (DNS-01 or TLS-ALPN-01), not supported yet' });
        }
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        await options.challenge.set(challenge.token, keyAuthorization);
        served.push(challenge.token);
        pending.push({ authz, challenge });
      }
      for (const { challenge } of pending) await client.completeChallenge(challenge);
      for (const { authz, challenge } of pending) {
        context.problem = undefined;
        try {
          await client.waitForValidStatus(challenge);
          await client.waitForValidStatus(authz);
        } catch (error) {
          const failed = acmeFailure('challenge', context, error, options.directoryUrl, [authz.identifier.value]);
          throw failed;
        }
      }

      step = 'finalize';
      const keyType = options.keyType ?? 'ecdsa';
      const keyPem = keyType === 'rsa' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names }, keyPem);
      const finalized = await client.finalizeOrder(order, csr);

      step = 'download';
      const certPem = await client.getCertificate(finalized);
      return readIssued(certPem, keyPem.toString(), names, accountUrl);
    } catch (error) {
      throw acmeFailure(step, context, error, options.directoryUrl, names);
    } finally {
      for (const token of served) await options.challenge.remove(token).catch(() => {});
    }
  });
}

/** The CA's answer, checked with paas's own certificate reader (chain order, key, names). */
function readIssued(certPem: string, keyPem: string, names: string[], accountUrl: string): IssuedCertificate {
  const info = inspectCertificate(certPem, keyPem, { cert: 'the certificate from the CA', key: 'its new key' });
  const missing = names.filter((name) => !certificateCovers(info.names, name));
  if (missing.length > 0) {
    throw new AcmeError('failure', 'failure', `the CA's certificate does not cover ${missing.join(', ')} (it covers ${info.names.join(', ')})`);
  }
  const leaf = new X509Certificate(certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)![0]);
  return { certPem, keyPem, notBefore: new Date(leaf.validFrom).toISOString(), notAfter: info.notAfter, names: info.names, accountUrl };
}
