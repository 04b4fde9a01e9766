import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RUN_DIR } from './state.js';
import { sleep } from './exec.js';

/**
 * Named points in the agent where the fault suite (test/e2e/faults.test.ts) makes a real fault
 * happen at an exact moment. A point is armed by a file /run/paas/failpoints/<name> (root only,
 * gone after a reboot) holding `kill` (the agent sends itself SIGKILL there: kill -9, nothing
 * runs after it) or `pause` (it writes <name>.reached and waits, up to 2 minutes, until the file
 * is removed: the test cuts the connection or kills the CLI meanwhile). Unarmed, a point costs
 * one failed open(2).
 */
export const FAILPOINTS_DIR = path.join(RUN_DIR, 'failpoints');

export type FailpointName = 'rollout-start' | 'rollout-health' | 'rollout-switched' | 'drain-stop' | 'service-create' | 'service-link' | 'sites-written' | 'certificate-stored' | 'tls-recorded'
  | 'swarm-intent-written' | 'swarm-service-applied';

const MAX_PAUSE_MS = 120_000;

export async function failpoint(name: FailpointName): Promise<void> {
  const file = path.join(FAILPOINTS_DIR, name);
  const action = await fs.readFile(file, 'utf8').then((text) => text.trim(), () => undefined);
  if (action === undefined) return;
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  if (action !== 'pause') return;
  await fs.writeFile(`${file}.reached`, String(process.pid)).catch(() => {});
  const deadline = Date.now() + MAX_PAUSE_MS;
  while (Date.now() < deadline && (await fs.access(file).then(() => true, () => false))) await sleep(20);
}
