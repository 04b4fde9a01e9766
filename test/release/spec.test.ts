import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/config/types.js';
import type { BuildPlan, CronTask, Healthcheck } from '../../src/detect/types.js';
import { formationFor, releaseSpec } from '../../src/release/spec.js';

function plan(overrides: Partial<BuildPlan> = {}): BuildPlan {
  return {
    stack: 'node',
    reasons: [],
    warnings: [],
    baseImage: 'node:20-slim',
    manifests: ['package.json'],
    install: ['npm ci'],
    build: [],
    processes: { web: 'node server.js', worker: 'node worker.js', release: 'node migrate.js' },
    processSource: 'Procfile',
    port: 3000,
    ...overrides,
  };
}

const input = {
  app: 'shop',
  image: 'paas/shop:v4',
  imageId: 'sha256:abc',
  version: 4,
  description: 'Deploy 1a2b3c4d',
  createdBy: 'ann@laptop',
};

describe('formationFor', () => {
  it('defaults: web 1, every other type 0, release excluded', () => {
    expect(formationFor(plan(), {})).toEqual({ web: 1, worker: 0 });
  });

  it('an app with no web process runs one of each type (worker-only), unless told otherwise', () => {
    const workerOnly = plan({ processes: { worker: 'node worker.js', clock: 'node clock.js', release: 'node migrate.js' } });
    expect(formationFor(workerOnly, {})).toEqual({ worker: 1, clock: 1 });
    expect(formationFor({ ...workerOnly, formation: { clock: 0 } }, {})).toEqual({ worker: 1, clock: 0 });
  });

  it('app.json formation wins over the defaults', () => {
    expect(formationFor(plan({ formation: { web: 3, worker: 2 } }), {})).toEqual({ web: 3, worker: 2 });
  });

  it('paas.yml processes replicas win over app.json formation, type by type', () => {
    const config: AppConfig = { processes: { worker: { replicas: 4 } } };
    expect(formationFor(plan({ formation: { web: 3, worker: 2 } }), config)).toEqual({ web: 3, worker: 4 });
  });

  it('paas.yml can scale web to 0 (0 is not "unset")', () => {
    const config: AppConfig = { processes: { web: { replicas: 0 } } };
    expect(formationFor(plan({ formation: { web: 3 } }), config)).toEqual({ web: 0, worker: 0 });
  });

  it('release never gets replicas, whatever app.json or paas.yml say', () => {
    const config: AppConfig = { processes: { release: { replicas: 2 } } };
    expect(formationFor(plan({ formation: { release: 1 } }), config)).toEqual({ web: 1, worker: 0 });
  });

  it('types that are not processes of the plan are ignored', () => {
    const config: AppConfig = { processes: { ghost: { replicas: 2 } } };
    expect(formationFor(plan({ formation: { phantom: 1 } }), config)).toEqual({ web: 1, worker: 0 });
  });
});

describe('releaseSpec', () => {
  it('with no paas.yml settings: the defaults', () => {
    expect(releaseSpec({ ...input, plan: plan(), config: {} })).toEqual({
      app: 'shop',
      version: 4,
      image: 'paas/shop:v4',
      imageId: 'sha256:abc',
      processes: { web: 'node server.js', worker: 'node worker.js' },
      formation: { web: 1, worker: 0 },
      port: 3000,
      domains: [],
      balance: 'round_robin',
      env: {},
      releaseCommand: 'node migrate.js',
      description: 'Deploy 1a2b3c4d',
      createdBy: 'ann@laptop',
      keepReleases: 5,
      drainMs: 1000,
      stopTimeoutSeconds: 10,
    });
  });

  it('has no releaseCommand key without a Procfile release: (the release phase is skipped)', () => {
    expect('releaseCommand' in releaseSpec({ ...input, plan: plan({ processes: { web: 'node server.js' } }), config: {} })).toBe(false);
  });

  it('has no healthcheck key when the plan has none', () => {
    expect('healthcheck' in releaseSpec({ ...input, plan: plan(), config: {} })).toBe(false);
  });

  it('takes paas.yml settings and the plan healthcheck', () => {
    const healthcheck: Healthcheck = { path: '/up', timeoutMs: 5000, intervalMs: 500, successes: 2, source: 'paas.yml healthcheck' };
    const config: AppConfig = {
      processes: { web: { replicas: 2 }, worker: { replicas: 1 } },
      domains: ['shop.example.com'],
      balance: 'least_conn',
      env: { NODE_ENV: 'production' },
      keepReleases: 2,
    };
    expect(releaseSpec({ ...input, plan: plan({ healthcheck, formation: { web: 9, worker: 9 } }), config })).toEqual({
      app: 'shop',
      version: 4,
      image: 'paas/shop:v4',
      imageId: 'sha256:abc',
      processes: { web: 'node server.js', worker: 'node worker.js' },
      formation: { web: 2, worker: 1 },
      port: 3000,
      healthcheck,
      domains: ['shop.example.com'],
      balance: 'least_conn',
      env: { NODE_ENV: 'production' },
      releaseCommand: 'node migrate.js',
      description: 'Deploy 1a2b3c4d',
      createdBy: 'ann@laptop',
      keepReleases: 2,
      drainMs: 1000,
      stopTimeoutSeconds: 10,
    });
  });

  it('memory and cpus of paas.yml processes become the release\'s limits (types it runs only)', () => {
    const config: AppConfig = {
      processes: { web: { replicas: 2, memoryBytes: 536870912, cpus: 0.5 }, worker: { replicas: 1, cpus: 2 }, clock: { replicas: 1, memoryBytes: 67108864 }, release: { replicas: 0, memoryBytes: 67108864 } },
    };
    expect(releaseSpec({ ...input, plan: plan(), config }).limits).toEqual({ web: { memoryBytes: 536870912, cpus: 0.5 }, worker: { cpus: 2 } });
    expect('limits' in releaseSpec({ ...input, plan: plan(), config: { processes: { web: { replicas: 1 } } } })).toBe(false);
  });

  it('keeps a null command (the image CMD) for web', () => {
    const spec = releaseSpec({ ...input, plan: plan({ stack: 'dockerfile', processes: { web: null } }), config: {} });
    expect(spec.processes).toEqual({ web: null });
    expect(spec.formation).toEqual({ web: 1 });
  });
});

describe('releaseSpec: app.json cron, scripts and env', () => {
  const daily: CronTask = { id: 'b7ed834c', schedule: '@daily', command: 'npm run report', concurrencyPolicy: 'allow', maintenance: false, source: 'app.json cron[0]' };
  const hourly: CronTask = { id: '1d2c3b4a', schedule: '@hourly', command: 'bin/sweep', concurrencyPolicy: 'forbid', maintenance: false, source: 'app.json cron[1]' };
  const appJson = plan({
    cron: [daily, hourly],
    scripts: { predeploy: 'npm run migrate', firstDeploy: 'npm run seed' },
    env: { defaults: { WEB_CONCURRENCY: '5', LOG_LEVEL: 'info' }, required: ['DATABASE_URL', 'API_TOKEN'], secrets: ['SECRET_KEY_BASE', 'SESSION_SECRET'] },
  });

  it('come from the plan (app.json) when paas.yml says nothing of them', () => {
    const spec = releaseSpec({ ...input, plan: appJson, config: {} });
    expect(spec.cron).toEqual([daily, hourly]);
    expect(spec.scripts).toEqual({ predeploy: 'npm run migrate', firstDeploy: 'npm run seed' });
    expect(spec.env).toEqual({ WEB_CONCURRENCY: '5', LOG_LEVEL: 'info' });
    expect(spec.envRequired).toEqual(['DATABASE_URL', 'API_TOKEN']);
    expect(spec.envSecrets).toEqual(['SECRET_KEY_BASE', 'SESSION_SECRET']);
  });

  it('paas.yml cron: replaces the app.json task of the same id and adds its others, with Dokku\'s defaults', () => {
    const config: AppConfig = {
      cron: {
        report: { schedule: ' 30 2 * * * ', command: 'npm run nightly' },
        '1d2c3b4a': { schedule: '@hourly', command: 'bin/sweep', maintenance: true, concurrencyPolicy: 'replace' },
      },
    };
    expect(releaseSpec({ ...input, plan: appJson, config }).cron).toEqual([
      daily,
      { id: '1d2c3b4a', schedule: '@hourly', command: 'bin/sweep', concurrencyPolicy: 'replace', maintenance: true, source: 'paas.yml cron.1d2c3b4a' },
      { id: 'report', schedule: '30 2 * * *', command: 'npm run nightly', concurrencyPolicy: 'allow', maintenance: false, source: 'paas.yml cron.report' },
    ]);
  });

  it('paas.yml env: wins key by key: a key it sets is neither a default, nor required, nor generated', () => {
    const config: AppConfig = { env: { LOG_LEVEL: 'debug', DATABASE_URL: 'postgres://db/shop', SESSION_SECRET: 'fixed' } };
    const spec = releaseSpec({ ...input, plan: appJson, config });
    expect(spec.env).toEqual({ WEB_CONCURRENCY: '5', LOG_LEVEL: 'debug', DATABASE_URL: 'postgres://db/shop', SESSION_SECRET: 'fixed' });
    expect(spec.envRequired).toEqual(['API_TOKEN']);
    expect(spec.envSecrets).toEqual(['SECRET_KEY_BASE']);
  });

  it('has no cron, scripts, envRequired or envSecrets keys when there are none', () => {
    const spec = releaseSpec({ ...input, plan: plan({ env: { defaults: { A: '1' }, required: ['B'], secrets: [] } }), config: { env: { B: '2' } } });
    expect(spec.env).toEqual({ A: '1', B: '2' });
    expect(['cron', 'scripts', 'envRequired', 'envSecrets'].filter((key) => key in spec)).toEqual([]);
  });
});

describe('releaseSpec: volumes', () => {
  it('records paas.yml volumes as the release\'s mounts', () => {
    const spec = releaseSpec({ ...input, plan: plan(), config: { volumes: { data: { path: '/app/data' }, jobs: { path: '/jobs', processes: ['worker'] } } } });
    expect(spec.volumes).toEqual([
      { name: 'data', path: '/app/data', source: 'paas.yml' },
      { name: 'jobs', path: '/jobs', processes: ['worker'], source: 'paas.yml' },
    ]);
  });

  it('refuses a process type the app does not run', () => {
    expect(() => releaseSpec({ ...input, plan: plan(), config: { volumes: { data: { path: '/app/data', processes: ['wrker'] } } } }))
      .toThrow('volumes.data.processes: the app has no process type wrker');
  });
});

describe('releaseSpec: tls', () => {
  it('paas.yml tls: auto is carried with its defaults (redirect, no HSTS); without it the spec has none', () => {
    expect(releaseSpec({ ...input, plan: plan(), config: { tls: { certificate: 'auto' } } }).tls).toEqual({ hsts: false, redirect: true });
    expect(releaseSpec({ ...input, plan: plan(), config: { tls: { certificate: 'auto', hsts: true, redirect: false } } }).tls).toEqual({ hsts: true, redirect: false });
    expect(releaseSpec({ ...input, plan: plan(), config: {} })).not.toHaveProperty('tls');
  });
});
