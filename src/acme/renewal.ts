// Which certificates to renew now. Pure: the agent keeps the clock and the state (what was
// issued, when an attempt failed), the decisions are here, with exact values (no jitter) so that
// they can be tested and explained.

/** One certificate paas manages: the names of one app, and what happened to it so far. */
export interface ManagedCertificate {
  /** The DNS names it covers (one order, one certificate per app's set of names). */
  names: string[];
  /** The current certificate's validity (ISO 8601); absent while none was issued yet. */
  notBefore?: string;
  notAfter?: string;
  /** The last attempt to issue (ISO 8601), successful or not. */
  lastAttemptAt?: string;
  /** What the last attempt failed with (shown to the user; not used to decide). */
  lastError?: string;
  /** Attempts failed in a row since the last success (0 after a success). */
  failures: number;
  /** The CA's Retry-After after a rate limit (ISO 8601): no attempt before it. */
  retryAfter?: string;
}

export interface RenewalPolicy {
  /** Renew this many days before expiry (capped at a third of the lifetime of short-lived certificates). */
  renewBeforeDays: number;
  /** At most this many issuances per run; the rest wait for the next run. */
  maxAtOnce: number;
  /** The wait after the first failure, doubled after each further one... */
  firstBackoffMs: number;
  /** ...up to this. */
  maxBackoffMs: number;
}

export const RENEWAL_DEFAULTS: RenewalPolicy = {
  renewBeforeDays: 30,
  maxAtOnce: 2,
  firstBackoffMs: 5 * 60_000,
  maxBackoffMs: 12 * 3_600_000,
};

export type RenewalReason = 'new' | 'expiring' | 'expired';

export interface RenewalDecision {
  /** The sorted, lowercase names, joined by commas: one key per certificate. */
  key: string;
  names: string[];
  reason: RenewalReason;
  /** When it became due (ISO 8601): its renewal time, or the end of its backoff. */
  dueAt: string;
}

export interface RenewalWait {
  key: string;
  names: string[];
  /** Due, but not before this (ISO 8601). */
  until: string;
  why: 'backoff' | 'retry-after';
}

export interface RenewalPlan {
  /** To issue now, most urgent first (at most maxAtOnce). */
  renew: RenewalDecision[];
  /** Due too, but over maxAtOnce: the next run takes them. */
  deferred: RenewalDecision[];
  /** Due, but waiting after a failure. */
  waiting: RenewalWait[];
  /** When a run next has something to do (ISO 8601); now when some are deferred; absent with nothing managed. */
  nextCheckAt?: string;
}

const DAY_MS = 86_400_000;

export function certificateKey(names: string[]): string {
  return [...new Set(names.map((name) => name.toLowerCase().replace(/\.$/, '')))].sort().join(',');
}

/**
 * When the certificate should be renewed, failures aside: `renewBeforeDays` before notAfter, or
 * a third of its lifetime before notAfter when that is shorter (a 6-day certificate renews 2
 * days before expiry, not at once). Undefined for a certificate not issued yet (due now).
 */
export function renewalTime(cert: Pick<ManagedCertificate, 'notBefore' | 'notAfter'>, policy: Pick<RenewalPolicy, 'renewBeforeDays'> = RENEWAL_DEFAULTS): Date | undefined {
  if (cert.notAfter === undefined) return undefined;
  const notAfter = Date.parse(cert.notAfter);
  let window = policy.renewBeforeDays * DAY_MS;
  if (cert.notBefore !== undefined) {
    const lifetime = notAfter - Date.parse(cert.notBefore);
    if (lifetime > 0) window = Math.min(window, Math.floor(lifetime / 3));
  }
  return new Date(notAfter - window);
}

/** The wait after `failures` failed attempts in a row: 0, then first, 2×first, 4×first... at most max. */
export function backoffDelay(failures: number, policy: Pick<RenewalPolicy, 'firstBackoffMs' | 'maxBackoffMs'> = RENEWAL_DEFAULTS): number {
  if (failures <= 0) return 0;
  // 2 ** 60 is still exact in a double; past it the cap has long applied.
  return Math.min(policy.firstBackoffMs * 2 ** Math.min(failures - 1, 60), policy.maxBackoffMs);
}

/** The decisions of one run at `now`. */
export function planRenewals(certs: ManagedCertificate[], now: Date, options: Partial<RenewalPolicy> = {}): RenewalPlan {
  const policy = { ...RENEWAL_DEFAULTS, ...options };
  const at = now.getTime();
  const due: Array<RenewalDecision & { urgency: number }> = [];
  const waiting: RenewalWait[] = [];
  let next: number | undefined;
  const later = (time: number) => { next = next === undefined ? time : Math.min(next, time); };

  for (const cert of certs) {
    const key = certificateKey(cert.names);
    const names = key.split(',');
    const renewAt = renewalTime(cert, policy)?.getTime() ?? Number.NEGATIVE_INFINITY;
    const backoffEnd = cert.failures > 0 && cert.lastAttemptAt !== undefined
      ? Date.parse(cert.lastAttemptAt) + backoffDelay(cert.failures, policy)
      : Number.NEGATIVE_INFINITY;
    const retryAfter = cert.retryAfter !== undefined ? Date.parse(cert.retryAfter) : Number.NEGATIVE_INFINITY;
    const notBefore = Math.max(backoffEnd, retryAfter);

    if (renewAt > at) {
      later(Math.max(renewAt, notBefore));
      continue;
    }
    if (notBefore > at) {
      waiting.push({ key, names, until: new Date(notBefore).toISOString(), why: retryAfter >= backoffEnd ? 'retry-after' : 'backoff' });
      later(notBefore);
      continue;
    }
    const notAfter = cert.notAfter !== undefined ? Date.parse(cert.notAfter) : undefined;
    const reason: RenewalReason = notAfter === undefined ? 'new' : notAfter <= at ? 'expired' : 'expiring';
    const dueAt = Math.max(renewAt, notBefore);
    due.push({
      key,
      names,
      reason,
      dueAt: new Date(Number.isFinite(dueAt) ? dueAt : at).toISOString(),
      // Sites without a valid certificate (new or expired) first, then the nearest expiry.
      urgency: notAfter === undefined ? Number.NEGATIVE_INFINITY : notAfter,
    });
  }

  due.sort((a, b) => a.urgency - b.urgency || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const strip = ({ urgency: _urgency, ...decision }: RenewalDecision & { urgency: number }): RenewalDecision => decision;
  const renew = due.slice(0, Math.max(0, policy.maxAtOnce)).map(strip);
  const deferred = due.slice(renew.length).map(strip);
  if (deferred.length > 0) later(at);
  return { renew, deferred, waiting, ...(next !== undefined ? { nextCheckAt: new Date(next).toISOString() } : {}) };
}
