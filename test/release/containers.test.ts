import { describe, expect, it } from 'vitest';
import { commandArgs, containerName, LABEL, limitArgs, planContainers, webReplicas } from '../../src/release/containers.js';
import type { ReleaseSpec } from '../../src/release/types.js';

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    app: 'shop',
    version: 7,
    image: 'paas/shop:v7',
    imageId: 'sha256:0123456789abcdef',
    processes: { web: 'node server.js --port $PORT', worker: 'node worker.js', clock: 'node clock.js' },
    formation: { worker: 1, web: 2 },
    port: 8080,
    domains: [],
    balance: 'round_robin',
    env: { B: 'x-secret-value', A: 'y-secret-value' },
    description: 'Deploy 1a2b3c4d',
    createdBy: 'ann@laptop',
    keepReleases: 5,
    drainMs: 1000,
    stopTimeoutSeconds: 10,
    ...overrides,
  };
}

/** The argv every container of shop v7 starts with, up to and including the env names. */
function head(type: string, replica: number): string[] {
  return [
    'run', '--detach',
    '--name', `paas-shop-${type}-${replica}-v7`,
    '--label', 'paas.app=shop',
    '--label', 'paas.release=7',
    '--label', `paas.process=${type}`,
    '--label', `paas.replica=${replica}`,
    '--restart', 'unless-stopped',
    '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3',
    '--env', 'PORT=8080',
    '--env', 'PAAS_APP=shop',
    '--env', 'PAAS_RELEASE=v7',
    '--env', `PAAS_PROCESS=${type}.${replica}`,
    '--env', 'A',
    '--env', 'B',
  ];
}

describe('containerName', () => {
  it.each([
    ['shop', 'web', 1, 7, 'paas-shop-web-1-v7'],
    ['my-shop', 'worker', 3, 12, 'paas-my-shop-worker-3-v12'],
  ])('%s %s.%i v%i -> %s', (app, type, replica, version, expected) => {
    expect(containerName(app, type, replica, version)).toBe(expected);
  });

  it.each([
    [0, 'paas-shop-web-1-v7'],
    [1, 'paas-shop-web-1-v7-r1'],
    [12, 'paas-shop-web-1-v7-r12'],
  ])('restart generation %i -> %s', (generation, expected) => {
    expect(containerName('shop', 'web', 1, 7, generation)).toBe(expected);
  });
});

describe('limitArgs', () => {
  it.each([
    [undefined, []],
    [{}, []],
    [{ memoryBytes: 536870912 }, ['--memory', '536870912']],
    [{ cpus: 0.5 }, ['--cpus', '0.5']],
    [{ memoryBytes: 268435456, cpus: 2 }, ['--memory', '268435456', '--cpus', '2']],
  ])('%j -> %j', (limits, expected) => {
    expect(limitArgs(limits)).toEqual(expected);
  });
});

describe('commandArgs', () => {
  it('null keeps the image CMD: no arguments after the image', () => {
    expect(commandArgs(null)).toEqual([]);
  });

  it.each([
    ['node worker.js', ['node', 'worker.js']],
    ['node server.js --port $PORT', ['/bin/sh', '-c', 'exec node server.js --port $PORT']],
    ['a && b', ['/bin/sh', '-c', 'a && b']],
  ])('%j -> %j (processArgv)', (command, argv) => {
    expect(commandArgs(command)).toEqual(argv);
  });
});

describe('planContainers', () => {
  it('labels are the documented ones', () => {
    expect(LABEL).toEqual({ app: 'paas.app', release: 'paas.release', process: 'paas.process', replica: 'paas.replica', restart: 'paas.restart' });
  });

  it('web=2 and worker=1: web first, exact docker argv, env passed by name only', () => {
    const plans = planContainers(spec(), [20001, 20002]);
    expect(plans).toEqual([
      {
        name: 'paas-shop-web-1-v7', type: 'web', replica: 1, envNames: ['A', 'B'],
        runArgs: [...head('web', 1), '--publish', '127.0.0.1:20001:8080', 'paas/shop:v7', '/bin/sh', '-c', 'exec node server.js --port $PORT'],
      },
      {
        name: 'paas-shop-web-2-v7', type: 'web', replica: 2, envNames: ['A', 'B'],
        runArgs: [...head('web', 2), '--publish', '127.0.0.1:20002:8080', 'paas/shop:v7', '/bin/sh', '-c', 'exec node server.js --port $PORT'],
      },
      {
        name: 'paas-shop-worker-1-v7', type: 'worker', replica: 1, envNames: ['A', 'B'],
        runArgs: [...head('worker', 1), 'paas/shop:v7', 'node', 'worker.js'],
      },
    ]);
  });

  it('no env value appears anywhere in argv', () => {
    for (const plan of planContainers(spec(), [20001, 20002])) {
      for (const arg of plan.runArgs) {
        expect(arg).not.toContain('secret');
        expect(arg).not.toMatch(/^(A|B)=/);
      }
    }
  });

  it('only web publishes a port', () => {
    const publishes = planContainers(spec(), [20001, 20002]).map((plan) => [plan.name, plan.runArgs.filter((arg) => arg === '--publish').length]);
    expect(publishes).toEqual([['paas-shop-web-1-v7', 1], ['paas-shop-web-2-v7', 1], ['paas-shop-worker-1-v7', 0]]);
  });

  it('a null command ends the argv with the image (its CMD runs)', () => {
    const plans = planContainers(spec({ processes: { web: null }, formation: { web: 1 }, env: {} }), [20001]);
    expect(plans).toEqual([{
      name: 'paas-shop-web-1-v7', type: 'web', replica: 1, envNames: [],
      runArgs: [...head('web', 1).slice(0, -4), '--publish', '127.0.0.1:20001:8080', 'paas/shop:v7'],
    }]);
  });

  it('skips types with 0 replicas and types the release has no process for; sorts the others after web', () => {
    const plans = planContainers(spec({
      processes: { web: 'w', worker: 'wk', clock: 'c', beat: 'b', idle: 'i' },
      formation: { worker: 1, idle: 0, ghost: 3, beat: 1, clock: 2 },
      env: {},
    }));
    expect(plans.map((plan) => plan.name)).toEqual([
      'paas-shop-beat-1-v7',
      'paas-shop-clock-1-v7',
      'paas-shop-clock-2-v7',
      'paas-shop-worker-1-v7',
    ]);
  });

  it('refuses a web replica without a host port', () => {
    expect(() => planContainers(spec(), [20001])).toThrow('no host port for web replica 2');
  });

  it('counts the web replicas that need ports', () => {
    expect(webReplicas(spec())).toBe(2);
    expect(webReplicas(spec({ formation: { worker: 1 } }))).toBe(0);
  });

  it('limits per type: --memory and --cpus before the port and the image, only for that type', () => {
    const plans = planContainers(spec({ limits: { web: { memoryBytes: 268435456, cpus: 0.5 }, worker: { memoryBytes: 134217728 } }, formation: { web: 1, worker: 1 } }), [20001]);
    expect(plans.map((p) => p.runArgs)).toEqual([
      [...head('web', 1), '--memory', '268435456', '--cpus', '0.5', '--publish', '127.0.0.1:20001:8080', 'paas/shop:v7', '/bin/sh', '-c', 'exec node server.js --port $PORT'],
      [...head('worker', 1), '--memory', '134217728', 'paas/shop:v7', 'node', 'worker.js'],
    ]);
  });

  it('a rolling restart plans only the given types, as generation N: -rN names and a paas.restart label', () => {
    const plans = planContainers(spec(), [20005, 20006], { types: ['web'], generation: 2 });
    expect(plans.map((p) => p.name)).toEqual(['paas-shop-web-1-v7-r2', 'paas-shop-web-2-v7-r2']);
    const restartHead = (replica: number) => {
      const h = head('web', replica);
      h[3] = `paas-shop-web-${replica}-v7-r2`;
      const at = h.indexOf(`paas.replica=${replica}`) + 1;
      return [...h.slice(0, at), '--label', 'paas.restart=2', ...h.slice(at)];
    };
    expect(plans[0]!.runArgs).toEqual([...restartHead(1), '--publish', '127.0.0.1:20005:8080', 'paas/shop:v7', '/bin/sh', '-c', 'exec node server.js --port $PORT']);
    expect(plans[1]!.runArgs).toEqual([...restartHead(2), '--publish', '127.0.0.1:20006:8080', 'paas/shop:v7', '/bin/sh', '-c', 'exec node server.js --port $PORT']);
  });

  it('an empty formation plans nothing', () => {
    expect(planContainers(spec({ formation: {} }))).toEqual([]);
  });
});
