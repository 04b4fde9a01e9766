// The ACME client against a real ACME server: Debian's pebble with pebble-challtestsrv as its
// DNS (test/e2e/pebble.ts; every name answers 127.0.0.1) and a node:http server of this test as
// the host's port 80, answering from the challenge store. All on 127.0.0.1, random ports, temp
// dirs; pebble's processes are stopped by their pid in afterAll.
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challengeStore, readChallenge, tokenFromUrlPath } from '../../src/acme/challenges.js';
import { AcmeError, createAccountKey, issueCertificate, normalizeNames, preflightDns, registerAccount, type DnsResolver } from '../../src/acme/client.js';
import { inspectCertificate } from '../../src/tls/pem.js';
import { freePort, hasPebble, pebbleMissing, skipWithoutPebble, startPebble, type Pebble } from '../e2e/pebble.js';

let dir: string;
let challengesDir: string;
let pebble: Pebble | undefined;
let web: http.Server | undefined;
let directoryUrl: string;
let caBundle: string;
let rootPem: string;
let accountKeyPem: string;
/** What the test's port 80 answers: the store's key authorization, or a wrong one. */
let answer: 'store' | 'wrong' = 'store';

const poll = { attempts: 20, minMs: 50, maxMs: 500 };

beforeAll(async () => {
  if (skipWithoutPebble) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-pebble-test-'));
  challengesDir = path.join(dir, 'challenges');

  // The host's port 80, as nginx will serve it: /.well-known/acme-challenge/<token> from the store.
  web = http.createServer((req, res) => {
    const token = tokenFromUrlPath(req.url ?? '/');
    void (async () => {
      const value = token ? await readChallenge(challengesDir, token) : undefined;
      if (!value) { res.writeHead(404).end('not found\n'); return; }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(answer === 'store' ? value : `${token}.not-the-right-thumbprint`);
    })();
  });
  await new Promise<void>((resolve) => web!.listen(0, '127.0.0.1', resolve));
  const httpPort = (web.address() as AddressInfo).port;

  pebble = await startPebble({ listenIp: '127.0.0.1', defaultIPv4: '127.0.0.1', httpPort });
  directoryUrl = pebble.directoryUrl;
  caBundle = pebble.directoryCaPem;
  rootPem = await pebble.rootPem();
  accountKeyPem = await createAccountKey();
}, 30_000);

afterAll(async () => {
  await pebble?.stop();
  await new Promise<void>((resolve) => (web ? web.close(() => resolve()) : resolve()));
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(skipWithoutPebble)(`ACME against pebble${hasPebble ? '' : ` (skipped: ${pebbleMissing})`}`, () => {
  it('registers an account (terms agreed), twice to the same URL', async () => {
    const first = await registerAccount({ directoryUrl, caBundle, accountKeyPem, email: 'ops@example.com' });
    expect(first.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    expect(await registerAccount({ directoryUrl, caBundle, accountKeyPem, email: 'ops@example.com' })).toEqual(first);
  });

  it('issues one certificate for app.test and www.app.test over HTTP-01, chaining to pebble\'s root', async () => {
    const started = performance.now();
    const issued = await issueCertificate({ directoryUrl, caBundle, accountKeyPem, email: 'ops@example.com', names: ['app.test', 'WWW.app.test'], challenge: challengeStore(challengesDir), poll });
    const ms = performance.now() - started;
    console.log(`[pebble] issuance of 2 names: ${ms.toFixed(0)} ms`);

    expect(issued.names.sort()).toEqual(['app.test', 'www.app.test']);
    const info = inspectCertificate(issued.certPem, issued.keyPem, { cert: 'cert', key: 'key' });
    expect(info.names.sort()).toEqual(['app.test', 'www.app.test']);
    expect(info.notAfter).toBe(issued.notAfter);
    expect(info.selfSigned).toBe(false);
    expect(Date.parse(issued.notAfter)).toBeGreaterThan(Date.now());
    expect(Date.parse(issued.notBefore)).toBeLessThanOrEqual(Date.now() + 60_000);

    const chain = issued.certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
    const root = new X509Certificate(rootPem);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    const top = chain[chain.length - 1]!;
    expect(top.checkIssued(root)).toBe(true);
    expect(top.verify(root.publicKey)).toBe(true);
    // A new key per certificate, of its own (not the account's).
    expect(issued.keyPem).not.toBe(accountKeyPem);
    expect(issued.keyPem).toMatch(/-----BEGIN (EC )?PRIVATE KEY-----/);
    // The answers are gone from the store.
    expect(await fs.readdir(challengesDir)).toEqual([]);
  });

  it('a wrong answer at /.well-known/acme-challenge/ is "the challenge failed", with the CA\'s detail', async () => {
    answer = 'wrong';
    try {
      const error = await issueCertificate({ directoryUrl, caBundle, accountKeyPem, names: ['wrong.app.test'], challenge: challengeStore(challengesDir), poll }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeError);
      const acmeError = error as AcmeError;
      expect(acmeError.problem).toBe('challenge');
      expect(acmeError.acmeType).toBe('urn:ietf:params:acme:error:unauthorized');
      expect(acmeError.message).toMatch(/^the CA could not validate wrong\.app\.test over HTTP-01: .*key authorization/i);
      expect(acmeError.hint).toMatch(/another answer/);
      expect(acmeError.message).not.toContain('PRIVATE KEY');
      expect(await fs.readdir(challengesDir)).toEqual([]);
    } finally {
      answer = 'store';
    }
  });

  it('a name the CA blocks is refused', async () => {
    const error = await issueCertificate({ directoryUrl, caBundle, accountKeyPem, names: ['app.blocked.test'], challenge: challengeStore(challengesDir), poll }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeError);
    expect((error as AcmeError).problem).toBe('refused');
    expect((error as AcmeError).message).toMatch(/^the CA refuses/);
    expect((error as AcmeError).hint).toBeTruthy();
  });

  it('an unreachable directory says so', async () => {
    const port = await freePort();
    const error = await registerAccount({ directoryUrl: `https://127.0.0.1:${port}/dir`, caBundle, accountKeyPem }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeError);
    expect((error as AcmeError).problem).toBe('unreachable');
    expect((error as AcmeError).message).toMatch(/cannot reach the ACME directory .*ECONNREFUSED/);
  });

  it('a CA whose TLS is not trusted is unreachable, with a hint about its root', async () => {
    const error = await registerAccount({ directoryUrl, accountKeyPem }).catch((e: unknown) => e);
    expect((error as AcmeError).problem).toBe('unreachable');
    expect((error as AcmeError).hint).toMatch(/not trusted/);
  });
});

describe('names and DNS before the CA', () => {
  it('refuses invalid names and wildcards without asking the CA', () => {
    expect(() => normalizeNames(['app..test'])).toThrow(/invalid label ""/);
    expect(() => normalizeNames(['*.app.test'])).toThrow(/wildcard/);
    expect(() => normalizeNames(['127.0.0.1'])).toThrow(/IP address/);
    expect(() => normalizeNames(['localhost'])).toThrow(/fully qualified/);
    expect(normalizeNames(['App.Test.', 'app.test', 'www.app.test'])).toEqual(['app.test', 'www.app.test']);
  });

  const resolver = (a: string[], aaaa: string[] = []): DnsResolver => ({
    resolve4: async () => { if (a.length === 0) throw Object.assign(new Error('queryA ENODATA'), { code: 'ENODATA' }); return a; },
    resolve6: async () => { if (aaaa.length === 0) throw Object.assign(new Error('queryAaaa ENODATA'), { code: 'ENODATA' }); return aaaa; },
  });

  it('says where a name points when it is not this host', async () => {
    await expect(preflightDns('example.com', ['203.0.113.10'], resolver(['198.51.100.7']))).rejects.toThrow(
      'example.com points at 198.51.100.7, not at this host (203.0.113.10): fix its A record');
  });

  it('passes when an answer is this host', async () => {
    expect(await preflightDns('example.com', ['203.0.113.10', '2001:db8::10'], resolver(['198.51.100.7', '203.0.113.10'], ['2001:0db8:0:0::10']))).toEqual({ a: ['198.51.100.7', '203.0.113.10'], aaaa: ['2001:db8::10'] });
  });

  it('an AAAA record elsewhere fails even when A is right (the CA tries IPv6 first)', async () => {
    await expect(preflightDns('example.com', ['203.0.113.10'], resolver(['203.0.113.10'], ['2001:db8::99']))).rejects.toThrow(
      'example.com points at 2001:db8::99, not at this host (203.0.113.10): remove its AAAA record (this host has no IPv6 address; the CA tries IPv6 first)');
  });

  it('no record at all', async () => {
    await expect(preflightDns('example.com', ['203.0.113.10'], resolver([]))).rejects.toThrow('example.com has no A or AAAA record');
  });

  it('a resolver failure is not a mismatch', async () => {
    const broken: DnsResolver = { resolve4: async () => { throw Object.assign(new Error('queryA ESERVFAIL example.com'), { code: 'ESERVFAIL' }); }, resolve6: async () => [] };
    await expect(preflightDns('example.com', ['203.0.113.10'], broken)).rejects.toThrow(/cannot look up the A records of example.com/);
  });
});
