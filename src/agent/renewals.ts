// The host service's certificate renewals (certs:auto, paas.yml tls:), each under its app's lock.
// Apart from acme.ts so that a rollout, which runs under the lock, can follow paas.yml's tls:.
import { planRenewals } from '../acme/renewal.js';
import { acmeOf, issueFor, managedCertificates } from './acme.js';
import { withAppLock } from './app-lock.js';
import type { HostInfo } from './protocol.js';
import { readSettings } from './settings.js';
import { HOST_FILE, readJson } from './state.js';

let renewing: Promise<void> | undefined;

/**
 * The host service's renewal tick: certificates due (new, expiring, expired; failures past their
 * backoff) are issued in the background, a few at a time, each under its app's lock (busy: next
 * tick). The old certificate serves until the new one is installed.
 */
export function runRenewals(now: Date, log: (line: string) => void): void {
  if (renewing) return;
  renewing = (async () => {
    const host = await readJson<HostInfo>(HOST_FILE);
    const managed = await managedCertificates();
    const plan = planRenewals([...managed.values()].map((m) => m.cert), now, { renewBeforeDays: acmeOf(host).renewBeforeDays });
    for (const due of plan.renew) {
      const app = managed.get(due.key)?.app;
      if (!app) continue;
      log(`renewing the certificate of ${app} (${due.reason})`);
      await withAppLock(app, { holder: 'paas service', command: 'certificate renewal' }, { waitMs: 1000 }, async () => {
        const wanted = (await readSettings(app)).acme;
        if (wanted) await issueFor(app, wanted, () => {});
      })
        .then(() => log(`renewed the certificate of ${app}`), (error: unknown) => log(`renewal of ${app}'s certificate failed: ${(error as Error).message}`));
    }
  })().catch((error: unknown) => log(`renewals: ${(error as Error).message}`)).finally(() => { renewing = undefined; });
}
