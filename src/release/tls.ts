// paas.yml `tls:` on a host, decided after each release is live: whether the host asks its ACME
// CA for the app's certificate now, leaves things as they are, or stops the renewals paas.yml
// started. Pure: the agent (src/agent/acme.ts) carries the step out under the app's lock.
import { certificateKey, renewalTime } from '../acme/renewal.js';
import { issuableNames, type AcmeSettings, type AppSettings } from './settings.js';
import type { TlsSetting } from './types.js';

export type TlsStep =
  /** Nothing to do; `note` (if any) is said in the deploy's output. */
  | { kind: 'keep'; note?: string }
  /** Ask the CA now for `acme.names`; recorded first so that the host retries with backoff when it fails. */
  | { kind: 'issue'; acme: AcmeSettings }
  /** paas.yml no longer has `tls:`: the host stops renewing (the certificate serves until it expires or certs:remove). */
  | { kind: 'stop' }
  /** `tls:` cannot be followed on this host; said as a warning, nothing changes. */
  | { kind: 'warn'; message: string; hint: string };

export interface TlsFacts {
  app: string;
  /** Every name the app answers to on the host (appNames). */
  names: string[];
  settings: AppSettings;
  renewBeforeDays: number;
  now: Date;
}

/** The step for a release's `tls` (undefined: paas.yml has none) on a host with these facts. */
export function planTls(wanted: TlsSetting | undefined, { app, names, settings, renewBeforeDays, now }: TlsFacts): TlsStep {
  const { acme, certificate } = settings;
  if (!wanted) return acme?.by === 'paas.yml' ? { kind: 'stop' } : { kind: 'keep' };
  if (certificate?.source === 'certs:add') {
    return {
      kind: 'warn',
      message: `tls: auto: ${app} serves the certificate added with certs:add (for ${certificate.names.join(', ')}), which a deploy does not replace`,
      hint: `paas certs:remove --app ${app}, then deploy again (or paas certs:auto)`,
    };
  }
  if (acme?.by === 'certs:auto') return { kind: 'keep', note: `tls: auto: certs:auto already keeps ${app}'s certificate for ${acme.names.join(', ')}` };
  const issuable = issuableNames(names);
  if (issuable.length === 0) {
    return {
      kind: 'warn',
      message: `tls: auto: ${app} has no name a CA can issue a certificate for (${names.join(', ')})`,
      hint: 'list a domain of yours that points at the host in paas.yml domains:, or set a real --base-domain at host:setup',
    };
  }
  const same = acme && certificateKey(acme.names) === certificateKey(issuable) && acme.hsts === wanted.hsts && acme.redirect === wanted.redirect;
  // Not due as the host's renewals count it (30 days, or a third of a short lifetime, before expiry).
  const renewAt = certificate && renewalTime({ notBefore: certificate.notBefore ?? certificate.addedAt, notAfter: certificate.notAfter }, { renewBeforeDays });
  const valid = certificate?.source === 'acme' && issuable.every((name) => certificate.names.includes(name)) && renewAt !== undefined && renewAt > now;
  if (same && valid) return { kind: 'keep', note: `tls: auto: ${app}'s certificate from the CA covers ${issuable.join(', ')} (until ${certificate.notAfter})` };
  // A deploy asks again at once, even while a failed attempt's backoff runs: the user may have fixed DNS.
  return { kind: 'issue', acme: same ? acme : { names: issuable, hsts: wanted.hsts, redirect: wanted.redirect, by: 'paas.yml', failures: 0 } };
}
