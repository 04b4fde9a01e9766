import { describe, expect, it } from 'vitest';
import { planContainers } from '../../src/release/containers.js';
import { imagesToPrune, nextVersion, planDestroy, planRestart, planRollout, rolloutWebReplicas, type RolloutFacts } from '../../src/release/plan.js';
import type { AppContainer, AppState, Release, ReleaseSpec } from '../../src/release/types.js';

const NOW = '2026-12-01T12:00:00.000Z';

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    app: 'shop', version: 1, image: 'paas/shop:aaa', imageId: '',
    processes: { web: 'node server.js', worker: 'node worker.js' }, formation: { web: 1 },
    port: 3000, domains: ['shop.example.com'], balance: 'round_robin', env: { LOG: 'info' },
    description: 'Deploy aaa', createdBy: 'ann@laptop', keepReleases: 2, drainMs: 1000, stopTimeoutSeconds: 10,
    ...overrides,
  };
}

function record(version: number, status: Release['status'], image = `paas/shop:v${version}`): Release {
  const { app: _a, keepReleases: _k, ...rest } = spec({ version, image });
  return { ...rest, configVars: [], createdAt: `2026-11-0${version}T00:00:00.000Z`, status };
}

const container = (release: number, type: string, replica: number, port?: number, extra: Partial<AppContainer> = {}): AppContainer => ({
  id: `id-${type}-${replica}-${release}`, name: `paas-shop.${type}.${replica}.v${release}`, release, type, replica, generation: 0, running: true,
  ...(port ? { port } : {}), ...extra,
});

function facts(state: AppState, existing: AppContainer[] = [], extra: Partial<RolloutFacts> = {}): RolloutFacts {
  return { state, config: { SECRET: 's3' }, override: undefined, existing, settings: { domains: [] }, baseDomain: 'apps.example.com', ...extra };
}

describe('planRollout', () => {
  it('a first deploy: v1, its containers, site, routes, records; nothing drains or is pruned', () => {
    const plan = planRollout(spec(), facts({ app: 'shop', releases: [] }), [20001], NOW);
    const released = { ...spec(), configVars: ['SECRET'] };
    expect(plan.spec).toEqual(released);
    expect(plan.env).toEqual({ LOG: 'info', SECRET: 's3' });
    expect(plan.containers).toEqual(planContainers(released, [20001], {}, { LOG: 'info', SECRET: 's3' }));
    expect(plan.containers.map((c) => c.name)).toEqual(['paas-shop.web.1.v1']);
    expect(plan.leftovers).toEqual([]);
    expect(plan.site).toEqual({ app: 'shop', serverNames: ['shop.apps.example.com', 'shop.example.com'] });
    expect(plan.routes).toEqual({ version: 1, balance: 'round_robin', upstreams: [{ port: 20001 }] });
    const { app: _a, keepReleases: _k, ...recorded } = released;
    expect(plan.pending).toEqual({ app: 'shop', releases: [{ ...recorded, createdAt: NOW, status: 'pending' }] });
    expect(plan.active).toEqual({ app: 'shop', current: 1, releases: [{ ...recorded, createdAt: NOW, status: 'active' }] });
    expect(plan.drain).toEqual([]);
    expect(plan.prune).toEqual([]);
    expect(plan.undo).toEqual({ app: 'shop', releases: [] });
  });

  it('a warm deploy: the next number, the old containers drain, images beyond keep_releases are pruned', () => {
    const state: AppState = { app: 'shop', current: 3, releases: [record(1, 'superseded'), record(2, 'superseded'), record(3, 'active')] };
    const existing = [container(3, 'web', 1, 20001)];
    const plan = planRollout(spec({ version: 4, image: 'paas/shop:v4' }), facts(state, existing), [20002], NOW, ['paas/shop:deps-old']);
    expect(plan.spec.version).toBe(4);
    expect(plan.containers.map((c) => c.name)).toEqual(['paas-shop.web.1.v4']);
    expect(plan.routes.upstreams).toEqual([{ port: 20002 }]);
    expect(plan.active.current).toBe(4);
    expect(plan.active.releases.map((r) => [r.version, r.status])).toEqual([[1, 'superseded'], [2, 'superseded'], [3, 'superseded'], [4, 'active']]);
    expect(plan.pending.current).toBe(3);
    expect(plan.pending.releases.map((r) => [r.version, r.status])).toEqual([[1, 'superseded'], [2, 'superseded'], [3, 'active'], [4, 'pending']]);
    expect(plan.drain).toEqual(['paas-shop.web.1.v3']);
    expect(plan.prune).toEqual(['paas/shop:v2', 'paas/shop:v1', 'paas/shop:deps-old']);
    expect(plan.undo).toBe(state);
  });

  it('never reuses a number the state has had (a pending record of a crashed attempt), and removes that attempt\'s leftovers first', () => {
    const state: AppState = { app: 'shop', current: 3, releases: [record(3, 'active'), record(4, 'pending')] };
    const leftover = container(5, 'web', 1, 20009);
    const plan = planRollout(spec({ version: 3 }), facts(state, [container(3, 'web', 1, 20001), leftover]), [20002], NOW);
    expect(plan.spec.version).toBe(5);
    expect(plan.leftovers).toEqual([leftover]);
    expect(plan.drain).toEqual(['paas-shop.web.1.v3']);
    expect(nextVersion({ app: 'shop', releases: [] }, 0)).toBe(1);
  });

  it('scale up: ps:scale\'s formation wins over the release\'s; web=3 worker=1 needs 3 ports', () => {
    const state: AppState = { app: 'shop', current: 1, releases: [record(1, 'active')] };
    const override = { web: 3, worker: 1 };
    const requested = spec({ version: 2 });
    expect(rolloutWebReplicas(requested, override)).toBe(3);
    const plan = planRollout(requested, facts(state, [container(1, 'web', 1, 20001)], { override }), [20002, 20003, 20004], NOW);
    expect(plan.spec.formation).toEqual({ web: 3, worker: 1 });
    expect(plan.containers.map((c) => c.name)).toEqual(['paas-shop.web.1.v2', 'paas-shop.web.2.v2', 'paas-shop.web.3.v2', 'paas-shop.worker.1.v2']);
    expect(plan.routes.upstreams).toEqual([{ port: 20002 }, { port: 20003 }, { port: 20004 }]);
  });

  it('scale down: web=0 routes nothing, and every old container drains', () => {
    const state: AppState = { app: 'shop', current: 2, releases: [record(2, 'active')] };
    const existing = [container(2, 'web', 1, 20002), container(2, 'web', 2, 20003), container(2, 'worker', 1)];
    const plan = planRollout(spec({ version: 3 }), facts(state, existing, { override: { web: 0, worker: 1 } }), [], NOW);
    expect(plan.containers.map((c) => c.name)).toEqual(['paas-shop.worker.1.v3']);
    expect(plan.routes).toEqual({ version: 3, balance: 'round_robin', upstreams: [] });
    expect(plan.drain).toEqual(['paas-shop.web.1.v2', 'paas-shop.web.2.v2', 'paas-shop.worker.1.v2']);
  });

  it('a failed health check undoes to exactly the state read before: the pending record goes, nothing else changes', () => {
    const state: AppState = { app: 'shop', current: 1, releases: [record(1, 'active')] };
    const plan = planRollout(spec({ version: 2 }), facts(state, [container(1, 'web', 1, 20001)]), [20002], NOW);
    expect(plan.undo).toEqual({ app: 'shop', current: 1, releases: [record(1, 'active')] });
    expect(plan.pending.releases.at(-1)).toMatchObject({ version: 2, status: 'pending' });
  });

  it('a rollback: an earlier release\'s record and its config, as a new release, with lb:set\'s strategy and the added domains', () => {
    const state: AppState = { app: 'shop', current: 2, releases: [record(1, 'superseded'), record(2, 'active')] };
    const { createdAt: _c, status: _s, ...kept } = record(1, 'superseded');
    const rollback: ReleaseSpec = { ...kept, app: 'shop', version: 3, createdBy: 'bob@ci', keepReleases: 5, description: 'Rollback to v1' };
    const settings = { domains: ['extra.example.com'], balance: 'least_conn' as const };
    const plan = planRollout(rollback, facts(state, [container(2, 'web', 1, 20002)], { config: { SECRET: 'old' }, settings }), [20003], NOW);
    expect(plan.spec).toMatchObject({ version: 3, image: 'paas/shop:v1', description: 'Rollback to v1', configVars: ['SECRET'] });
    expect(plan.env.SECRET).toBe('old');
    expect(plan.site.serverNames).toEqual(['shop.apps.example.com', 'shop.example.com', 'extra.example.com']);
    expect(plan.routes).toEqual({ version: 3, balance: 'least_conn', upstreams: [{ port: 20003 }] });
    expect(plan.drain).toEqual(['paas-shop.web.1.v2']);
  });
});

describe('imagesToPrune', () => {
  it('keeps the images of the newest N releases, whatever the order in the state', () => {
    const state: AppState = { app: 'shop', current: 5, releases: [record(3, 'superseded'), record(1, 'superseded'), record(5, 'active'), record(2, 'superseded'), record(4, 'superseded')] };
    expect(imagesToPrune(state, 2)).toEqual(['paas/shop:v3', 'paas/shop:v2', 'paas/shop:v1']);
  });
});

describe('planRestart', () => {
  const release = spec({ version: 7, formation: { web: 2, worker: 1 } });
  const existing = [
    container(7, 'web', 1, 20001), container(7, 'web', 2, 20002), container(7, 'worker', 1),
    container(6, 'web', 1, 20000),
  ];

  it('web: generation 1 beside generation 0 on new ports, routes switch to it, the old ones drain; workers restart in place', () => {
    const plan = planRestart(release, ['web', 'worker'], existing, { LOG: 'info' }, [20011, 20012], { domains: [] });
    expect(plan.generation).toBe(1);
    expect(plan.containers).toEqual(planContainers(release, [20011, 20012], { types: ['web'], generation: 1 }, { LOG: 'info' }));
    expect(plan.containers.map((c) => c.name)).toEqual(['paas-shop.web.1.v7.r1', 'paas-shop.web.2.v7.r1']);
    expect(plan.routes).toEqual({ version: 7, balance: 'round_robin', upstreams: [{ port: 20011 }, { port: 20012 }] });
    expect(plan.drain).toEqual(['paas-shop.web.1.v7', 'paas-shop.web.2.v7']);
    expect(plan.restartInPlace).toEqual([{ type: 'worker', ids: ['id-worker-1-7'], names: ['paas-shop.worker.1.v7'] }]);
  });

  it('the next restart is generation 2; only workers: nothing routed, nothing drains', () => {
    const again = planRestart(release, ['web'], [container(7, 'web', 1, 20011, { generation: 1 })], {}, [20021, 20022], { domains: [] });
    expect(again.generation).toBe(2);
    const workers = planRestart(release, ['worker'], existing, {}, [], { domains: [] });
    expect(workers).toEqual({ containers: [], generation: 1, routes: undefined, drain: [], restartInPlace: [{ type: 'worker', ids: ['id-worker-1-7'], names: ['paas-shop.worker.1.v7'] }] });
  });
});

describe('planDestroy', () => {
  it('nginx first, then containers, network, images of the app only, and the state directory last', () => {
    expect(planDestroy('shop', {
      site: true,
      containers: [{ id: 'a' }, { id: 'b' }], images: ['paas/shop:v1', 'paas/shop:deps-x', 'paas/shop-admin:v1'],
      certsDir: '/var/lib/paas/certs/shop', repo: '/var/lib/paas/git/shop.git', stateDir: '/var/lib/paas/apps/shop',
    })).toEqual({
      site: true,
      containers: ['a', 'b'],
      images: ['paas/shop:v1', 'paas/shop:deps-x'],
      network: 'paas-shop',
      dirs: ['/var/lib/paas/certs/shop', '/var/lib/paas/git/shop.git', '/var/lib/paas/apps/shop'],
    });
  });

  it('an app that was never served (no site) has none to take out', () => {
    const plan = planDestroy('shop', { site: false, containers: [], images: [], stateDir: '/s' });
    expect(plan.site).toBe(false);
    expect(plan.dirs).toEqual(['/s']);
  });
});
