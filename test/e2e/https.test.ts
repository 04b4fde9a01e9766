// HTTPS by itself against a real ACME CA (Debian's pebble, with its own DNS answering the test
// names with the sandbox's address): certs:auto issues over HTTP-01 answered by the host's nginx,
// the host renews by itself, and no domain, certificate or app change reloads nginx or fails a
// request (HTTP and HTTPS, keep-alive and new connections).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertView } from '../../src/agent/protocol.js';
import { request } from '../nginx/harness.js';
import { copyExample } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad, type LoadReport } from './load.js';
import { failpoints } from './faults.js';
import { BLOCKED_DOMAIN, sandboxNetwork, skipWithoutPebble, startPebbleFor, type SandboxPebble } from './pebble.js';

/** Short-lived certificates: the host renews a third of the lifetime before expiry, i.e. after 60 s. */
const VALIDITY_SECONDS = 90;
const SHOP = 'shop.paas-e2e.net';
const WWW = 'www.shop.paas-e2e.net';
const OTHER = 'other.paas-e2e.net';

const world = testWorld('https');
const shopDir = copyExample('node');
const otherDir = copyExample('node');
const docsDir = copyExample('node');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'paas-https-'));
let host: TestHost;
let pebble: SandboxPebble;
let root = '';

const shop = (args: string[]) => world.cli([...args, '--app', 'shop', ...world.at(host)]);
const certsOf = async (app = 'shop') => (await world.cliJson<(CertView & { host: string })[]>(['certs', '--app', app, ...world.at(host)]))[0]!;

async function onHost(script: string): Promise<string> {
  return (await execa('docker', ['exec', host.container, 'sh', '-c', script])).stdout;
}

/** nginx's master pid and a hash of every configuration file it reads: what no app change may touch. */
const nginxFingerprint = () => onHost('cat /run/nginx.pid; find /etc/nginx /var/lib/paas/nginx -name "*.conf" -type f | sort | xargs sha256sum');

const https = (name: string, pathname = '/') => request(host.httpsPort, name, pathname, { tls: { ca: root } });

/** Our own certificate for shop's names (certs:add), besides the CA's. */
let own = '';
const ownCert = path.join(scratch, 'own.crt');
const ownKey = path.join(scratch, 'own.key');

/**
 * Constant load on shop over HTTP and HTTPS, keep-alive and new connections; the HTTPS clients
 * trust pebble's root and shop's own certificate (shop always has one of the two).
 */
function loadBoth() {
  const expectBody = /Hello/;
  const plain = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: 'shop.localhost', expectBody, maxDurationMs: 600_000 });
  const secure = startLoad({ url: `https://127.0.0.1:${host.httpsPort}/`, hostHeader: SHOP, tls: { ca: `${root}\n${own}` }, expectBody, maxDurationMs: 600_000 });
  return {
    async stop(label: string): Promise<LoadReport[]> {
      const reports = [await plain.stop(), await secure.stop()];
      console.log(`${label}: HTTP ${formatLoadReport(reports[0]!)}`);
      console.log(`${label}: HTTPS ${formatLoadReport(reports[1]!)}`);
      return reports;
    },
  };
}

beforeAll(async () => {
  if (skipWithoutPebble) return;
  host = await world.addHost('a');
  pebble = await startPebbleFor(host.container, { validitySeconds: VALIDITY_SECONDS });
  root = await pebble.rootPem();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${SHOP}`,
    '-addext', `subjectAltName=DNS:${SHOP},DNS:${WWW},DNS:${OTHER}`, '-keyout', ownKey, '-out', ownCert], { stdio: 'ignore' });
  own = readFileSync(ownCert, 'utf8');
  const caFile = path.join(scratch, 'directory-ca.pem');
  writeFileSync(caFile, pebble.directoryCaPem);
  const setup = await world.cli(['host:setup', ...world.at(host), '--public-port', String(host.httpPort),
    '--acme-directory', pebble.directoryUrl, '--acme-ca', caFile, '--acme-resolver', pebble.dnsServer, '--acme-email', 'ops@paas-e2e.net']);
  expect(setup.exitCode, setup.stderr).toBe(0);
  const deploy = await world.cli(['deploy', shopDir.dir, '--app', 'shop', ...world.at(host)]);
  expect(deploy.exitCode, deploy.stderr.slice(-2000)).toBe(0);
}, 600_000);

afterAll(async () => {
  await pebble?.stop();
  await world.cleanup();
  shopDir.cleanup();
  otherDir.cleanup();
  docsDir.cleanup();
});

describe.skipIf(skipWithoutPebble)('HTTPS from an ACME CA (pebble)', () => {
  it('certs:auto with only the default name under localhost: a clear error, nothing changes', async () => {
    const result = await shop(['certs:auto']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('has no name a CA can issue a certificate for (shop.localhost)');
    expect(result.stderr).toContain('paas domains:add');
    expect((await certsOf()).certificate).toBeNull();
    expect((await certsOf()).auto).toBeUndefined();
  });

  it('certs:auto issues one certificate for the app\'s names over HTTP-01; HTTPS answers, HTTP redirects (308), the challenge path does not', async () => {
    for (const name of [SHOP, WWW]) expect((await shop(['domains:add', name])).exitCode).toBe(0);
    const before = await nginxFingerprint();
    const started = Date.now();
    const result = await shop(['certs:auto', '--hsts']);
    console.log(`certs:auto (2 names, pebble): ${Date.now() - started} ms`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`auto         ${SHOP}, ${WWW}`);
    const view = await certsOf();
    expect(view.certificate?.source).toBe('acme');
    expect(view.certificate?.names.sort()).toEqual([SHOP, WWW].sort());
    expect(view.certificate?.issuer).toMatch(/Pebble Intermediate/);
    expect(view.auto?.nextRenewal).toBeDefined();
    expect(view.auto?.failures).toBe(0);

    const answer = await https(SHOP);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/Hello/);
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await https(WWW)).status).toBe(200);
    const plain = await request(host.httpPort, SHOP, '/some/path?x=1');
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe(`https://${SHOP}/some/path?x=1`);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const challenge = await request(host.httpPort, SHOP, '/.well-known/acme-challenge/not-a-token');
    expect(challenge.status).toBe(404);
    // The default name has no certificate: plain HTTP, and no HTTPS handshake.
    expect((await request(host.httpPort, 'shop.localhost', '/')).status).toBe(200);
    await expect(https('shop.localhost')).rejects.toThrow();
    // No nginx reload, no configuration file changed.
    expect(await nginxFingerprint()).toBe(before);
    // The key is not world-readable, the account key is sealed.
    expect(await onHost('stat -c "%a %G" /var/lib/paas/certs/shop/*.key')).toMatch(/^640 www-data$/);
    expect(await onHost('grep -c "PRIVATE KEY" /var/lib/paas/acme/account.json || true')).toBe('0');
  });

  it('a name that does not point at the host is refused before the CA is asked; the certificate keeps serving', async () => {
    const bad = 'elsewhere.paas-e2e.net';
    await pebble.setAddress(bad, '192.0.2.7');
    expect((await shop(['domains:add', bad])).exitCode).toBe(0);
    const before = (await certsOf()).certificate?.fingerprint;
    const result = await shop(['certs:auto', SHOP, WWW, bad]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`${bad} points at 192.0.2.7, not at this host`);
    expect(result.stderr).toContain('fix its A record');
    const after = await certsOf();
    expect(after.certificate?.fingerprint).toBe(before);
    expect(after.auto?.names.sort()).toEqual([SHOP, WWW].sort());
    expect((await https(SHOP)).status).toBe(200);
    expect((await shop(['domains:remove', bad])).exitCode).toBe(0);
  });

  it('a name the CA refuses: its own words, and nothing changes', async () => {
    const blocked = `shop.${BLOCKED_DOMAIN}`;
    expect((await shop(['domains:add', blocked])).exitCode).toBe(0);
    const before = (await certsOf()).certificate?.fingerprint;
    const result = await shop(['certs:auto', SHOP, WWW, blocked]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/the CA refuses/);
    expect((await certsOf()).certificate?.fingerprint).toBe(before);
    expect((await shop(['domains:remove', blocked])).exitCode).toBe(0);
  });

  it('the host renews the certificate by itself, with no paas command, and no request fails while it swaps', async () => {
    const first = (await certsOf()).certificate!;
    const load = loadBoth();
    const deadline = Date.now() + (VALIDITY_SECONDS + 30) * 1000;
    let renewed = first;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const fingerprint = await onHost('cat /var/lib/paas/apps/shop/settings.json');
      const now = JSON.parse(fingerprint) as { certificate: { fingerprint: string; notAfter: string } };
      if (now.certificate.fingerprint !== first.fingerprint) { renewed = now.certificate as typeof first; break; }
    }
    // Let the new certificate serve new handshakes for a while under load.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const reports = await load.stop('renewal');
    if (renewed.fingerprint === first.fingerprint) console.log(await onHost('tail -n 30 /var/lib/paas/log/service.log; cat /var/lib/paas/apps/shop/settings.json'));
    expect(renewed.fingerprint).not.toBe(first.fingerprint);
    expect(await onHost('cat /var/lib/paas/log/service.log')).toContain('certificates: renewed the certificate of shop');
    expect(Date.parse(renewed.notAfter)).toBeGreaterThan(Date.parse(first.notAfter));
    const served = new X509Certificate((await execa('openssl', ['s_client', '-connect', `127.0.0.1:${host.httpsPort}`, '-servername', SHOP], { input: '', reject: false })).stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)![0]);
    expect(served.fingerprint256).toBe(renewed.fingerprint);
    for (const report of reports) {
      expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
      expect(report.ok).toBeGreaterThan(100);
    }
  }, (VALIDITY_SECONDS + 90) * 1000);

  it('under load over HTTP and HTTPS: domains:add/remove, certs:add, certs:auto, certs:remove, another app created and destroyed: 0 failed requests, nginx untouched', async () => {
    const before = await nginxFingerprint();
    const load = loadBoth();
    const other = (args: string[]) => world.cli([...args, '--app', 'other', ...world.at(host)]);
    // shop keeps a certificate throughout (the CA's or its own, both trusted by the load); other
    // gets one, changes it, loses it, and goes.
    const steps: [string, () => Promise<{ exitCode: number; stderr: string }>][] = [
      ['domains:add', () => shop(['domains:add', 'extra.paas-e2e.net'])],
      ['domains:remove', () => shop(['domains:remove', 'extra.paas-e2e.net'])],
      ['certs:add', () => shop(['certs:add', '--cert', ownCert, '--key', ownKey])],
      ['certs:auto', () => shop(['certs:auto'])],
      ['deploy other', () => world.cli(['deploy', otherDir.dir, '--app', 'other', ...world.at(host)])],
      ['other domains:add', () => other(['domains:add', OTHER])],
      ['other certs:add', () => other(['certs:add', '--cert', ownCert, '--key', ownKey])],
      ['other certs:auto', () => other(['certs:auto'])],
      ['other certs:remove', () => other(['certs:remove'])],
      ['other certs:auto again', () => other(['certs:auto'])],
      ['apps:destroy other', () => world.cli(['apps:destroy', 'other', '--confirm', 'other', ...world.at(host)])],
    ];
    const timings: string[] = [];
    for (const [label, step] of steps) {
      const started = Date.now();
      const result = await step();
      expect(result.exitCode, `${label}: ${result.stderr.slice(-1500)}`).toBe(0);
      timings.push(`${label} ${Date.now() - started} ms`);
      if (label === 'certs:add') {
        expect((await certsOf()).certificate?.source).toBe('certs:add');
        expect((await request(host.httpsPort, SHOP, '/', { tls: { ca: own } })).status).toBe(200);
      }
      if (label === 'other certs:auto') expect((await https(OTHER)).status).toBe(200);
      if (label === 'other certs:remove') await expect(https(OTHER)).rejects.toThrow();
    }
    const reports = await load.stop('domain, certificate and app changes');
    console.log(`steps: ${timings.join(', ')}`);
    const failed = reports.reduce((sum, r) => sum + r.failed, 0);
    const sent = reports.reduce((sum, r) => sum + r.sent, 0);
    console.log(`failed requests across all changes: ${failed} of ${sent}`);
    expect(failed, JSON.stringify(reports.map((r) => r.failures.slice(0, 5)))).toBe(0);
    expect(await nginxFingerprint()).toBe(before);
    // other is gone: its name answers 404 over HTTP and no handshake over HTTPS.
    expect((await request(host.httpPort, OTHER, '/')).status).toBe(404);
    await expect(https(OTHER)).rejects.toThrow();
    expect((await https(SHOP)).status).toBe(200);
  }, 600_000);

  it('kill -9 of the agent after it wrote the sites table, and after it stored a certificate: the host stays consistent, no request fails', async () => {
    const before = await nginxFingerprint();
    const load = loadBoth();
    const late = 'late.paas-e2e.net';
    await failpoints.arm(host, 'sites-written', 'kill');
    const killed = await shop(['domains:add', late]);
    await failpoints.disarm(host, 'sites-written');
    console.log(`domains:add killed after the table was written: exit ${killed.exitCode}`);
    // The table names it; the host service has nginx load it within its 10 s look, with no command run.
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 20_000 && (status = (await request(host.httpPort, late, '/')).status) !== 200) await new Promise((r) => setTimeout(r, 250));
    console.log(`the killed domains:add's name served after ${Date.now() - started} ms`);
    expect(status).toBe(200);

    expect((await certsOf()).certificate!.source).toBe('acme');
    const ownFingerprint = new X509Certificate(readFileSync(ownCert)).fingerprint256;
    await failpoints.arm(host, 'certificate-stored', 'kill');
    const killedAdd = await shop(['certs:add', '--cert', ownCert, '--key', ownKey]);
    await failpoints.disarm(host, 'certificate-stored');
    console.log(`certs:add killed after the files were stored: exit ${killedAdd.exitCode}`);
    // The CA's certificate from before serves, as the settings say: the killed certs:add's is not
    // recorded. (Not the same fingerprint: with 90-second certificates the host may renew meanwhile.)
    const after = (await certsOf()).certificate!;
    expect(after.source).toBe('acme');
    expect(after.fingerprint).not.toBe(ownFingerprint);
    expect((await https(SHOP)).status).toBe(200);
    // The next one works and leaves only its own two files.
    expect((await shop(['certs:add', '--cert', ownCert, '--key', ownKey])).exitCode).toBe(0);
    expect((await onHost('ls /var/lib/paas/certs/shop')).split('\n')).toHaveLength(2);
    expect((await shop(['certs:auto'])).exitCode).toBe(0);
    expect((await shop(['domains:remove', late])).exitCode).toBe(0);
    const reports = await load.stop('agent kills');
    for (const report of reports) expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(await nginxFingerprint()).toBe(before);
  }, 300_000);

  it('a renewal that fails is retried with backoff; `paas certs` shows the last error and the next attempt; the old certificate keeps serving', async () => {
    expect((await certsOf()).certificate?.source).toBe('acme');
    const fingerprint = (await certsOf()).certificate!.fingerprint;
    await pebble.setAddress(SHOP, '192.0.2.9');
    try {
      const deadline = Date.now() + (VALIDITY_SECONDS + 20) * 1000;
      let view = await certsOf();
      while (Date.now() < deadline && !(view.auto?.failures)) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        view = await certsOf();
      }
      console.log(`after a failed renewal: ${JSON.stringify(view.auto)}`);
      expect(view.auto?.failures).toBe(1);
      expect(view.auto?.lastError).toContain(`${SHOP} points at 192.0.2.9, not at this host`);
      // The first retry waits 5 minutes after the failed attempt.
      expect(Date.parse(view.auto!.nextRenewal!) - Date.parse(view.auto!.lastAttemptAt!)).toBe(5 * 60_000);
      expect(view.certificate?.fingerprint).toBe(fingerprint);
      const shown = await shop(['certs']);
      expect(shown.stdout).toMatch(/last error +.*points at 192\.0\.2\.9.*\(1 failed attempt\(s\) in a row/);
      expect(shown.stdout).toMatch(/next renewal \d{4}-/);
    } finally {
      await pebble.clearAddress(SHOP);
    }
    // Fixed: the next certs:auto (or the host's next attempt) issues, and the failures are forgotten.
    expect((await shop(['certs:auto'])).exitCode).toBe(0);
    const fixed = await certsOf();
    expect(fixed.certificate?.fingerprint).not.toBe(fingerprint);
    expect(fixed.auto?.failures).toBe(0);
    expect(fixed.auto?.lastError).toBeUndefined();
  }, (VALIDITY_SECONDS + 120) * 1000);

  it('a host restart: HTTPS answers again with no paas command, and the host goes on renewing', async () => {
    const fingerprint = (await certsOf()).certificate!.fingerprint;
    const started = Date.now();
    const restarted = await execa('docker', ['restart', '--time', '5', host.container], { reject: false });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    // The CA's DNS follows the host if Docker gave it another address.
    await pebble.setDefaultIPv4(sandboxNetwork(host.container).ip);
    let answered = 0;
    while (Date.now() - started < 180_000) {
      const answer = await https(SHOP).catch(() => undefined);
      if (answer?.status === 200) { answered = Date.now() - started; break; }
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`host restart: HTTPS answered again after ${answered} ms`);
    expect(answered).toBeGreaterThan(0);
    expect((await request(host.httpPort, SHOP, '/')).status).toBe(308);
    // The 90-second certificate is renewed by the host service the restart started again.
    let renewed = fingerprint;
    while (Date.now() - started < (VALIDITY_SECONDS + 60) * 1000 && renewed === fingerprint) {
      await new Promise((r) => setTimeout(r, 2000));
      renewed = (JSON.parse(await onHost('cat /var/lib/paas/apps/shop/settings.json')) as { certificate: { fingerprint: string } }).certificate.fingerprint;
    }
    console.log(`host restart: renewed ${Math.round((Date.now() - started) / 1000)} s after the restart`);
    expect(renewed).not.toBe(fingerprint);
    expect((await https(SHOP)).status).toBe(200);
  }, (VALIDITY_SECONDS + 240) * 1000);

  it('paas.yml tls: auto: the deploy gets the certificate; a name that points elsewhere is a warning, retried; without tls: the renewals stop', async () => {
    const DOCS = 'docs.paas-e2e.net';
    const AWAY = 'away.docs.paas-e2e.net';
    const docsYml = (lines: string[]) => writeFileSync(path.join(docsDir.dir, 'paas.yml'), `${['app: docs', ...lines].join('\n')}\n`);
    const deployDocs = async () => {
      const result = await world.cli(['deploy', docsDir.dir, ...world.at(host)]);
      expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
      return `${result.stdout}\n${result.stderr}`;
    };
    const before = await nginxFingerprint();
    const load = loadBoth();

    docsYml([`domains: [${DOCS}]`, 'tls: { certificate: auto, hsts: true }']);
    const first = await deployDocs();
    expect(first).toContain(`tls: auto: docs serves a certificate from the CA for ${DOCS}; the host renews it`);
    expect(first).toContain(`https://${DOCS}/`);
    const issued = await certsOf('docs');
    expect(issued.certificate?.source).toBe('acme');
    expect(issued.certificate?.names).toEqual([DOCS]);
    expect(issued.auto).toMatchObject({ names: [DOCS], by: 'paas.yml', hsts: true, redirect: true, failures: 0 });
    const answer = await https(DOCS);
    expect(answer.status).toBe(200);
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await request(host.httpPort, DOCS, '/x')).headers.location).toBe(`https://${DOCS}/x`);

    // The same paas.yml again: the certificate is kept.
    expect(await deployDocs()).toContain(`tls: auto: docs's certificate from the CA covers ${DOCS}`);
    expect((await certsOf('docs')).certificate?.fingerprint).toBe(issued.certificate?.fingerprint);

    // A new name whose DNS points elsewhere: the release is live, the old certificate serves, the host retries later.
    await pebble.setAddress(AWAY, '192.0.2.8');
    docsYml([`domains: [${DOCS}, ${AWAY}]`, 'tls: { certificate: auto, hsts: true }']);
    const warned = await deployDocs();
    expect(warned).toContain('warning: tls: auto: no new certificate for docs');
    expect(warned).toContain(`${AWAY} points at 192.0.2.8, not at this host`);
    expect(warned).toContain('the host tries again with backoff');
    const failed = await certsOf('docs');
    expect(failed.certificate?.fingerprint).toBe(issued.certificate?.fingerprint);
    expect(failed.auto?.names.sort()).toEqual([DOCS, AWAY].sort());
    expect(failed.auto?.failures).toBe(1);
    expect(failed.auto?.lastError).toContain('points at 192.0.2.8');
    expect(Date.parse(failed.auto!.nextRenewal!)).toBeGreaterThan(Date.now() + 60_000);
    expect((await https(DOCS)).status).toBe(200);

    // DNS fixed and one name more, and the agent killed right after it recorded the request: the
    // release is live, and the host service gets the certificate with no command run.
    await pebble.clearAddress(AWAY);
    const LATE = 'late.docs.paas-e2e.net';
    const all = [DOCS, AWAY, LATE].sort();
    docsYml([`domains: [${all.join(', ')}]`, 'tls: { certificate: auto, hsts: true }']);
    await failpoints.arm(host, 'tls-recorded', 'kill');
    const killed = await world.cli(['deploy', docsDir.dir, ...world.at(host)]);
    await failpoints.disarm(host, 'tls-recorded');
    console.log(`deploy killed after it recorded tls: exit ${killed.exitCode}`);
    expect(killed.exitCode).not.toBe(0);
    const waited = Date.now();
    let names: string[] = [];
    while (Date.now() - waited < 60_000 && names.length !== all.length) {
      await new Promise((r) => setTimeout(r, 1000));
      names = ((JSON.parse(await onHost('cat /var/lib/paas/apps/docs/settings.json')) as { certificate?: { names: string[] } }).certificate?.names ?? []).sort();
    }
    console.log(`the host service got the killed deploy's certificate ${Date.now() - waited} ms after the kill`);
    expect(names).toEqual(all);
    expect((await https(LATE)).status).toBe(200);
    expect((await https(AWAY)).status).toBe(200);
    // The next deploy finds it and keeps it.
    expect(await deployDocs()).toContain(`tls: auto: docs's certificate from the CA covers`);
    const both = await certsOf('docs');
    expect(both.certificate?.names.sort()).toEqual(all);
    expect(both.auto?.failures).toBe(0);

    // paas.yml without tls: the renewals stop, the certificate keeps serving.
    docsYml([`domains: [${all.join(', ')}]`]);
    expect(await deployDocs()).toContain('paas.yml has no tls: any more, so the host stopped renewing the certificate');
    const stopped = await certsOf('docs');
    expect(stopped.auto).toBeUndefined();
    expect(stopped.certificate?.fingerprint).toBe(both.certificate?.fingerprint);
    expect((await https(DOCS)).status).toBe(200);

    const destroyed = await world.cli(['apps:destroy', 'docs', '--confirm', 'docs', ...world.at(host)]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    const reports = await load.stop('tls: auto deploys');
    for (const report of reports) {
      expect(report.failed, formatLoadReport(report)).toBe(0);
      expect(report.ok).toBeGreaterThan(0);
    }
    expect(await nginxFingerprint()).toBe(before);
  }, 600_000);

  it('hostile input to certs:auto and host:setup is refused before anything changes', async () => {
    const before = await onHost('cat /var/lib/paas/host.json /var/lib/paas/apps/shop/settings.json; ls /var/lib/paas/certs/shop');
    const cases: [string[], RegExp][] = [
      [['certs:auto', 'bad name'], /not a valid hostname/],
      [['certs:auto', '*.paas-e2e.net'], /wildcard/],
      [['certs:auto', 'not-mine.paas-e2e.net'], /is not a name of shop/],
    ];
    for (const [args, message] of cases) {
      const result = await shop(args);
      expect(result.exitCode, args.join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
    for (const [flag, value, message] of [
      ['--acme-directory', 'http://insecure.example/dir', /https:\/\/ URL/],
      ['--acme-email', 'not an email', /e-mail address/],
      ['--acme-resolver', 'dns.example:53', /IP or IP:PORT/],
    ] as const) {
      const result = await world.cli(['host:setup', ...world.at(host), '--public-port', String(host.httpPort), flag, value]);
      expect(result.exitCode, flag).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await onHost('cat /var/lib/paas/host.json /var/lib/paas/apps/shop/settings.json; ls /var/lib/paas/certs/shop')).toBe(before);
  });
});
