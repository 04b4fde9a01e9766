import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/detect/index.js';
import type { BuildPlan } from '../../src/detect/types.js';

/** Apps written the way Heroku's and Dokku's docs and sample apps write them (test/fixtures/). */
const FIXTURES = path.resolve(fileURLToPath(new URL('../fixtures', import.meta.url)));
const copies: string[] = [];

afterAll(() => Promise.all(copies.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Detection of a copy of the fixture in a repository of its own, as it is pushed (not inside this repository). */
async function detectFixture(name: string): Promise<BuildPlan> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'paas-fixture-'));
  copies.push(root);
  const dir = path.join(root, name);
  await cp(path.join(FIXTURES, name), dir, { recursive: true });
  await mkdir(path.join(dir, '.git'));
  return detect(dir);
}

type Expected = Pick<BuildPlan, 'stack' | 'processes' | 'processSource' | 'reasons' | 'warnings' | 'baseImage' | 'install' | 'build'>;

const PYTHON_STDLIB = [
  'Procfile web: runs python3 (no marker file of any stack): python',
  'no requirements.txt, Pipfile, pyproject.toml or setup.py: nothing is installed (the standard library only)',
  'no runtime.txt or .python-version: Python 3.11',
  'Procfile: process types web',
];

const CASES: Record<string, Expected> = {
  'python-stdlib': {
    stack: 'python',
    processes: { web: 'python3 -u web.py' },
    processSource: 'Procfile',
    reasons: PYTHON_STDLIB,
    warnings: [],
    baseImage: 'python:3.11-slim-bookworm',
    install: [],
    build: [],
  },
  'python-hooks': {
    stack: 'python',
    processes: { web: 'python3 -u web.py' },
    processSource: 'Procfile',
    reasons: [
      PYTHON_STDLIB[0]!, PYTHON_STDLIB[1]!,
      "bin/pre_compile: run in the build (Heroku's python hook), after the dependencies are installed",
      "bin/post_compile: run in the build (Heroku's python hook)",
      PYTHON_STDLIB[2]!, PYTHON_STDLIB[3]!,
    ],
    warnings: [],
    baseImage: 'python:3.11-slim-bookworm',
    install: [],
    build: ['chmod +x bin/pre_compile && bin/pre_compile', 'chmod +x bin/post_compile && bin/post_compile'],
  },
  'flask-gunicorn': {
    stack: 'python',
    processes: { web: 'gunicorn app:app' },
    processSource: 'Procfile',
    reasons: ['requirements.txt found: python', 'requirements.txt: package manager pip', 'runtime.txt "python-3.11.9": Python 3.11', 'Procfile: process types web'],
    warnings: [],
    baseImage: 'python:3.11-slim-bookworm',
    install: ['pip install --no-cache-dir -r requirements.txt'],
    build: [],
  },
  django: {
    stack: 'python',
    processes: { release: 'python manage.py check --deploy', web: 'gunicorn hello.wsgi --log-file -' },
    processSource: 'Procfile',
    reasons: ['requirements.txt found: python', 'requirements.txt: package manager pip', '.python-version "3.11": Python 3.11', 'Procfile: process types release, web'],
    warnings: [],
    baseImage: 'python:3.11-slim-bookworm',
    install: ['pip install --no-cache-dir -r requirements.txt'],
    build: [],
  },
  'go-module': {
    stack: 'go',
    processes: { web: 'bin/go-getting-started' },
    processSource: 'Procfile',
    reasons: ['go.mod found: go', 'go.mod go 1.19: Go 1.19', 'package main at the root: builds bin/go-getting-started', 'Procfile: process types web'],
    warnings: [],
    baseImage: 'golang:1.19-bookworm',
    install: ['go mod download'],
    build: ['CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/go-getting-started .'],
  },
  'go-godeps': {
    stack: 'go',
    processes: { web: 'go-getting-started' },
    processSource: 'Procfile',
    reasons: [
      'Godeps/Godeps.json found: go',
      'Godeps/Godeps.json: import path github.com/heroku/go-getting-started',
      'package main at the root: builds bin/go-getting-started',
      'no go.mod: built in GOPATH mode as github.com/heroku/go-getting-started, nothing is downloaded',
      'Procfile: process types web',
    ],
    warnings: ['Godeps/Godeps.json GoVersion 1.6: paas has no image for Go 1.6, building with Go 1.19, the nearest'],
    baseImage: 'golang:1.19-bookworm',
    install: [],
    build: [
      'mkdir -p /go/src/github.com/heroku',
      'cp -a /app /go/src/github.com/heroku/go-getting-started',
      'cd /go/src/github.com/heroku/go-getting-started',
      'GO111MODULE=off GOPATH=/go CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/go-getting-started .',
    ],
  },
  'go-godir': {
    stack: 'go',
    processes: { web: 'web' },
    processSource: 'Procfile',
    reasons: [
      '.godir found: go',
      '.godir: import path web',
      '.godir names no Go version: Go 1.19',
      'package main at the root: builds bin/web',
      'no go.mod: built in GOPATH mode as web, nothing is downloaded',
      'Procfile: process types web',
    ],
    warnings: [],
    baseImage: 'golang:1.19-bookworm',
    install: [],
    build: [
      'mkdir -p /go/src',
      'cp -a /app /go/src/web',
      'cd /go/src/web',
      'GO111MODULE=off GOPATH=/go CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/web .',
    ],
  },
  'node-busy-procfile': {
    stack: 'node',
    processes: {
      web: 'node index.js',
      worker: 'node worker.js # one per dyno',
      release: 'node migrate.js',
      clock: 'echo "clock #1" && node worker.js',
    },
    processSource: 'Procfile',
    reasons: ['package.json found: node', 'no lockfile: package manager npm', 'package.json engines.node "20.x": Node.js 20', 'Procfile: process types web, worker, release, clock'],
    warnings: [],
    baseImage: 'node:20-bookworm-slim',
    install: ['npm install --omit=dev'],
    build: [],
  },
  'node-worker-only': {
    stack: 'node',
    processes: { worker: 'node worker.js' },
    processSource: 'Procfile',
    reasons: [
      'package.json found: node',
      'no lockfile: package manager npm',
      'no engines.node in package.json, .nvmrc or .node-version: Node.js 20',
      'Procfile: process types worker',
      'Procfile has no web type and the node app has no start command: no web process, nothing is routed (web=0)',
    ],
    warnings: [],
    baseImage: 'node:20-bookworm-slim',
    install: ['npm install --omit=dev'],
    build: [],
  },
  'ruby-rack': {
    stack: 'ruby',
    processes: { web: 'bundle exec puma -p ${PORT:-5000} config.ru' },
    processSource: 'Procfile',
    reasons: ['Gemfile found: ruby', 'no Ruby version in Gemfile or .ruby-version: Ruby 3.1', 'Procfile: process types web'],
    warnings: [],
    baseImage: 'ruby:3.1-slim-bookworm',
    install: ["bundle config set --local without 'development test'", 'bundle install --jobs 4'],
    build: [],
  },
  'static-site': {
    stack: 'static',
    processes: { web: "nginx -g 'daemon off;'" },
    processSource: 'static site (nginx)',
    reasons: ['index.html found: static', 'index.html: serves the app directory with nginx'],
    warnings: [],
    baseImage: 'nginx:1.22',
    install: [],
    build: [],
  },
  'dockerfile-procfile': {
    stack: 'dockerfile',
    processes: { web: 'node server.js', worker: 'node worker.js' },
    processSource: 'Procfile',
    reasons: ['Dockerfile found: built as is', 'Dockerfile EXPOSE 5000: port 5000', 'Procfile: process types web, worker'],
    warnings: [],
    baseImage: 'node:20-bookworm-slim',
    install: [],
    build: [],
  },
  'appjson-cron': {
    stack: 'python',
    processes: { web: 'python3 -u web.py' },
    processSource: 'Procfile',
    reasons: [
      ...PYTHON_STDLIB, 'app.json healthchecks.web[0]: health check GET /',
      'app.json cron: 266fe726 (* * * * *), 390946a2 (@daily)',
      'app.json scripts.dokku.predeploy, scripts.dokku.postdeploy, scripts.postdeploy',
    ],
    warnings: [],
    baseImage: 'python:3.11-slim-bookworm',
    install: [],
    build: [],
  },
};

describe('fixtures: apps written for Heroku or Dokku', () => {
  it.each(Object.entries(CASES))('%s', async (name, expected) => {
    const plan = await detectFixture(name);
    expect({
      stack: plan.stack,
      processes: plan.processes,
      processSource: plan.processSource,
      reasons: plan.reasons,
      warnings: plan.warnings,
      baseImage: plan.baseImage,
      install: plan.install,
      build: plan.build,
    }).toEqual(expected);
    // The order of the process types is the Procfile's.
    expect(Object.keys(plan.processes)).toEqual(Object.keys(expected.processes));
  });

  it('covers every fixture directory', async () => {
    const dirs = (await readdir(FIXTURES, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(dirs).toEqual(Object.keys(CASES).sort());
  });
});
