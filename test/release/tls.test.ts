import { describe, expect, it } from 'vitest';
import type { AcmeSettings, AppCertificate, AppSettings } from '../../src/release/settings.js';
import { planTls, type TlsFacts } from '../../src/release/tls.js';

const now = new Date('2026-06-01T00:00:00.000Z');
const NAMES = ['shop.localhost', 'shop.example.com', 'www.shop.example.com'];
const acme = (overrides: Partial<AcmeSettings> = {}): AcmeSettings => ({ names: ['shop.example.com', 'www.shop.example.com'], redirect: true, hsts: false, by: 'paas.yml', failures: 0, ...overrides });
const certificate = (overrides: Partial<AppCertificate> = {}): AppCertificate => ({
  fingerprint: 'AB:CD', names: ['shop.example.com', 'www.shop.example.com'], notAfter: '2026-08-30T00:00:00.000Z', selfSigned: false, redirect: true,
  certFile: '/var/lib/paas/certs/shop/abcd.crt', keyFile: '/var/lib/paas/certs/shop/abcd.key', addedAt: '2026-06-01T00:00:00.000Z', source: 'acme', ...overrides,
});
const facts = (settings: Partial<AppSettings> = {}, names = NAMES): TlsFacts => ({ app: 'shop', names, settings: { domains: [], ...settings }, renewBeforeDays: 30, now });
const auto = { hsts: false, redirect: true };

describe('planTls', () => {
  it('without tls: nothing, unless paas.yml had started the renewals (then they stop)', () => {
    expect(planTls(undefined, facts())).toEqual({ kind: 'keep' });
    expect(planTls(undefined, facts({ acme: acme({ by: 'certs:auto' }) }))).toEqual({ kind: 'keep' });
    expect(planTls(undefined, facts({ acme: acme(), certificate: certificate() }))).toEqual({ kind: 'stop' });
  });

  it('a first deploy with tls: auto asks for every name a CA issues for (not the default *.localhost one)', () => {
    expect(planTls({ hsts: true, redirect: false }, facts())).toEqual({
      kind: 'issue', acme: { names: ['shop.example.com', 'www.shop.example.com'], hsts: true, redirect: false, by: 'paas.yml', failures: 0 },
    });
  });

  it('a certificate from the CA that covers the names and is not due: kept, and said', () => {
    expect(planTls(auto, facts({ acme: acme(), certificate: certificate() }))).toEqual({
      kind: 'keep', note: 'tls: auto: shop\'s certificate from the CA covers shop.example.com, www.shop.example.com (until 2026-08-30T00:00:00.000Z)',
    });
  });

  it('asks again when a name came, the options changed, the certificate is due, or the last attempt failed', () => {
    const more = [...NAMES, 'api.example.com'];
    expect(planTls(auto, facts({ acme: acme(), certificate: certificate() }, more))).toEqual({
      kind: 'issue', acme: acme({ names: ['shop.example.com', 'www.shop.example.com', 'api.example.com'] }),
    });
    expect(planTls({ hsts: true, redirect: true }, facts({ acme: acme(), certificate: certificate() }))).toEqual({ kind: 'issue', acme: acme({ hsts: true }) });
    // A 121-day certificate with 29 days left, a 30-day window: due.
    expect(planTls(auto, facts({ acme: acme(), certificate: certificate({ addedAt: '2026-03-01T00:00:00.000Z', notAfter: '2026-06-30T00:00:00.000Z' }) }))).toEqual({ kind: 'issue', acme: acme() });
    // A failed attempt is asked again at once by a deploy, its count kept for the backoff.
    const failed = acme({ failures: 3, lastError: 'points at 192.0.2.7' });
    expect(planTls(auto, facts({ acme: failed }))).toEqual({ kind: 'issue', acme: failed });
  });

  it('a short-lived certificate is due a third of its lifetime before expiry, as the host renews it', () => {
    const short = (notBefore: string) => certificate({ notBefore, notAfter: '2026-06-01T00:01:30.000Z' });
    expect(planTls(auto, facts({ acme: acme(), certificate: short('2026-06-01T00:00:00.000Z') })).kind).toBe('keep');
    expect(planTls(auto, facts({ acme: acme(), certificate: short('2026-05-31T23:55:00.000Z') })).kind).toBe('issue');
  });

  it('names compare as sets: the same names in another order are the same request', () => {
    expect(planTls(auto, facts({ acme: acme({ names: ['www.shop.example.com', 'shop.example.com'] }), certificate: certificate() })).kind).toBe('keep');
  });

  it('leaves a certificate brought with certs:add, and certs:auto\'s own choice, as they are', () => {
    expect(planTls(auto, facts({ certificate: certificate({ source: 'certs:add' }) }))).toEqual({
      kind: 'warn',
      message: 'tls: auto: shop serves the certificate added with certs:add (for shop.example.com, www.shop.example.com), which a deploy does not replace',
      hint: 'paas certs:remove --app shop, then deploy again (or paas certs:auto)',
    });
    expect(planTls(auto, facts({ acme: acme({ by: 'certs:auto', names: ['shop.example.com'] }) }))).toEqual({
      kind: 'keep', note: 'tls: auto: certs:auto already keeps shop\'s certificate for shop.example.com',
    });
  });

  it('an app with no name a CA issues for: a warning that says what to add', () => {
    expect(planTls(auto, facts({}, ['shop.localhost', '*.shop.example.com']))).toEqual({
      kind: 'warn',
      message: 'tls: auto: shop has no name a CA can issue a certificate for (shop.localhost, *.shop.example.com)',
      hint: 'list a domain of yours that points at the host in paas.yml domains:, or set a real --base-domain at host:setup',
    });
  });
});
