import { describe, expect, it } from 'vitest';
import { backoffDelay, certificateKey, planRenewals, renewalTime, type ManagedCertificate } from '../../src/acme/renewal.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const now = new Date('2026-06-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const at = (offsetMs: number) => iso(now.getTime() + offsetMs);
const DAY = 24 * HOUR;

/** A 90-day certificate for `names` that expires `inDays` from now. */
function cert(names: string[], inDays: number, extra: Partial<ManagedCertificate> = {}): ManagedCertificate {
  return { names, notBefore: at((inDays - 90) * DAY), notAfter: at(inDays * DAY), failures: 0, ...extra };
}

describe('renewalTime', () => {
  it('is 30 days before expiry for a 90-day certificate', () => {
    expect(renewalTime({ notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-04-01T00:00:00.000Z' })?.toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });
  it('is a third of the lifetime before expiry for a short-lived certificate', () => {
    // 6 days (Let's Encrypt's short-lived profile): renew 2 days before expiry.
    expect(renewalTime({ notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-07T00:00:00.000Z' })?.toISOString()).toBe('2026-01-05T00:00:00.000Z');
    // 45 days: 15 days before, not 30.
    expect(renewalTime({ notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-02-15T00:00:00.000Z' })?.toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });
  it('honours renewBeforeDays, and without notBefore uses it as is', () => {
    expect(renewalTime({ notAfter: '2026-04-01T00:00:00.000Z' }, { renewBeforeDays: 10 })?.toISOString()).toBe('2026-03-22T00:00:00.000Z');
  });
  it('is undefined (due now) when nothing was issued', () => {
    expect(renewalTime({})).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('doubles from 5 minutes up to 12 hours', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100].map((n) => backoffDelay(n) / MIN)).toEqual([0, 5, 10, 20, 40, 80, 160, 320, 640, 720, 720, 720]);
  });
});

describe('certificateKey', () => {
  it('is the sorted lowercase names, once each', () => {
    expect(certificateKey(['WWW.app.test', 'app.test.', 'app.test'])).toBe('app.test,www.app.test');
  });
});

describe('planRenewals', () => {
  it('renews nothing 31 days before expiry, and says when to look again', () => {
    expect(planRenewals([cert(['app.test'], 31)], now)).toEqual({ renew: [], deferred: [], waiting: [], nextCheckAt: at(DAY) });
  });

  it('renews at 30 days before expiry exactly', () => {
    expect(planRenewals([cert(['app.test', 'www.app.test'], 30)], now)).toEqual({
      renew: [{ key: 'app.test,www.app.test', names: ['app.test', 'www.app.test'], reason: 'expiring', dueAt: now.toISOString() }],
      deferred: [],
      waiting: [],
    });
  });

  it('issues a certificate never issued, and an expired one, first', () => {
    const plan = planRenewals([
      cert(['b.test'], 10),
      cert(['a.test'], -1),
      { names: ['new.test'], failures: 0 },
      cert(['c.test'], 20),
    ], now, { maxAtOnce: 3 });
    expect(plan.renew.map((d) => [d.key, d.reason])).toEqual([['new.test', 'new'], ['a.test', 'expired'], ['b.test', 'expiring']]);
    expect(plan.deferred.map((d) => d.key)).toEqual(['c.test']);
    expect(plan.nextCheckAt).toBe(now.toISOString());
  });

  it('never takes more than maxAtOnce (default 2)', () => {
    const plan = planRenewals([cert(['a.test'], 5), cert(['b.test'], 4), cert(['c.test'], 3)], now);
    expect(plan.renew.map((d) => d.key)).toEqual(['c.test', 'b.test']);
    expect(plan.deferred.map((d) => d.key)).toEqual(['a.test']);
  });

  it('after failures, waits 5 min, 10 min, 20 min... from the last attempt', () => {
    const failed = (failures: number, agoMs: number) => cert(['app.test'], 10, { failures, lastAttemptAt: at(-agoMs), lastError: 'challenge failed' });
    expect(planRenewals([failed(1, 4 * MIN)], now)).toEqual({
      renew: [], deferred: [],
      waiting: [{ key: 'app.test', names: ['app.test'], until: at(MIN), why: 'backoff' }],
      nextCheckAt: at(MIN),
    });
    expect(planRenewals([failed(1, 5 * MIN)], now).renew).toEqual([{ key: 'app.test', names: ['app.test'], reason: 'expiring', dueAt: now.toISOString() }]);
    expect(planRenewals([failed(3, 19 * MIN)], now).waiting[0]!.until).toBe(at(MIN));
    expect(planRenewals([failed(20, 11 * HOUR)], now).waiting[0]!.until).toBe(at(HOUR));
    expect(planRenewals([failed(20, 12 * HOUR)], now).renew).toHaveLength(1);
  });

  it('backs off an expired certificate too (the CA is not hammered)', () => {
    const plan = planRenewals([cert(['app.test'], -2, { failures: 2, lastAttemptAt: at(-MIN) })], now);
    expect(plan.renew).toEqual([]);
    expect(plan.waiting).toEqual([{ key: 'app.test', names: ['app.test'], until: at(9 * MIN), why: 'backoff' }]);
  });

  it("waits for the CA's Retry-After when it is later than the backoff", () => {
    const plan = planRenewals([cert(['app.test'], 10, { failures: 1, lastAttemptAt: at(-MIN), retryAfter: at(3 * HOUR) })], now);
    expect(plan.waiting).toEqual([{ key: 'app.test', names: ['app.test'], until: at(3 * HOUR), why: 'retry-after' }]);
    expect(plan.nextCheckAt).toBe(at(3 * HOUR));
  });

  it('a certificate not due yet whose backoff ends later is looked at when both allow', () => {
    const plan = planRenewals([cert(['app.test'], 30 + 1 / 24, { failures: 8, lastAttemptAt: at(-MIN) })], now);
    // due in 1 hour; backoff 640 min from a minute ago
    expect(plan).toEqual({ renew: [], deferred: [], waiting: [], nextCheckAt: at(639 * MIN) });
  });

  it('a success (failures 0) ignores the last attempt', () => {
    expect(planRenewals([cert(['app.test'], 1, { failures: 0, lastAttemptAt: at(-MIN) })], now).renew).toHaveLength(1);
  });

  it('has no nextCheckAt with nothing managed', () => {
    expect(planRenewals([], now)).toEqual({ renew: [], deferred: [], waiting: [] });
  });
});
