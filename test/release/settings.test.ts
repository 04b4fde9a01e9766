import { describe, expect, it } from 'vitest';
import {
  issuableNames, appNames, balanceSettings, certificateBase, checkSettings, domainOwner, effectiveBalance, extraDomains, parseRoutes,
  parseWeights, routesFor, siteFor, type AcmeSettings, type AppSettings,
} from '../../src/release/settings.js';
import { checkSite, HSTS_MAX_AGE, parseSites, renderRoutes, renderSites } from '../../src/nginx/config.js';
import { confirmationProblem } from '../../src/ui/arguments.js';

const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const cert = {
  fingerprint: FP, names: ['secure.example.com', '*.apps.example.com'], notAfter: '2030-01-01T00:00:00.000Z', selfSigned: false,
  redirect: true, certFile: '/var/lib/paas/certs/shop/abcd.crt', keyFile: '/var/lib/paas/certs/shop/abcd.key', addedAt: '2026-01-01T00:00:00.000Z',
};

describe('appNames / extraDomains', () => {
  it('default name first, then paas.yml, then added; no duplicates', () => {
    const settings: AppSettings = { domains: ['b.example.com', 'a.example.com'] };
    expect(appNames('shop', 'localhost', ['a.example.com', 'c.example.com'], settings)).toEqual(['shop.localhost', 'a.example.com', 'c.example.com', 'b.example.com']);
    expect(extraDomains(['a.example.com'], settings)).toEqual(['a.example.com', 'b.example.com']);
  });
});

describe('siteFor', () => {
  it('no certificate: plain names', () => {
    expect(siteFor('shop', 'localhost', [], { domains: ['www.example.com'] })).toEqual({ app: 'shop', serverNames: ['shop.localhost', 'www.example.com'] });
  });

  it('HTTPS for exactly the names the certificate covers (wildcard one label deep)', () => {
    const site = siteFor('shop', 'localhost', ['secure.example.com'], { domains: ['x.apps.example.com', 'a.b.apps.example.com'], certificate: cert });
    expect(site).toEqual({
      app: 'shop',
      serverNames: ['shop.localhost', 'secure.example.com', 'x.apps.example.com', 'a.b.apps.example.com'],
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, redirect: true, serverNames: ['secure.example.com', 'x.apps.example.com'] },
    });
    // and nginx's sites table takes it: HTTPS and the redirect for the covered names only
    expect(checkSite(site)).toBe(site);
    expect(renderSites([site], 'g1')).toBe([
      'generation g1',
      'app shop 0 /var/lib/paas/certs/shop/abcd.crt /var/lib/paas/certs/shop/abcd.key',
      'name shop.localhost shop 0 0',
      'name secure.example.com shop 1 1',
      'name x.apps.example.com shop 1 1',
      'name a.b.apps.example.com shop 0 0',
      '',
    ].join('\n'));
    expect(parseSites(renderSites([site], 'g1')).sites).toEqual([site]);
  });

  it('hsts: the covered names get HSTS_MAX_AGE (one year) in the table; without it, none', () => {
    const site = siteFor('shop', 'localhost', [], { domains: ['secure.example.com'], certificate: { ...cert, hsts: true } });
    expect(site.tls).toEqual({ certFile: cert.certFile, keyFile: cert.keyFile, redirect: true, serverNames: ['secure.example.com'], hstsMaxAge: HSTS_MAX_AGE });
    expect(HSTS_MAX_AGE).toBe(31_536_000);
    expect(renderSites([site], 'g2')).toContain('\napp shop 31536000 /var/lib/paas/certs/shop/abcd.crt /var/lib/paas/certs/shop/abcd.key\n');
    expect(siteFor('shop', 'localhost', [], { domains: ['secure.example.com'], certificate: { ...cert, hsts: false } }).tls).not.toHaveProperty('hstsMaxAge');
    expect(siteFor('shop', 'localhost', [], { domains: ['secure.example.com'], certificate: cert }).tls).not.toHaveProperty('hstsMaxAge');
    // hsts without a covered name: no TLS, so no HSTS either
    expect(siteFor('shop', 'localhost', [], { domains: [], certificate: { ...cert, hsts: true } })).toEqual({ app: 'shop', serverNames: ['shop.localhost'] });
  });

  it('redirect off: HTTPS without the 308', () => {
    const site = siteFor('shop', 'localhost', ['secure.example.com'], { domains: [], certificate: { ...cert, redirect: false } });
    expect(renderSites([site], 'g3')).toBe([
      'generation g3',
      'app shop 0 /var/lib/paas/certs/shop/abcd.crt /var/lib/paas/certs/shop/abcd.key',
      'name shop.localhost shop 0 0',
      'name secure.example.com shop 1 0',
      '',
    ].join('\n'));
  });

  it('a certificate that covers none of the names: no TLS at all', () => {
    expect(siteFor('shop', 'localhost', [], { domains: [], certificate: cert }).tls).toBeUndefined();
  });
});

describe('balancing', () => {
  it('parseWeights reads web.N=W and refuses anything else', () => {
    expect(parseWeights(['web.1=3', 'web.2=1'])).toEqual({ 'web.1': 3, 'web.2': 1 });
    expect(() => parseWeights(['web.1'])).toThrow('"web.1" is not REPLICA=WEIGHT (for example web.1=3)');
    expect(() => parseWeights(['worker.1=2'])).toThrow('"worker.1" is not a web replica (write web.1, web.2, ...)');
    expect(() => parseWeights(['web.0=2'])).toThrow('is not a web replica');
    expect(() => parseWeights(['web.1=0'])).toThrow('the weight of web.1 must be a whole number from 1 to 1000');
    expect(() => parseWeights(['web.1=1001'])).toThrow('the weight of web.1 must be a whole number from 1 to 1000');
    expect(() => parseWeights(['web.1=1', 'web.1=2'])).toThrow('web.1 is given twice');
    expect(() => parseWeights(['web.1=1;reload'])).toThrow('is not REPLICA=WEIGHT');
  });

  it('balanceSettings: a known strategy; weights only with weighted', () => {
    expect(balanceSettings('least_conn', {})).toEqual({ balance: 'least_conn' });
    expect(balanceSettings('weighted', { 'web.1': 3 })).toEqual({ balance: 'weighted', weights: { 'web.1': 3 } });
    expect(() => balanceSettings('fastest', {})).toThrow('"fastest" is not a strategy: use one of round_robin, least_conn, ip_hash, weighted');
    expect(() => balanceSettings('ip_hash', { 'web.1': 3 })).toThrow('weights apply to the weighted strategy only, not to ip_hash');
  });

  it('effectiveBalance: lb:set wins over paas.yml', () => {
    expect(effectiveBalance('ip_hash', { domains: [] })).toEqual({ balance: 'ip_hash', source: 'paas.yml' });
    expect(effectiveBalance('ip_hash', { domains: [], balance: 'least_conn' })).toEqual({ balance: 'least_conn', source: 'lb:set' });
  });

  it('routesFor: weights by replica position, only for weighted; round-trips through the route file', () => {
    const settings: AppSettings = { domains: [], balance: 'weighted', weights: { 'web.1': 3, 'web.3': 2 } };
    const routes = routesFor(7, 'round_robin', [20001, 20002, 20003], settings);
    expect(routes).toEqual({ version: 7, balance: 'weighted', upstreams: [{ port: 20001, weight: 3 }, { port: 20002 }, { port: 20003, weight: 2 }] });
    const text = renderRoutes(routes);
    expect(text).toBe('version 7\nbalance weighted\npeer 20001 3\npeer 20002 1\npeer 20003 2\n');
    expect(parseRoutes(text)).toEqual({ version: 7, balance: 'weighted', ports: [20001, 20002, 20003] });
    expect(routesFor(7, 'round_robin', [20001, 20002], { domains: [], weights: { 'web.1': 3 } })).toEqual({
      version: 7, balance: 'round_robin', upstreams: [{ port: 20001 }, { port: 20002 }],
    });
    expect(parseRoutes('')).toBeUndefined();
    expect(parseRoutes('version x\n')).toBeUndefined();
  });
});

describe('checkSettings', () => {
  it('accepts valid settings, names every problem of tampered ones', () => {
    expect(checkSettings({ domains: ['a.example.com'], balance: 'weighted', weights: { 'web.2': 5 } })).toEqual([]);
    expect(checkSettings({ domains: ['a b.example.com', 'x.example.com;'], balance: 'fast' as never, weights: { 'web.1': 0 } })).toEqual([
      'domains: "a b.example.com" is not a valid hostname: a space is not allowed (only letters, digits, dashes and dots)',
      'domains: "x.example.com;" is not a valid hostname: ";" is not allowed (only letters, digits, dashes and dots)',
      'balance: "fast" is not one of round_robin, least_conn, ip_hash, weighted',
      'weights: the weight of web.1 must be a whole number from 1 to 1000',
    ]);
  });
});

describe('checkSettings: acme (certs:auto)', () => {
  const acme: AcmeSettings = { names: ['shop.example.com', 'www.shop.example.com'], redirect: true, hsts: false, by: 'certs:auto', failures: 0 };

  it('accepts valid ACME settings, with the optional fields, and a certificate that came from ACME', () => {
    expect(checkSettings({ domains: ['shop.example.com'], acme })).toEqual([]);
    expect(checkSettings({ domains: [], acme: { ...acme, by: 'paas.yml' } })).toEqual([]);
    expect(checkSettings({
      domains: [],
      acme: { ...acme, failures: 3, lastError: 'the CA said no', lastAttemptAt: '2026-01-01T00:00:00.000Z', retryAfter: '2026-01-01T01:00:00.000Z' },
      certificate: { ...cert, source: 'acme', issuer: 'CN=Pebble Intermediate CA', notBefore: '2026-01-01T00:00:00.000Z', hsts: true },
    })).toEqual([]);
  });

  it.each([
    ['no names', { names: [] }],
    ['not a list', { names: 'shop.example.com' as unknown as string[] }],
    ['a wildcard (HTTP-01 cannot prove it)', { names: ['shop.example.com', '*.shop.example.com'] }],
    ['a hostile name', { names: ['shop.example.com\nx'] }],
    ['an uppercase name', { names: ['Shop.example.com'] }],
    ['a name that is not a string', { names: [42 as unknown as string] }],
  ])('acme.names: %s', (_what, change) => {
    expect(checkSettings({ domains: [], acme: { ...acme, ...change } })).toEqual(['acme.names: expected a list of host names (no wildcard)']);
  });

  it('redirect and hsts must be booleans, by certs:auto, failures a whole number; every problem named', () => {
    expect(checkSettings({ domains: [], acme: { ...acme, redirect: 'yes' as unknown as boolean } })).toEqual(['acme: redirect and hsts must be true or false']);
    expect(checkSettings({ domains: [], acme: { ...acme, hsts: 1 as unknown as boolean } })).toEqual(['acme: redirect and hsts must be true or false']);
    expect(checkSettings({ domains: [], acme: { ...acme, by: 'certs:add' as 'certs:auto' } })).toEqual(['acme.by: expected certs:auto or paas.yml']);
    expect(checkSettings({ domains: [], acme: { ...acme, failures: -1 } })).toEqual(['acme.failures: expected a whole number']);
    expect(checkSettings({ domains: [], acme: { ...acme, failures: 1.5 } })).toEqual(['acme.failures: expected a whole number']);
    expect(checkSettings({ domains: [], acme: { ...acme, failures: '2' as unknown as number } })).toEqual(['acme.failures: expected a whole number']);
    expect(checkSettings({ domains: ['a b'], acme: { names: [], redirect: null as unknown as boolean, hsts: false, by: undefined as unknown as 'certs:auto', failures: Number.NaN } })).toEqual([
      'domains: "a b" is not a valid hostname: a space is not allowed (only letters, digits, dashes and dots)',
      'acme.names: expected a list of host names (no wildcard)',
      'acme: redirect and hsts must be true or false',
      'acme.by: expected certs:auto or paas.yml',
      'acme.failures: expected a whole number',
    ]);
  });
});

describe('domainOwner / certificateBase / confirmationProblem', () => {
  it('finds the other app that has a name', () => {
    const others = [{ app: 'blog', names: ['blog.localhost', 'blog.example.com'] }, { app: 'api', names: ['api.localhost'] }];
    expect(domainOwner('blog.example.com', others)).toBe('blog');
    expect(domainOwner('api.localhost', others)).toBe('api');
    expect(domainOwner('shop.example.com', others)).toBeUndefined();
  });

  it('certificate files are named by the fingerprint in lowercase hex', () => {
    expect(certificateBase(FP)).toBe('abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789');
    expect(() => certificateBase('../../etc/passwd')).toThrow('invalid certificate fingerprint');
  });

  it('apps:destroy needs the app\'s name, in a prompt or --confirm', () => {
    expect(confirmationProblem('shop', undefined, true)).toBeUndefined();
    expect(confirmationProblem('shop', undefined, false)).toBe('destroying shop needs --confirm shop when there is no terminal to ask');
    expect(confirmationProblem('shop', 'shop', false)).toBeUndefined();
    expect(confirmationProblem('shop', 'shop2', true)).toBe('--confirm "shop2" does not match the app shop');
  });
});

describe('issuableNames (certs:auto without names)', () => {
  it('keeps the names a public CA issues for, in order', () => {
    expect(issuableNames(['shop.localhost', 'shop.example.com', '*.shop.example.com', 'www.shop.example.com', 'intranet', 'a.test', 'b.invalid', 'c.local', 'd.internal', 'e.example', 'localhost']))
      .toEqual(['shop.example.com', 'www.shop.example.com']);
  });

  it('keeps names that only contain a reserved word as a label elsewhere', () => {
    expect(issuableNames(['test.example.com', 'localhost.example.net', 'my-test.dev'])).toEqual(['test.example.com', 'localhost.example.net', 'my-test.dev']);
  });
});
