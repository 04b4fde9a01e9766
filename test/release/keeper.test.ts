import { describe, expect, it } from 'vitest';
import { planKeep, planRecreate, restartDelayMs, type KeptContainer } from '../../src/release/keeper.js';
import type { Release, ReleaseSpec } from '../../src/release/types.js';

const release = {
  version: 7, image: 'paas/shop:v7', imageId: '', processes: { web: 'node server.js', worker: 'node worker.js', clock: 'node clock.js' },
  formation: { web: 2, worker: 1, clock: 0 }, port: 3000, domains: [], balance: 'round_robin', env: {},
  description: 'Deploy', createdBy: 'ann@laptop', drainMs: 1000, stopTimeoutSeconds: 10, configVars: [], createdAt: '2026-12-01T00:00:00.000Z', status: 'active',
} as Release;

const c = (type: string, replica: number, status: string, extra: Partial<KeptContainer> = {}): KeptContainer => ({
  id: `${type}.${replica}.${extra.release ?? 7}.${extra.generation ?? 0}`, name: `paas-shop.${type}.${replica}.v${extra.release ?? 7}`,
  release: 7, type, replica, generation: 0, running: status === 'running', status, ...extra,
});

describe('planKeep', () => {
  it('all running: nothing to do', () => {
    expect(planKeep(release, [c('web', 1, 'running'), c('web', 2, 'running'), c('worker', 1, 'running')])).toEqual({ start: [], missing: [], leftover: [] });
  });

  it('starts what was killed or stopped (exited, created), of the current release only; reports what is gone', () => {
    const killed = c('web', 2, 'exited');
    const created = c('worker', 1, 'created');
    const old = c('web', 1, 'exited', { release: 6 });
    expect(planKeep(release, [c('web', 1, 'running'), killed, created, old])).toEqual({ start: [killed, created], missing: [], leftover: [old] });
    expect(planKeep(release, [c('web', 1, 'running'), old])).toEqual({ start: [], missing: [{ type: 'web', replica: 2 }, { type: 'worker', replica: 1 }], leftover: [old] });
  });

  it('leaves to the engine what it is restarting, and what is paused, being removed or dead', () => {
    expect(planKeep(release, [c('web', 1, 'restarting'), c('web', 2, 'paused'), c('worker', 1, 'dead')])).toEqual({ start: [], missing: [], leftover: [] });
  });

  it('looks at the newest restart generation only: an older one that a cut drain stopped is left over, never started', () => {
    const drained = c('web', 1, 'exited', { generation: 0 });
    const draining = c('web', 2, 'running', { generation: 0 });
    const live = c('web', 1, 'running', { generation: 1, id: 'new' });
    expect(planKeep(release, [drained, live, draining, c('web', 2, 'running', { generation: 1, id: 'new2' }), c('worker', 1, 'running')])).toEqual({ start: [], missing: [], leftover: [drained] });
    const liveKilled = { ...live, status: 'exited', running: false };
    expect(planKeep(release, [drained, liveKilled, c('web', 2, 'running'), c('worker', 1, 'running')]).start).toEqual([liveKilled]);
  });

  it('leaves over what a cut drain stopped of an older release, a dead container, and a replica scaled away; an old release still draining stays', () => {
    const oldStopped = c('worker', 1, 'exited', { release: 6 });
    const oldDead = c('web', 1, 'dead', { release: 5 });
    const oldDraining = c('web', 2, 'running', { release: 6 });
    const scaledAway = c('worker', 2, 'exited');
    const plan = planKeep(release, [c('web', 1, 'running'), c('web', 2, 'running'), c('worker', 1, 'running'), oldStopped, oldDead, oldDraining, scaledAway]);
    expect(plan).toEqual({ start: [], missing: [], leftover: [oldStopped, oldDead, scaledAway] });
  });

  it('a worker-only release (web=0) keeps its workers and no web', () => {
    const workerOnly = { ...release, formation: { web: 0, worker: 2 } };
    expect(planKeep(workerOnly, [c('worker', 1, 'exited')])).toEqual({ start: [c('worker', 1, 'exited')], missing: [{ type: 'worker', replica: 2 }], leftover: [] });
  });
});

describe('restartDelayMs', () => {
  it('starts at once the first time, then waits 1 s doubling to at most 60 s', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map(restartDelayMs)).toEqual([0, 1000, 2000, 4000, 32_000, 60_000, 60_000]);
  });
});

describe('planRecreate', () => {
  const spec = { ...release, app: 'shop', keepReleases: 5 } as unknown as ReleaseSpec;
  it('plans the missing replicas of types other than web from the release, with its env; web is left to a rolling restart', () => {
    const plans = planRecreate(spec, [{ type: 'web', replica: 2 }, { type: 'worker', replica: 1 }], { SECRET: 's3' });
    expect(plans.map((p) => [p.name, p.type, p.replica])).toEqual([['paas-shop.worker.1.v7', 'worker', 1]]);
    expect(plans[0]!.create.Cmd).toEqual(['node', 'worker.js']);
    expect(plans[0]!.create.Env).toContain('SECRET=s3');
    expect(planRecreate(spec, [{ type: 'web', replica: 1 }], {})).toEqual([]);
  });
});
