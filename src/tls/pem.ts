// A user's certificate and key, checked before they reach a host: PEM text, a key without a
// passphrase that matches the certificate, not expired. Pure (node:crypto only): the host agent
// bundles it too.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { PaasError } from '../errors.js';

export interface CertificateInfo {
  /** The DNS names the certificate covers (its DNS SANs, or its CN without any), lowercase. */
  names: string[];
  /** When the certificate expires (ISO 8601). */
  notAfter: string;
  /** From when it is valid (ISO 8601). */
  notBefore: string;
  /** The issuer's name, on one line (e.g. `CN=R11, O=Let's Encrypt, C=US`). */
  issuer: string;
  /** SHA-256 fingerprint of the leaf certificate, as `AB:CD:...`. */
  fingerprint256: string;
  /** The leaf certificate signed itself (browsers will not trust it unless told to). */
  selfSigned: boolean;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_BLOCK = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;
const ANY_PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/;

const CERT_FORMAT_HINT =
  'give the certificate as PEM text (it starts with -----BEGIN CERTIFICATE-----): the leaf first, then its chain. ' +
  'A DER file converts with: openssl x509 -inform der -in FILE -out FILE.pem';
const KEY_FORMAT_HINT =
  'give the private key as PEM text (it starts with -----BEGIN PRIVATE KEY-----). ' +
  'A DER file converts with: openssl pkey -inform der -in FILE -out FILE.pem';

/**
 * Reads a certificate (a leaf, optionally followed by its chain) and its private key, and refuses
 * what nginx could not use or browsers would refuse: text that is not PEM, a key with a
 * passphrase, a key of another certificate, an expired certificate, a chain out of order.
 * `where` names the two files in the errors.
 */
export function inspectCertificate(
  certPem: string,
  keyPem: string,
  where: { cert: string; key: string },
  now: Date = new Date(),
): CertificateInfo {
  const chain = readCertificates(certPem, where.cert);
  const leaf = chain[0]!;
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!)) {
      throw new PaasError('usage', `certificate ${i + 2} in the file did not issue certificate ${i + 1}: the chain is out of order`, {
        where: where.cert,
        hint: 'put the server certificate first, then the certificate that issued it, and so on up to (not including) the root',
        details: chain.map((cert, n) => `${n + 1}. ${oneLine(cert.subject)} (issued by ${oneLine(cert.issuer)})`),
      });
    }
  }
  chain.forEach((cert, i) => {
    const notAfter = validTo(cert, where.cert);
    if (notAfter.getTime() <= now.getTime()) {
      const which = i === 0 ? 'the certificate' : `certificate ${i + 1} of the chain (${oneLine(cert.subject)})`;
      throw new PaasError('usage', `${which} expired on ${notAfter.toISOString()}`, {
        where: where.cert,
        hint: i === 0
          ? 'renew the certificate with its issuer and give the new one'
          : 'get the current intermediate certificates from the issuer and put them after the server certificate',
      });
    }
  });

  const key = readPrivateKey(keyPem, where.key);
  if (!leaf.checkPrivateKey(key)) {
    throw new PaasError('usage', `the private key does not match the certificate ${where.cert}`, {
      where: where.key,
      hint:
        'give the key the certificate was made for: `openssl x509 -noout -pubkey -in CERT` and ' +
        '`openssl pkey -pubout -in KEY` print the same public key when they match',
    });
  }

  return {
    names: certificateNames(leaf),
    notAfter: validTo(leaf, where.cert).toISOString(),
    notBefore: new Date(leaf.validFrom).toISOString(),
    issuer: oneLine(leaf.issuer),
    fingerprint256: leaf.fingerprint256,
    selfSigned: leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey),
  };
}

/**
 * Whether a certificate with these names is valid for `host`: the same name, or a wildcard
 * `*.example.com` for exactly one more label (`a.example.com`, not `example.com` nor
 * `a.b.example.com`). A wildcard host (an nginx server name such as `*.example.com`) is only
 * covered by the same wildcard.
 */
export function certificateCovers(names: string[], host: string): boolean {
  const wanted = host.toLowerCase().replace(/\.$/, '');
  if (wanted === '') return false;
  return names.some((raw) => {
    const name = raw.toLowerCase().replace(/\.$/, '');
    if (name === wanted) return true;
    if (!name.startsWith('*.') || name.length < 3) return false;
    const suffix = name.slice(1); // ".example.com"
    if (!wanted.endsWith(suffix)) return false;
    const label = wanted.slice(0, -suffix.length);
    return label !== '' && !label.includes('.') && !label.includes('*');
  });
}

function readCertificates(text: string, file: string): X509Certificate[] {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    if (PRIVATE_KEY_BLOCK.test(text)) {
      throw new PaasError('usage', 'this is a private key, not a certificate', {
        where: file,
        hint: 'the certificate and the key files seem swapped: give the certificate first, then the key',
      });
    }
    const label = ANY_PEM_LABEL.exec(text)?.[1];
    throw new PaasError('usage', label ? `this PEM file holds no certificate (only ${label})` : 'this is not a PEM certificate', {
      where: file,
      hint: CERT_FORMAT_HINT,
    });
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      const which = blocks.length === 1 ? 'the certificate' : `certificate ${i + 1} in the file`;
      throw new PaasError('usage', `${which} cannot be read: ${(error as Error).message}`, {
        where: file,
        hint: CERT_FORMAT_HINT,
        cause: error,
      });
    }
  });
}

function readPrivateKey(text: string, file: string): KeyObject {
  const match = PRIVATE_KEY_BLOCK.exec(text);
  if (!match) {
    if (/-----BEGIN CERTIFICATE-----/.test(text)) {
      throw new PaasError('usage', 'this is a certificate, not a private key', {
        where: file,
        hint: 'the certificate and the key files seem swapped: give the certificate first, then the key',
      });
    }
    if (/-----BEGIN (?:RSA |SSH2 )?PUBLIC KEY-----/.test(text)) {
      throw new PaasError('usage', 'this is a public key, not a private key', { where: file, hint: KEY_FORMAT_HINT });
    }
    if (/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text)) {
      throw new PaasError('usage', 'this is an OpenSSH key, not a PEM private key', {
        where: file,
        hint: 'give the private key the certificate was made for (PEM, starting with -----BEGIN PRIVATE KEY-----)',
      });
    }
    const label = ANY_PEM_LABEL.exec(text)?.[1];
    throw new PaasError('usage', label ? `this PEM file holds no private key (only ${label})` : 'this is not a PEM private key', {
      where: file,
      hint: KEY_FORMAT_HINT,
    });
  }
  const block = match[0];
  const encrypted = () =>
    new PaasError('usage', 'the private key is protected by a passphrase', {
      where: file,
      hint: `nginx needs it without one: openssl pkey -in ${file} -out ${file}.plain (asks for the passphrase), then give ${file}.plain`,
    });
  if (match[1] === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(block)) throw encrypted();
  try {
    return createPrivateKey({ key: block, format: 'pem' });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') throw encrypted();
    throw new PaasError('usage', `the private key cannot be read: ${(error as Error).message}`, {
      where: file,
      hint: KEY_FORMAT_HINT,
      cause: error,
    });
  }
}

function validTo(cert: X509Certificate, file: string): Date {
  const date = new Date(cert.validTo);
  if (Number.isNaN(date.getTime())) {
    throw new PaasError('usage', `the certificate's expiry date ${JSON.stringify(cert.validTo)} cannot be read`, { where: file });
  }
  return date;
}

/** DNS subject alternative names, or the subject's CN when there are none; lowercase, no duplicates. */
function certificateNames(cert: X509Certificate): string[] {
  const sans = parseAltNames(cert.subjectAltName ?? '')
    .filter(([type]) => type === 'DNS')
    .map(([, value]) => value);
  const names = sans.length > 0 ? sans : commonNames(cert.subject);
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

/**
 * Node's subjectAltName: `DNS:a.example.com, IP Address:127.0.0.1`, where a value holding
 * special characters (a comma, a quote...) is written as a JSON string.
 */
function parseAltNames(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  const entry = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  while (entry.lastIndex < text.length) {
    const start = entry.lastIndex;
    const match = entry.exec(text);
    if (!match || entry.lastIndex === start) break;
    let value = match[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // keep the raw text: it will match no host name
      }
    }
    entries.push([match[1]!, value]);
  }
  return entries;
}

/** CN values of a subject (Node writes one `KEY=value` per line). */
function commonNames(subject: string): string[] {
  return subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3).trim())
    .filter((name) => name !== '');
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
