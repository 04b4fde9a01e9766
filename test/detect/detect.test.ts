import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_IMAGES_DEFAULT, detect } from '../../src/detect/index.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

const LOOKED_FOR = [
  'dockerfile: Dockerfile',
  'node: package.json',
  'python: requirements.txt, Pipfile, pyproject.toml, setup.py, setup.cfg, .python-version, runtime.txt, a Procfile command running python, python3, gunicorn or uvicorn, app.py, main.py, manage.py, wsgi.py, server.py, web.py',
  'go: go.mod, Godeps/Godeps.json, vendor/vendor.json, glide.yaml, Gopkg.toml, Gopkg.lock, .godir, .go files at the top',
  'ruby: Gemfile',
  'static: Staticfile, static.json, .static, index.html, public/index.html',
];

describe('detect', () => {
  it('fails for a missing directory', async () => {
    const error = await paasError(detect('/nonexistent/paas-detect-app'));
    expect(error).toMatchObject({ kind: 'detect', message: 'no such directory: /nonexistent/paas-detect-app' });
    expect(error.hint).toContain('pass the directory that holds the app');
  });

  it('fails for a file given as the directory', async () => {
    const dir = await makeTree({ 'README.md': '' });
    const error = await paasError(detect(path.join(dir, 'README.md')));
    expect(error.message).toBe(`no such directory: ${dir}/README.md`);
    expect(error.hint).toContain('is a file');
  });

  it('lists what it looked for when nothing is recognisable', async () => {
    const dir = await makeTree({ 'README.md': '# hi\n', 'docs/guide.md': '' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({
      kind: 'detect',
      message: `no recognisable app in ${dir}`,
      details: LOOKED_FOR,
      hint: 'add one of these files, or a Dockerfile',
    });
  });

  it('points at an app in a subdirectory of a monorepo', async () => {
    const dir = await makeTree({ 'README.md': '', 'apps/web/package.json': json({ scripts: { start: 'next start' } }), 'node_modules/x/package.json': '{}' });
    const error = await paasError(detect(dir));
    expect(error.hint).toBe(`found a node app in apps/web: run "paas detect ${dir}/apps/web"`);
  });

  it('lists several nested apps', async () => {
    const dir = await makeTree({ 'api/go.mod': 'module api\n', 'services/site/index.html': '', 'packages/ui/README.md': '' });
    const error = await paasError(detect(dir));
    expect(error.hint).toBe(
      `found apps in api (go), services/site (static): run "paas detect ${dir}/<dir>" for one of them, e.g. "paas detect ${dir}/api"`,
    );
  });

  it('follows the precedence dockerfile, node, python, go, ruby, static', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: { start: 'node s.js' } }), 'requirements.txt': '', 'go.mod': 'module x\n', 'index.html': '' });
    const plan = await detect(dir);
    expect(plan.stack).toBe('node');
    expect(plan.reasons.slice(0, 4)).toEqual([
      'package.json found: node',
      'requirements.txt (python) not used: node takes precedence',
      'go.mod (go) not used: node takes precedence',
      'index.html (static) not used: node takes precedence',
    ]);
  });

  describe('the stack option', () => {
    it('uses the requested stack over a Dockerfile', async () => {
      const dir = await makeTree({ Dockerfile: 'FROM node:20\n', 'package.json': json({ scripts: { start: 'node s.js' } }) });
      const plan = await detect(dir, { stack: 'node' });
      expect(plan.stack).toBe('node');
      expect(plan.reasons.slice(0, 2)).toEqual(['stack node requested: package.json found', 'Dockerfile (dockerfile) not used: the stack was requested']);
    });

    it("fails when the stack's files are missing", async () => {
      const dir = await makeTree({ 'package.json': json({}) });
      const error = await paasError(detect(dir, { stack: 'python' }));
      expect(error).toMatchObject({
        kind: 'detect',
        message: `the python stack is requested but ${dir} has none of its files (requirements.txt, Pipfile, pyproject.toml, setup.py, setup.cfg, .python-version, runtime.txt, a Procfile command running python, python3, gunicorn or uvicorn, app.py, main.py, manage.py, wsgi.py, server.py, web.py)`,
      });
    });
  });

  describe('app.json', () => {
    it('takes the first startup health check with a path, and the formation', async () => {
      const dir = await makeTree({
        'index.html': '',
        'app.json': json({
          name: 'site',
          healthchecks: {
            web: [
              { type: 'liveness', path: '/live' },
              { type: 'startup', name: 'no path', content: 'ok' },
              { type: 'startup', path: '/health', timeout: 10, wait: 3, attempts: 5, initialDelay: 2 },
              { path: '/other' },
            ],
          },
          formation: { web: { quantity: 2, size: 'basic' }, worker: { quantity: 0 }, clock: { size: 'basic' } },
        }),
      });
      const plan = await detect(dir);
      expect(plan.healthcheck).toEqual({ path: '/health', timeoutMs: 10_000, intervalMs: 3_000, successes: 1, source: 'app.json healthchecks.web[2]' });
      expect(plan.formation).toEqual({ web: 2, worker: 0 });
      expect(plan.reasons.slice(-2)).toEqual(['app.json healthchecks.web[2]: health check GET /health', 'app.json formation: web=2, worker=0']);
    });

    it("uses Dokku's defaults for timeout and wait", async () => {
      const dir = await makeTree({ 'index.html': '', 'app.json': json({ healthchecks: { web: [{ path: '/' }] } }) });
      expect((await detect(dir)).healthcheck).toEqual({ path: '/', timeoutMs: 5000, intervalMs: 1000, successes: 1, source: 'app.json healthchecks.web[0]' });
    });

    it('adds nothing without health checks or formation', async () => {
      const dir = await makeTree({ 'index.html': '', 'app.json': json({ name: 'x', env: { A: { value: '1' } } }) });
      const plan = await detect(dir);
      expect(plan).not.toHaveProperty('healthcheck');
      expect(plan).not.toHaveProperty('formation');
    });

    it('takes cron, scripts and env into the plan, with their reasons and warnings', async () => {
      const dir = await makeTree({
        'index.html': '',
        'app.json': json({
          cron: [{ command: 'npm run report', schedule: '@daily' }],
          scripts: { dokku: { predeploy: 'npm run migrate' } },
          env: { PORT: '5000', SECRET_KEY_BASE: { generator: 'secret' } },
        }),
      });
      const plan = await detect(dir);
      expect(plan.cron).toEqual([{ id: 'b7ed834c', schedule: '@daily', command: 'npm run report', concurrencyPolicy: 'allow', maintenance: false, source: 'app.json cron[0]' }]);
      expect(plan.scripts).toEqual({ predeploy: 'npm run migrate' });
      expect(plan.env).toEqual({ defaults: {}, required: [], secrets: ['SECRET_KEY_BASE'] });
      expect(plan.reasons.slice(-3)).toEqual([
        'app.json cron: b7ed834c (@daily)',
        'app.json scripts.dokku.predeploy',
        'app.json env: secrets SECRET_KEY_BASE',
      ]);
      expect(plan.warnings).toEqual(["app.json env.PORT ignored: PORT is set by paas from the app's port"]);
    });

    it('names the line of a JSON syntax error', async () => {
      const dir = await makeTree({ 'index.html': '', 'app.json': '{\n  "name": "x"\n  "formation": {}\n}\n' });
      const error = await paasError(detect(dir));
      expect(error).toMatchObject({ kind: 'config', where: `${dir}/app.json:3:3` });
    });

    it.each([
      [{ healthchecks: [] }, 'healthchecks must be an object, e.g. {"web": [{"path": "/health"}]}'],
      [{ healthchecks: { web: { path: '/' } } }, 'healthchecks.web must be an array of checks'],
      [{ healthchecks: { web: [{ path: 'health' }] } }, 'healthchecks.web[0].path must be a string starting with "/"'],
      [{ healthchecks: { web: [{ path: '/', timeout: '5s' }] } }, 'healthchecks.web[0].timeout must be a positive number of seconds'],
      [{ formation: { web: { quantity: 1.5 } } }, 'formation.web.quantity must be a whole number, 0 or more'],
      [{ formation: { web: { quantity: 1000 } } }, 'formation.web.quantity is 1000: at most 100 replicas per release are allowed'],
      [{ healthchecks: { web: [{ path: '/up now' }] } }, 'healthchecks.web[0].path "/up now" must not contain spaces or control characters'],
      [{ healthchecks: { web: [{ path: '/up\r\nHost: evil' }] } }, 'healthchecks.web[0].path "/up\\r\\nHost: evil" must not contain spaces or control characters'],
      [[], 'app.json must be a JSON object'],
    ])('rejects %j', async (appJson, message) => {
      const dir = await makeTree({ 'index.html': '', 'app.json': json(appJson) });
      expect(await paasError(detect(dir))).toMatchObject({ kind: 'config', message, where: `${dir}/app.json` });
    });
  });
});

describe('BASE_IMAGES_DEFAULT', () => {
  it('matches default_images in scripts/base-images.sh', async () => {
    const script = await readFile(fileURLToPath(new URL('../../scripts/base-images.sh', import.meta.url)), 'utf8');
    const list = /^default_images=\(\n([\s\S]*?)\n\)/m.exec(script)?.[1];
    expect(list).toBeDefined();
    expect(BASE_IMAGES_DEFAULT).toEqual(list!.split('\n').map((line) => line.trim()).filter(Boolean));
  });

  it('names the default image of every stack', () => {
    expect(BASE_IMAGES_DEFAULT).toEqual([
      'debian:bookworm-slim',
      'node:20-bookworm-slim',
      'python:3.11-slim-bookworm',
      'golang:1.19-bookworm',
      'ruby:3.1-slim-bookworm',
      'nginx:1.22',
    ]);
  });
});
