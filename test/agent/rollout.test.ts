import { describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
// Pure functions only: nothing here runs docker or touches the agent's state root.
import { appUrls, rollbackSpec } from '../../src/agent/releases.js';
import { imagesToPrune, nextVersion } from '../../src/release/plan.js';
import { validateSpec } from '../../src/release/validate.js';
import type { HostInfo } from '../../src/agent/state.js';
import type { AppState, Release, ReleaseSpec } from '../../src/release/types.js';

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    app: 'shop',
    version: 3,
    image: 'paas/shop:1a2b3c4d5e6f',
    imageId: `sha256:${'0123abcd'.repeat(8)}`,
    processes: { web: 'node server.js', worker: 'node worker.js' },
    formation: { web: 2, worker: 1, release_2: 0 },
    port: 8080,
    domains: ['shop.example.com', '*.shop.example.org'],
    balance: 'weighted',
    env: { NODE_ENV: 'production', _X1: 'y' },
    description: 'Deploy 1a2b3c4d',
    createdBy: 'ann@laptop',
    keepReleases: 5,
    drainMs: 1000,
    stopTimeoutSeconds: 10,
    ...overrides,
  };
}

function release(version: number, image = `paas/shop:v${version}`, overrides: Partial<Release> = {}): Release {
  return {
    version,
    image,
    imageId: `sha256:${version}`,
    processes: { web: 'node server.js' },
    formation: { web: 1 },
    port: 8080,
    domains: [],
    balance: 'round_robin',
    env: { NODE_ENV: 'production' },
    description: `Deploy v${version}`,
    createdBy: 'ann@laptop',
    drainMs: 1000,
    stopTimeoutSeconds: 10,
    createdAt: `2026-01-0${version}T00:00:00.000Z`,
    status: 'superseded',
    ...overrides,
  };
}

/** The PaasError fn throws (fails the test when it throws nothing or something else). */
function paasError(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected a PaasError');
}

describe('validateSpec', () => {
  it('a valid spec passes', () => {
    expect(() => validateSpec(spec())).not.toThrow();
    expect(() => validateSpec(spec({ image: 'paas/shop:v1', imageId: '', formation: {}, domains: [], env: {}, balance: 'round_robin', port: 1, version: 1 }))).not.toThrow();
    expect(() => validateSpec(spec({ port: 65535, formation: { web: 100, worker: 0 } }))).not.toThrow();
  });

  it.each<[string, Partial<ReleaseSpec>, string]>([
    ['bad app name', { app: 'Shop_1' }, 'app: "Shop_1" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)'],
    ['version 0', { version: 0 }, 'version: expected a whole number >= 1'],
    ['version 1.5', { version: 1.5 }, 'version: expected a whole number >= 1'],
    ['image with spaces', { image: 'paas/shop:v1 --privileged' }, 'image: "paas/shop:v1 --privileged" is not an image reference'],
    ['image with ;', { image: 'paas/shop:v1;rm' }, 'image: "paas/shop:v1;rm" is not an image reference'],
    ['another app\'s image', { image: 'paas/owner:1a2b3c4d' }, 'image: "paas/owner:1a2b3c4d" is not an image of shop (paas/shop:<tag>)'],
    ['an image outside paas', { image: 'registry.example.com/x:1' }, 'image: "registry.example.com/x:1" is not an image of shop (paas/shop:<tag>)'],
    ['a free-text image ID', { imageId: 'anything; rm -rf /' }, 'imageId: expected sha256:<64 hex digits>'],
    ['a NUL in a command', { processes: { web: 'node\u0000server.js' } }, 'processes.web: expected a command of 1 to 16384 characters, without NUL bytes'],
    ['a NUL in the release command', { releaseCommand: 'migrate\u0000' }, 'releaseCommand: expected a command of 1 to 16384 characters, without NUL bytes'],
    ['processes null', { processes: null as unknown as ReleaseSpec['processes'] }, 'processes: expected a map of process type to command'],
    ['formation null', { formation: null as unknown as ReleaseSpec['formation'] }, 'formation: expected a map of process type to replicas'],
    ['env null', { env: null as unknown as ReleaseSpec['env'] }, 'env: expected a map of variable name to value'],
    ['limits of a type null', { limits: { web: null as unknown as object } }, 'limits.web: expected { memoryBytes, cpus }'],
    ['keepReleases 0', { keepReleases: 0 }, 'keepReleases: expected 1..100'],
    ['drainMs -5', { drainMs: -5 }, 'drainMs: expected 0 to 600000 ms'],
    ['stopTimeoutSeconds 1e9', { stopTimeoutSeconds: 1e9 }, 'stopTimeoutSeconds: expected 0 to 3600 s'],
    ['a health check path with CR/LF', { healthcheck: { path: '/up\r\nX: y', timeoutMs: 1000, intervalMs: 100, successes: 1, source: 'paas.yml healthcheck' } }, 'healthcheck.path: expected a path starting with "/", without spaces or control characters'],
    ['a health check timeout of 1e12 ms', { healthcheck: { path: '/up', timeoutMs: 1e12, intervalMs: 100, successes: 1, source: 'paas.yml healthcheck' } }, 'healthcheck.timeoutMs: expected 1 ms to 1 h'],
    ['a 1 MB description', { description: 'x'.repeat(1e6) }, 'description: expected one line of at most 500 characters'],
    ['createdBy with a newline', { createdBy: 'ann\nroot' }, 'createdBy: expected one line of at most 200 characters'],
    ['a reserved env name', { env: { PORT: '1' } }, "env: PORT is set by paas from the app's port"],
    ['image that looks like a flag', { image: '--privileged' }, 'image: "--privileged" is not an image reference'],
    ['port 70000', { port: 70000 }, 'port: expected 1..65535'],
    ['port 0', { port: 0 }, 'port: expected 1..65535'],
    ['formation type with /', { formation: { 'web/../x': 1 } }, 'formation: invalid process type "web/../x"'],
    ['101 replicas', { formation: { web: 101 } }, 'formation.web: expected 0..100 replicas'],
    ['-1 replicas', { formation: { web: -1 } }, 'formation.web: expected 0..100 replicas'],
    ['hostile domain', { domains: ['shop.example.com;}'] }, 'domains: "shop.example.com;}": "shop.example.com;}" is not a valid hostname: ";" is not allowed (only letters, digits, dashes and dots)'],
    ['single-label domain', { domains: ['localhost'] }, 'domains: "localhost": "localhost" is not a valid hostname: expected a domain such as shop.example.com'],
    ['env key A-B', { env: { 'A-B': 'x' } }, 'env: "A-B" is not a valid variable name (letters, digits and underscores, not starting with a digit)'],
    ['balance random', { balance: 'random' as ReleaseSpec['balance'] }, 'balance: "random" is not a strategy'],
  ])('refuses %s', (_what, overrides, problem) => {
    const error = paasError(() => validateSpec(spec(overrides)));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('the release spec is invalid');
    expect(error.details).toEqual([problem]);
  });

  it('collects every problem, in order', () => {
    const error = paasError(() => validateSpec(spec({
      app: 'Bad',
      version: 0,
      image: 'a b',
      port: 70000,
      formation: { 'a/b': 101 },
      domains: ['$host'],
      env: { 'A-B': 'x', '1X': 'y' },
      balance: 'random' as ReleaseSpec['balance'],
    })));
    expect(error.details).toEqual([
      'app: "Bad" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)',
      'version: expected a whole number >= 1',
      'image: "a b" is not an image reference',
      'port: expected 1..65535',
      'formation: invalid process type "a/b"',
      'domains: "$host": "$host" is not a valid hostname: "$" is not allowed (only letters, digits, dashes and dots)',
      'env: "A-B" is not a valid variable name (letters, digits and underscores, not starting with a digit)',
      'env: "1X" is not a valid variable name (letters, digits and underscores, not starting with a digit)',
      'balance: "random" is not a strategy',
    ]);
  });
});

describe('imagesToPrune', () => {
  it('keeps the images of the newest N releases, whatever the order in the state', () => {
    const state: AppState = { app: 'shop', current: 5, releases: [release(3), release(1), release(5), release(2), release(4)] };
    expect(imagesToPrune(state, 2)).toEqual(['paas/shop:v3', 'paas/shop:v2', 'paas/shop:v1']);
    expect(imagesToPrune(state, 5)).toEqual([]);
    expect(imagesToPrune(state, 10)).toEqual([]);
  });

  it('keeps an image a kept release shares with an old one (a rollback reuses its image)', () => {
    const state: AppState = {
      app: 'shop',
      current: 4,
      releases: [release(1, 'paas/shop:a'), release(2, 'paas/shop:b'), release(3, 'paas/shop:c'), release(4, 'paas/shop:a')],
    };
    expect(imagesToPrune(state, 2)).toEqual(['paas/shop:b']);
  });

  it('names an image old releases share once', () => {
    const state: AppState = {
      app: 'shop',
      releases: [release(1, 'paas/shop:a'), release(2, 'paas/shop:a'), release(3, 'paas/shop:b'), release(4, 'paas/shop:c')],
    };
    expect(imagesToPrune(state, 1)).toEqual(['paas/shop:b', 'paas/shop:a']);
  });

  it('no releases: nothing', () => {
    expect(imagesToPrune({ app: 'shop', releases: [] }, 5)).toEqual([]);
  });
});

describe('nextVersion', () => {
  const state = (...versions: number[]): AppState => ({ app: 'shop', releases: versions.map((v) => release(v)) });
  it.each([
    [[], 1, 1],
    [[], 0, 1],
    [[], 7, 7],
    [[1, 2, 5], 3, 6],
    [[1, 2, 5], 6, 6],
    [[1, 2, 5], 10, 10],
    [[5, 2], 1, 6],
  ])('releases %j, requested %i -> %i', (versions, requested, expected) => {
    expect(nextVersion(state(...versions), requested)).toBe(expected);
  });
});

describe('rollbackSpec', () => {
  const state: AppState = { app: 'shop', current: 3, releases: [release(1), release(3, 'paas/shop:v3', { status: 'active' }), release(2)] };
  const options = { version: 4, createdBy: 'bob@ci', keepReleases: 3 };

  /** What rolling back to release `v` of `state` must give, as a new release 4. */
  function expected(v: number): ReleaseSpec {
    return {
      app: 'shop',
      version: 4,
      image: `paas/shop:v${v}`,
      imageId: `sha256:${v}`,
      processes: { web: 'node server.js' },
      formation: { web: 1 },
      port: 8080,
      domains: [],
      balance: 'round_robin',
      env: { NODE_ENV: 'production' },
      description: `Rollback to v${v}`,
      createdBy: 'bob@ci',
      keepReleases: 3,
      drainMs: 1000,
      stopTimeoutSeconds: 10,
    };
  }

  it('by default: the newest release older than the current one, as a new version', () => {
    const result = rollbackSpec(state, options);
    expect(result).toEqual(expected(2));
    expect(Object.keys(result)).not.toContain('createdAt');
    expect(Object.keys(result)).not.toContain('status');
  });

  it('when current is not the newest release, still the newest one older than current', () => {
    expect(rollbackSpec({ ...state, current: 2 }, options)).toEqual(expected(1));
  });

  it('without a current release: the newest release', () => {
    expect(rollbackSpec({ app: 'shop', releases: [release(1), release(2)] }, options)).toEqual(expected(2));
  });

  it('an explicit `to`', () => {
    expect(rollbackSpec(state, { ...options, to: 1 })).toEqual(expected(1));
  });

  it('an unknown `to` is a usage error', () => {
    const error = paasError(() => rollbackSpec(state, { ...options, to: 9 }));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('shop has no release v9');
    expect(error.hint).toBe('see `paas releases` for the releases this host keeps');
  });

  it('nothing older than current is a usage error', () => {
    const error = paasError(() => rollbackSpec({ app: 'shop', current: 1, releases: [release(1)] }, options));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('shop has no earlier release to roll back to');
  });
});

describe('appUrls', () => {
  const host = (publicPort: number): HostInfo => ({ arch: 'amd64', baseDomain: 'apps.example.com', publicPort, setupAt: '2026-01-01T00:00:00.000Z' });

  it('public port 80: no port in the URLs', () => {
    expect(appUrls('shop', ['shop.example.com'], host(80))).toEqual(['http://shop.apps.example.com/', 'http://shop.example.com/']);
  });

  it('another public port: :PORT in every URL', () => {
    expect(appUrls('shop', ['shop.example.com', 'www.shop.example.com'], host(32080))).toEqual([
      'http://shop.apps.example.com:32080/',
      'http://shop.example.com:32080/',
      'http://www.shop.example.com:32080/',
    ]);
  });

  it('names the certificate covers: https:// on port 443 (where the 308 points), the others as before', () => {
    expect(appUrls('shop', ['shop.example.com', 'api.example.net'], host(32080), ['*.example.com'])).toEqual([
      'http://shop.apps.example.com:32080/',
      'https://shop.example.com/',
      'http://api.example.net:32080/',
    ]);
  });

  it('no domains: the app host name only', () => {
    expect(appUrls('my-shop', [], host(8080))).toEqual(['http://my-shop.apps.example.com:8080/']);
  });
});
