// inspectCertificate on material made by the openssl CLI (skipped where there is none), and
// certificateCovers' wildcard rules.
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { certificateCovers, inspectCertificate } from '../../src/tls/pem.js';
import { skipWithoutOpenssl } from '../nginx/harness.js';

const where = { cert: '/home/me/shop.crt', key: '/home/me/shop.key' };
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

/** The PaasError `fn` throws. */
function refusal(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PaasError);
    return error as PaasError;
  }
  throw new Error('expected a PaasError, nothing was thrown');
}

describe('certificateCovers', () => {
  const names = ['shop.example.com', '*.example.com', '*.apps.example.org'];

  it.each([
    ['shop.example.com', true],
    ['SHOP.Example.com', true],
    ['shop.example.com.', true],
    ['a.example.com', true],
    ['a-b.example.com', true],
    ['example.com', false],
    ['a.b.example.com', false],
    ['x.apps.example.org', true],
    ['apps.example.org', false],
    ['example.org', false],
    ['a.x.apps.example.org', false],
    ['badexample.com', false],
    ['a.badexample.com', false],
    ['*.example.com', true],
    ['*.a.example.com', false],
    ['', false],
  ])('%j: %s', (host, covered) => {
    expect(certificateCovers(names, host)).toBe(covered);
  });

  it('a wildcard name in the certificate compares case-insensitively', () => {
    expect(certificateCovers(['*.Example.COM'], 'a.example.com')).toBe(true);
  });

  it('no names cover nothing; a lone "*." or "*" covers nothing but itself', () => {
    expect(certificateCovers([], 'a.example.com')).toBe(false);
    expect(certificateCovers(['*.'], 'a.')).toBe(false);
    expect(certificateCovers(['*'], 'a')).toBe(false);
  });
});

describe.skipIf(skipWithoutOpenssl)('inspectCertificate (material made by openssl)', () => {
  let dir = '';
  const pem: Record<string, string> = {};

  async function openssl(args: string[]): Promise<void> {
    await execa('openssl', args, { cwd: dir });
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-pem-'));
    // Self-signed, with SANs (a wildcard, mixed case, an IP) and a CN.
    await openssl(['req', '-x509', ...EC, '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '30',
      '-subj', '/CN=Shop.Example.Test',
      '-addext', 'subjectAltName=DNS:Shop.Example.Test,DNS:*.shop.example.test,IP:127.0.0.1,DNS:shop.example.test']);
    // Self-signed with a CN only.
    await openssl(['req', '-x509', ...EC, '-nodes', '-keyout', 'cn.key', '-out', 'cn.pem', '-days', '30', '-subj', '/O=Shop/CN=CN-Only.example.test']);
    // A second key: matches no certificate.
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key']);
    // The same key as self.key, with a passphrase: PKCS#8 and the traditional format.
    await openssl(['pkey', '-in', 'self.key', '-aes256', '-passout', 'pass:x', '-out', 'encrypted.key']);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:x', '-out', 'genpkey-encrypted.key']);
    await openssl(['ec', '-in', 'self.key', '-aes256', '-passout', 'pass:x', '-out', 'traditional-encrypted.key']);
    await openssl(['pkey', '-in', 'self.key', '-pubout', '-out', 'self.pub']);
    await openssl(['x509', '-in', 'self.pem', '-outform', 'der', '-out', 'self.der']);
    // A CA, and an RSA leaf it signed (a chain: leaf then CA).
    await openssl(['req', '-x509', ...EC, '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=paas test CA']);
    await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=shop.example.test']);
    await fs.writeFile(path.join(dir, 'leaf.ext'), 'subjectAltName=DNS:shop.example.test,DNS:www.shop.example.test\n');
    await openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '2', '-days', '30',
      '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
    // Expired: `openssl ca` takes explicit dates (openssl 3.0's x509/req have no -not_after).
    await openssl(['req', '-new', ...EC, '-nodes', '-keyout', 'old.key', '-out', 'old.csr', '-subj', '/CN=old.example.test']);
    await fs.writeFile(path.join(dir, 'index.txt'), '');
    await fs.writeFile(path.join(dir, 'serial'), '03\n');
    await fs.writeFile(path.join(dir, 'ca.cnf'), [
      '[ca]', 'default_ca = test_ca', '[test_ca]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
      'default_md = sha256', 'policy = any', '[any]', 'commonName = supplied', '',
    ].join('\n'));
    await openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'old.csr',
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-out', 'old.pem']);
    for (const name of await fs.readdir(dir)) pem[name] = await fs.readFile(path.join(dir, name), 'utf8');
  }, 60_000);

  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a self-signed certificate: DNS SANs only, lowercase, once each; expiry, fingerprint, selfSigned', () => {
    const info = inspectCertificate(pem['self.pem']!, pem['self.key']!, where);
    const x509 = new X509Certificate(pem['self.pem']!);
    expect(info).toEqual({
      names: ['shop.example.test', '*.shop.example.test'],
      notAfter: new Date(x509.validTo).toISOString(),
      notBefore: new Date(x509.validFrom).toISOString(),
      issuer: x509.issuer.split('\n').join(', '),
      fingerprint256: x509.fingerprint256,
      selfSigned: true,
    });
    expect(info.issuer).toMatch(/CN=/);
    expect(info.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const days = (Date.parse(info.notAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30);
    expect(certificateCovers(info.names, 'api.shop.example.test')).toBe(true);
    expect(certificateCovers(info.names, 'a.b.shop.example.test')).toBe(false);
  });

  it('no SAN: the CN, lowercase', () => {
    expect(inspectCertificate(pem['cn.pem']!, pem['cn.key']!, where).names).toEqual(['cn-only.example.test']);
  });

  it('a chain (leaf first, then its CA) with an RSA key: the leaf\'s names, not self-signed', () => {
    const info = inspectCertificate(pem['leaf.pem']! + pem['ca.pem']!, pem['leaf.key']!, where);
    expect(info.names).toEqual(['shop.example.test', 'www.shop.example.test']);
    expect(info.selfSigned).toBe(false);
    expect(info.fingerprint256).toBe(new X509Certificate(pem['leaf.pem']!).fingerprint256);
  });

  it('CRLF line ends, text around the blocks, and a key file that holds the certificate too', () => {
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    const info = inspectCertificate(`subject=CN = shop\n${crlf(pem['self.pem']!)}`, crlf(pem['self.pem']! + pem['self.key']!), where);
    expect(info.names).toEqual(['shop.example.test', '*.shop.example.test']);
  });

  describe('refuses, naming the file, what is wrong and how to fix it', () => {
    it.each([
      ['plain text', 'hello'],
      ['empty text', ''],
      ['a DER certificate', 'self.der'],
    ])('a certificate that is not PEM: %s', (_what, text) => {
      const error = refusal(() => inspectCertificate(pem[text] ?? text, pem['self.key']!, where));
      expect(error.kind).toBe('usage');
      expect(error.where).toBe(where.cert);
      expect(error.message).toBe('this is not a PEM certificate');
      expect(error.hint).toContain('-----BEGIN CERTIFICATE-----');
      expect(error.hint).toContain('openssl x509 -inform der');
    });

    it('a PEM file with no certificate in it', () => {
      const error = refusal(() => inspectCertificate(pem['self.pub']!, pem['self.key']!, where));
      expect(error.message).toBe('this PEM file holds no certificate (only PUBLIC KEY)');
      expect(error.where).toBe(where.cert);
    });

    it('a broken certificate block', () => {
      const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
      const error = refusal(() => inspectCertificate(broken, pem['self.key']!, where));
      expect(error.message).toMatch(/^the certificate cannot be read: /);
      expect(error.where).toBe(where.cert);
    });

    it('a broken second certificate of a chain', () => {
      const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
      const error = refusal(() => inspectCertificate(pem['self.pem']! + broken, pem['self.key']!, where));
      expect(error.message).toMatch(/^certificate 2 in the file cannot be read: /);
    });

    it('swapped files', () => {
      const error = refusal(() => inspectCertificate(pem['self.key']!, pem['self.pem']!, where));
      expect(error.message).toBe('this is a private key, not a certificate');
      expect(error.where).toBe(where.cert);
      expect(error.hint).toContain('swapped');
      const error2 = refusal(() => inspectCertificate(pem['self.pem']!, pem['self.pem']!, where));
      expect(error2.message).toBe('this is a certificate, not a private key');
      expect(error2.where).toBe(where.key);
    });

    it.each([
      ['plain text', 'nope', 'this is not a PEM private key'],
      ['a public key', 'self.pub', 'this is a public key, not a private key'],
      ['an OpenSSH key', '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', 'this is an OpenSSH key, not a PEM private key'],
      ['another PEM block', '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', 'this PEM file holds no private key (only X509 CRL)'],
    ])('a key that is not a PEM private key: %s', (_what, text, message) => {
      const error = refusal(() => inspectCertificate(pem['self.pem']!, pem[text] ?? text, where));
      expect(error.message).toBe(message);
      expect(error.where).toBe(where.key);
      expect(error.hint).toBeTruthy();
    });

    it('a broken key block', () => {
      const error = refusal(() => inspectCertificate(pem['self.pem']!, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', where));
      expect(error.message).toMatch(/^the private key cannot be read: /);
      expect(error.where).toBe(where.key);
    });

    it.each([
      ['PKCS#8 (openssl pkey -aes256)', 'encrypted.key', '-----BEGIN ENCRYPTED PRIVATE KEY-----'],
      ['PKCS#8 (openssl genpkey -aes256 -pass pass:x)', 'genpkey-encrypted.key', '-----BEGIN ENCRYPTED PRIVATE KEY-----'],
      ['traditional (Proc-Type: 4,ENCRYPTED)', 'traditional-encrypted.key', 'Proc-Type: 4,ENCRYPTED'],
    ])('a key with a passphrase: %s', (_what, file, marker) => {
      expect(pem[file]).toContain(marker);
      const error = refusal(() => inspectCertificate(pem['self.pem']!, pem[file]!, where));
      expect(error.kind).toBe('usage');
      expect(error.where).toBe(where.key);
      expect(error.message).toBe('the private key is protected by a passphrase');
      expect(error.hint).toBe(
        `nginx needs it without one: openssl pkey -in ${where.key} -out ${where.key}.plain (asks for the passphrase), then give ${where.key}.plain`,
      );
    });

    it('a key that does not match the certificate', () => {
      for (const key of ['other.key', 'leaf.key']) {
        const error = refusal(() => inspectCertificate(pem['self.pem']!, pem[key]!, where));
        expect(error.message).toBe(`the private key does not match the certificate ${where.cert}`);
        expect(error.where).toBe(where.key);
        expect(error.hint).toContain('openssl pkey -pubout -in KEY');
      }
    });

    it('the CA\'s key with the leaf first: the leaf\'s key is the one that counts', () => {
      const error = refusal(() => inspectCertificate(pem['leaf.pem']! + pem['ca.pem']!, pem['ca.key']!, where));
      expect(error.message).toBe(`the private key does not match the certificate ${where.cert}`);
    });

    it('an expired certificate (openssl ca -startdate/-enddate in 2020)', () => {
      const error = refusal(() => inspectCertificate(pem['old.pem']!, pem['old.key']!, where));
      expect(error.kind).toBe('usage');
      expect(error.where).toBe(where.cert);
      expect(error.message).toBe('the certificate expired on 2020-01-02T00:00:00.000Z');
      expect(error.hint).toBe('renew the certificate with its issuer and give the new one');
    });

    it('a certificate that expires before `now`', () => {
      const later = new Date(Date.now() + 40 * 86_400_000);
      const error = refusal(() => inspectCertificate(pem['self.pem']!, pem['self.key']!, where, later));
      expect(error.message).toMatch(/^the certificate expired on \d{4}-\d\d-\d\dT/);
      const chain = refusal(() => inspectCertificate(pem['old.pem']! + pem['ca.pem']!, pem['old.key']!, where));
      expect(chain.message).toBe('the certificate expired on 2020-01-02T00:00:00.000Z');
    });

    it('a chain out of order (the CA first)', () => {
      const error = refusal(() => inspectCertificate(pem['ca.pem']! + pem['leaf.pem']!, pem['leaf.key']!, where));
      expect(error.message).toBe('certificate 2 in the file did not issue certificate 1: the chain is out of order');
      expect(error.where).toBe(where.cert);
      expect(error.details).toEqual(['1. CN=paas test CA (issued by CN=paas test CA)', '2. CN=shop.example.test (issued by CN=paas test CA)']);
    });

    it('formats as `file: message` and a Fix line', () => {
      const error = refusal(() => inspectCertificate(pem['old.pem']!, pem['old.key']!, where));
      expect(error.format()).toBe(
        '/home/me/shop.crt: the certificate expired on 2020-01-02T00:00:00.000Z\nFix: renew the certificate with its issuer and give the new one',
      );
    });
  });
});
