import { describe, expect, it } from 'vitest';
import { restartSwitched, rolloutSwitched, strays } from '../../src/agent/reconcile.js';
import type { ListedContainer } from '../../src/agent/containers.js';
import type { AppState, Release } from '../../src/release/types.js';

const release = (version: number, status: Release['status']) => ({ version, status }) as Release;
const state = (current: number | undefined, ...releases: Release[]): AppState => ({ app: 'shop', ...(current !== undefined ? { current } : {}), releases });
const web = (release: number, port: number, extra: Partial<ListedContainer> = {}): ListedContainer => ({
  id: `id-${release}-${port}`, name: `paas-shop.web.1.v${release}`, release, type: 'web', replica: 1, generation: 0, running: true, port, ...extra,
});

describe('rolloutSwitched: finish (true) or undo (false) what a dead agent left', () => {
  const s = state(6, release(6, 'active'), release(7, 'pending'));
  it.each([
    ['routes on v7, its web container runs on the routed port', { version: 7, ports: [20001] }, [web(6, 20000), web(7, 20001)], true],
    ['routes still on v6 (killed before the switch)', { version: 6, ports: [20000] }, [web(6, 20000), web(7, 20001)], false],
    ['routes on v7, but its container is not running', { version: 7, ports: [20001] }, [web(6, 20000), web(7, 20001, { running: false })], false],
    ['routes on v7, a port no container of v7 has', { version: 7, ports: [20009] }, [web(7, 20001)], false],
    ['no routes at all (a first deploy killed early)', undefined, [web(7, 20001)], false],
  ])('%s', (_label, routed, containers, expected) => {
    expect(rolloutSwitched(7, s, routed, containers)).toBe(expected);
  });

  it('a release the state does not hold is never finished (its pending record was not written)', () => {
    expect(rolloutSwitched(7, state(6, release(6, 'active')), { version: 7, ports: [20001] }, [web(7, 20001)])).toBe(false);
  });

  it('a release without web replicas (routes with no peers) is finished once routed', () => {
    expect(rolloutSwitched(7, s, { version: 7, ports: [] }, [])).toBe(true);
  });
});

describe('restartSwitched', () => {
  it('true when every routed port is a running container of the new generation', () => {
    const containers = [web(6, 20000), web(6, 20005, { generation: 1 })];
    expect(restartSwitched(6, 1, { version: 6, ports: [20005] }, containers)).toBe(true);
    expect(restartSwitched(6, 1, { version: 6, ports: [20000] }, containers)).toBe(false);
    expect(restartSwitched(6, 1, { version: 6, ports: [] }, containers)).toBe(false);
  });
});

describe('strays: containers no kept release accounts for', () => {
  it('keeps the current and pending releases\' containers and whatever nginx routes to; the rest are strays', () => {
    const s = state(6, release(5, 'superseded'), release(6, 'active'), release(7, 'pending'));
    const containers = [web(4, 19999), web(5, 20000), web(6, 20001), web(7, 20002), web(5, 20003)];
    expect(strays(s, containers, [20003]).map((c) => c.port)).toEqual([19999, 20000]);
  });
});
