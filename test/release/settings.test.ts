import { describe, expect, it } from 'vitest';
import {
  appNames, balanceSettings, certificateBase, checkSettings, domainOwner, effectiveBalance, extraDomains, parseRoutes,
  parseWeights, routesFor, siteFor, type AppSettings,
} from '../../src/release/settings.js';
import { renderAppConfig, renderRoutes } from '../../src/nginx/config.js';
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
    // and nginx's renderer accepts it
    expect(renderAppConfig(site)).toContain('    server_name secure.example.com x.apps.example.com;\n    location = /.well-known/paas/app {');
    expect(renderAppConfig(site)).toContain('    location / { return 308 https://$host$request_uri; }');
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

describe('renderDefaultTlsServer', () => {
  it('is port 443\'s default server, refusing handshakes, with the apps\' protocols', async () => {
    const { renderDefaultTlsServer } = await import('../../src/nginx/config.js');
    expect(renderDefaultTlsServer()).toBe([
      '# paas: HTTPS for host names that no certificate covers: the handshake is refused. Generated by the paas agent.',
      'server {',
      '    listen 443 ssl default_server;',
      '    server_name _;',
      '    ssl_reject_handshake on;',
      '    # The default server of a port decides the protocols of every handshake on it (before SNI picks the app).',
      '    ssl_protocols TLSv1.2 TLSv1.3;',
      '}',
      '',
    ].join('\n'));
  });
});
