import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PIDS_LIMIT, LABEL, appNetwork, commandArgs, containerEnv, containerName, limitConfig, networkCreate, oneOffName,
  cronRunName, planContainers, planCronRun, planOneOff, releasePhaseName, webReplicas, type ContainerCreate,
} from '../../src/release/containers.js';
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

const WEB_CMD = ['/bin/sh', '-c', 'exec node server.js --port $PORT'];

/** The Engine API body of shop v7's container `type.replica`, with host port `port` for web. */
function body(type: string, replica: number, options: { port?: number; cmd?: string[]; env?: string[]; extraLabels?: Record<string, string>; limits?: object } = {}): ContainerCreate {
  return {
    Image: 'paas/shop:v7',
    ...(options.cmd?.length === 0 ? {} : { Cmd: options.cmd ?? (type === 'web' ? WEB_CMD : ['node', `${type}.js`]) }),
    Env: ['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', `PAAS_PROCESS=${type}.${replica}`, ...(options.env ?? ['A=y-secret-value', 'B=x-secret-value'])],
    Labels: { 'paas.app': 'shop', 'paas.release': '7', 'paas.process': type, 'paas.replica': String(replica), ...options.extraLabels },
    ...(type === 'web' ? { ExposedPorts: { '8080/tcp': {} } } : {}),
    HostConfig: {
      NetworkMode: 'paas-shop',
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: '', Config: { 'max-size': '10m', 'max-file': '3' } },
      ...(type === 'web' ? { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(options.port) }] } } : {}),
      ...options.limits,
      PidsLimit: DEFAULT_PIDS_LIMIT,
    },
  };
}

describe('containerName', () => {
  it.each([
    ['shop', 'web', 1, 7, 'paas-shop.web.1.v7'],
    ['my-shop', 'worker', 3, 12, 'paas-my-shop.worker.3.v12'],
  ])('%s %s.%i v%i -> %s', (app, type, replica, version, expected) => {
    expect(containerName(app, type, replica, version)).toBe(expected);
  });

  it.each([
    [0, 'paas-shop.web.1.v7'],
    [1, 'paas-shop.web.1.v7.r1'],
    [12, 'paas-shop.web.1.v7.r12'],
  ])('restart generation %i -> %s', (generation, expected) => {
    expect(containerName('shop', 'web', 1, 7, generation)).toBe(expected);
  });

  it('two apps whose names and process types share dashes never get the same name (they did: paas-shop-admin-web-1-v3)', () => {
    expect(containerName('shop', 'admin-web', 1, 3)).toBe('paas-shop.admin-web.1.v3');
    expect(containerName('shop-admin', 'web', 1, 3)).toBe('paas-shop-admin.web.1.v3');
    const names = new Set<string>();
    for (const [app, type] of [['a', 'b-c'], ['a-b', 'c'], ['a-b-c', 'web'], ['a', 'release'], ['a', 'run']] as const) {
      for (const version of [1, 2]) names.add(containerName(app, type, 1, version));
    }
    names.add(releasePhaseName('a', 1));
    names.add(oneOffName('a', '0123abcd'));
    expect(names.size).toBe(12);
  });
});

describe('limitConfig', () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [{ memoryBytes: 536870912 }, { Memory: 536870912 }],
    [{ cpus: 0.5 }, { NanoCpus: 500_000_000 }],
    [{ memoryBytes: 268435456, cpus: 2 }, { Memory: 268435456, NanoCpus: 2_000_000_000 }],
  ])('%j -> %j', (limits, expected) => {
    expect(limitConfig(limits)).toEqual(expected);
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

describe('containerEnv', () => {
  it('PORT and PAAS_* first, then the app variables by name; values are kept exactly', () => {
    expect(containerEnv({ app: 'shop', version: 3, port: 5000 }, 'web.2', { Z: 'a=b', PATH: '/app/bin:/usr/bin', M: 'line1\nline2' })).toEqual([
      'PORT=5000', 'PAAS_APP=shop', 'PAAS_RELEASE=v3', 'PAAS_PROCESS=web.2', 'M=line1\nline2', 'PATH=/app/bin:/usr/bin', 'Z=a=b',
    ]);
  });
});

describe('planContainers', () => {
  it('labels are the documented ones', () => {
    expect(LABEL).toEqual({ app: 'paas.app', release: 'paas.release', process: 'paas.process', replica: 'paas.replica', restart: 'paas.restart' });
  });

  it('web=2 and worker=1: web first, the exact Engine API bodies, the env in the body only', () => {
    const plans = planContainers(spec(), [20001, 20002]);
    expect(plans).toEqual([
      { name: 'paas-shop.web.1.v7', type: 'web', replica: 1, create: body('web', 1, { port: 20001 }) },
      { name: 'paas-shop.web.2.v7', type: 'web', replica: 2, create: body('web', 2, { port: 20002 }) },
      { name: 'paas-shop.worker.1.v7', type: 'worker', replica: 1, create: body('worker', 1) },
    ]);
  });

  it('the env given (paas.yml env with config vars) replaces the spec env', () => {
    const [plan] = planContainers(spec({ formation: { worker: 1 } }), [], {}, { DATABASE_URL: 'postgres://u:p@db/x' });
    expect(plan!.create.Env).toEqual(['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', 'PAAS_PROCESS=worker.1', 'DATABASE_URL=postgres://u:p@db/x']);
  });

  it('every container joins the app\'s own network, with a pids limit', () => {
    for (const plan of planContainers(spec(), [20001, 20002])) {
      expect(plan.create.HostConfig.NetworkMode).toBe(appNetwork('shop'));
      expect(plan.create.HostConfig.PidsLimit).toBe(4096);
    }
    expect(networkCreate('shop')).toEqual({ Name: 'paas-shop', Driver: 'bridge', CheckDuplicate: true, Labels: { 'paas.app': 'shop' } });
  });

  it('only web publishes a port, on 127.0.0.1', () => {
    const publishes = planContainers(spec(), [20001, 20002]).map((plan) => [plan.name, plan.create.HostConfig.PortBindings ?? null]);
    expect(publishes).toEqual([
      ['paas-shop.web.1.v7', { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '20001' }] }],
      ['paas-shop.web.2.v7', { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '20002' }] }],
      ['paas-shop.worker.1.v7', null],
    ]);
  });

  it('a null command sends no Cmd (the image CMD runs)', () => {
    const plans = planContainers(spec({ processes: { web: null }, formation: { web: 1 }, env: {} }), [20001]);
    expect(plans).toEqual([{ name: 'paas-shop.web.1.v7', type: 'web', replica: 1, create: body('web', 1, { port: 20001, cmd: [], env: [] }) }]);
  });

  it('skips types with 0 replicas and types the release has no process for; sorts the others after web', () => {
    const plans = planContainers(spec({
      processes: { web: 'w', worker: 'wk', clock: 'c', beat: 'b', idle: 'i' },
      formation: { worker: 1, idle: 0, ghost: 3, beat: 1, clock: 2 },
      env: {},
    }));
    expect(plans.map((plan) => plan.name)).toEqual([
      'paas-shop.beat.1.v7',
      'paas-shop.clock.1.v7',
      'paas-shop.clock.2.v7',
      'paas-shop.worker.1.v7',
    ]);
  });

  it('refuses a web replica without a host port', () => {
    expect(() => planContainers(spec(), [20001])).toThrow('no host port for web replica 2');
  });

  it('counts the web replicas that need ports', () => {
    expect(webReplicas(spec())).toBe(2);
    expect(webReplicas(spec({ formation: { worker: 1 } }))).toBe(0);
  });

  it('limits per type: Memory and NanoCpus, only for that type', () => {
    const plans = planContainers(spec({ limits: { web: { memoryBytes: 268435456, cpus: 0.5 }, worker: { memoryBytes: 134217728 } }, formation: { web: 1, worker: 1 } }), [20001]);
    expect(plans.map((p) => p.create)).toEqual([
      body('web', 1, { port: 20001, limits: { Memory: 268435456, NanoCpus: 500_000_000 } }),
      body('worker', 1, { limits: { Memory: 134217728 } }),
    ]);
  });

  it('a rolling restart plans only the given types, as generation N: .rN names and a paas.restart label', () => {
    const plans = planContainers(spec(), [20005, 20006], { types: ['web'], generation: 2 });
    expect(plans).toEqual([
      { name: 'paas-shop.web.1.v7.r2', type: 'web', replica: 1, create: body('web', 1, { port: 20005, extraLabels: { 'paas.restart': '2' } }) },
      { name: 'paas-shop.web.2.v7.r2', type: 'web', replica: 2, create: body('web', 2, { port: 20006, extraLabels: { 'paas.restart': '2' } }) },
    ]);
  });

  it('an empty formation plans nothing', () => {
    expect(planContainers(spec({ formation: {} }))).toEqual([]);
  });
});

describe('planOneOff', () => {
  it('paas run: the release image, its env, stdin and a TTY, no logs kept, the app network', () => {
    expect(planOneOff(spec(), { A: '1' }, { kind: 'run', argv: ['sh', '-c', 'echo $A'], interactive: true, tty: true })).toEqual({
      Image: 'paas/shop:v7',
      Cmd: ['sh', '-c', 'echo $A'],
      Env: ['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', 'PAAS_PROCESS=run', 'A=1'],
      Labels: { 'paas.app': 'shop', 'paas.oneoff': 'run' },
      OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true,
      HostConfig: { NetworkMode: 'paas-shop', LogConfig: { Type: 'none', Config: {} }, PidsLimit: 4096 },
    });
  });

  it('the release phase: no stdin, no TTY', () => {
    expect(planOneOff(spec(), {}, { kind: 'release', argv: ['node', 'migrate.js'] })).toEqual({
      Image: 'paas/shop:v7',
      Cmd: ['node', 'migrate.js'],
      Env: ['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', 'PAAS_PROCESS=release'],
      Labels: { 'paas.app': 'shop', 'paas.oneoff': 'release' },
      AttachStdout: true, AttachStderr: true,
      HostConfig: { NetworkMode: 'paas-shop', LogConfig: { Type: 'none', Config: {} }, PidsLimit: 4096 },
    });
    expect(releasePhaseName('shop', 7)).toBe('paas-shop.release.v7');
  });

  it('on the swarm engine: the cluster\'s overlay network, where the other apps answer by name', () => {
    expect(planOneOff({ ...spec(), engine: 'swarm' }, {}, { kind: 'run', argv: ['sh'] }).HostConfig.NetworkMode).toBe('paas-internal');
  });
});

describe('planCronRun', () => {
  it('a run of a scheduled task: the release image and env, its command by the process rules, labelled with task and minute, logs kept (1 MB)', () => {
    const at = new Date('2026-12-01T18:05:00.000Z');
    expect(planCronRun(spec(), { A: '1' }, { id: 'report', command: 'node report.js && echo done' }, at)).toEqual({
      Image: 'paas/shop:v7',
      Cmd: ['/bin/sh', '-c', 'node report.js && echo done'],
      Env: ['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', 'PAAS_PROCESS=cron', 'A=1'],
      Labels: { 'paas.app': 'shop', 'paas.oneoff': 'cron', 'paas.cron': 'report', 'paas.cron-at': '2026-12-01T18:05:00.000Z' },
      HostConfig: { NetworkMode: 'paas-shop', LogConfig: { Type: '', Config: { 'max-size': '1m', 'max-file': '1' } }, PidsLimit: 4096 },
    });
    expect(planCronRun(spec(), {}, { id: 'report', command: 'node report.js' }, undefined).Labels).toEqual({ 'paas.app': 'shop', 'paas.oneoff': 'cron', 'paas.cron': 'report', 'paas.cron-at': 'manual' });
    expect(cronRunName('shop', 'report', at, 'ab12')).toBe('paas-shop.cron.report.202612011805.ab12');
    expect(cronRunName('shop', 'report', undefined, 'ab12')).toBe('paas-shop.cron.report.manual.ab12');
  });
});
