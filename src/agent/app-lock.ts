import { acquireLock, type LockHolder } from './lock.js';
import { reconcileApp } from './reconcile.js';
import type { Emit, RolloutResult } from './protocol.js';
import { readRolloutInputs, rolloutLocked, type RolloutOptions } from './rollout.js';
import type { ReleaseSpec } from '../release/types.js';

export interface LockRequest {
  /** Wait this long for another command's lock (default: fail at once). */
  waitMs?: number;
  /** The lock is held by the `lock` verb of the same paas command: work under it. */
  token?: string;
}

/**
 * Runs `work` under the app's lock: taken (or, with a token, worked under), the app reconciled
 * first when this process took it (what a killed agent left is settled before anything new
 * starts), released at the end whatever happens.
 */
export async function withAppLock<T>(app: string, holder: Omit<LockHolder, 'pid' | 'since'>, lock: LockRequest, work: () => Promise<T>): Promise<T> {
  const release = await acquireLock(app, holder, lock.waitMs ?? 0, lock.token);
  try {
    if (lock.token === undefined) await reconcileApp(app);
    return await work();
  } finally {
    await release();
  }
}

/** A whole rollout under the app's lock: rolloutLocked with its inputs read once the lock is held. */
export async function rollout(spec: ReleaseSpec, emit: Emit, lock: LockRequest = {}, alsoPrune: string[] = [], options: RolloutOptions = {}): Promise<RolloutResult> {
  return withAppLock(spec.app, { holder: spec.createdBy, command: spec.description }, lock, () => rolloutLocked(spec, emit, readRolloutInputs(spec.app, options), alsoPrune, options));
}
