import { chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/detect/index.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

const START = { start: 'node server.js' };

describe('node stack', () => {
  it('plans an npm app with a lockfile and no build script', async () => {
    const dir = await makeTree({
      'package.json': json({ name: 'api', scripts: START, engines: { node: '>=18' } }),
      'package-lock.json': json({ lockfileVersion: 3 }),
      '.npmrc': 'fund=false\n',
    });
    expect(await detect(dir)).toEqual({
      stack: 'node',
      reasons: [
        'package.json found: node',
        'package-lock.json: package manager npm',
        'package.json engines.node ">=18": Node.js 20',
      ],
      warnings: [],
      packageManager: 'npm',
      baseImage: 'node:20-bookworm-slim',
      manifests: ['package.json', 'package-lock.json', '.npmrc'],
      install: ['npm ci --omit=dev'],
      build: [],
      processes: { web: 'node server.js' },
      processSource: 'package.json scripts.start',
      port: 8080,
    });
  });

  it('installs everything, builds, then prunes when there is a build script', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { build: 'tsc', start: 'node dist/server.js' } }),
      'npm-shrinkwrap.json': '{}',
    });
    const plan = await detect(dir);
    expect(plan).toMatchObject({
      manifests: ['package.json', 'npm-shrinkwrap.json'],
      install: ['npm ci'],
      build: ['npm run build', 'npm prune --omit=dev'],
    });
    expect(plan.reasons).toContain('package.json scripts.build: run after installing dependencies, then dev dependencies are pruned');
  });

  it('runs heroku-postbuild instead of build', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { build: 'vite build', 'heroku-postbuild': 'npm run build && npm run docs', start: 'node s.js' } }),
    });
    const plan = await detect(dir);
    expect(plan).toMatchObject({
      packageManager: 'npm',
      manifests: ['package.json'],
      install: ['npm install'],
      build: ['npm run heroku-postbuild', 'npm prune --omit=dev'],
    });
    expect(plan.reasons).toContain('no lockfile: package manager npm');
  });

  it('plans a yarn classic app', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: START }), 'yarn.lock': '# yarn lockfile v1\n' });
    expect(await detect(dir)).toEqual({
      stack: 'node',
      reasons: ['package.json found: node', 'yarn.lock: package manager yarn', 'no engines.node in package.json, .nvmrc or .node-version: Node.js 20'],
      warnings: [],
      packageManager: 'yarn',
      baseImage: 'node:20-bookworm-slim',
      manifests: ['package.json', 'yarn.lock'],
      install: ['corepack enable', 'yarn install --frozen-lockfile --production'],
      build: [],
      processes: { web: 'node server.js' },
      processSource: 'package.json scripts.start',
      port: 8080,
    });
  });

  it('reinstalls production dependencies only after a yarn build', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: { ...START, build: 'next build' } }), 'yarn.lock': '' });
    expect(await detect(dir)).toMatchObject({
      install: ['corepack enable', 'yarn install --frozen-lockfile'],
      build: ['yarn run build', 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline'],
    });
  });

  it('plans yarn berry when .yarnrc.yml is there', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { ...START, build: 'tsc' } }),
      'yarn.lock': '__metadata:\n  version: 8\n',
      '.yarnrc.yml': 'nodeLinker: node-modules\n',
    });
    const plan = await detect(dir);
    expect(plan).toMatchObject({
      packageManager: 'yarn-berry',
      manifests: ['package.json', 'yarn.lock', '.yarnrc.yml'],
      install: ['corepack enable', 'yarn install --immutable'],
      build: ['yarn run build'],
    });
    expect(plan.reasons).toContain('yarn.lock with .yarnrc.yml: package manager yarn-berry');
  });

  it('warns when yarn berry is pinned with yarnPath, which is not there at install time', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: START }),
      'yarn.lock': '',
      '.yarnrc.yml': 'yarnPath: .yarn/releases/yarn-3.6.0.cjs\n',
    });
    expect((await detect(dir)).warnings).toEqual([
      '.yarnrc.yml sets yarnPath .yarn/releases/yarn-3.6.0.cjs, which is not present when dependencies are installed: remove yarnPath and set "packageManager" in package.json (corepack provides yarn)',
    ]);
  });

  it('plans a pnpm app with its workspace file', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { ...START, build: 'tsc' } }),
      'pnpm-lock.yaml': "lockfileVersion: '6.0'\n",
      'pnpm-workspace.yaml': 'packages: []\n',
    });
    expect(await detect(dir)).toMatchObject({
      packageManager: 'pnpm',
      manifests: ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml'],
      install: ['corepack enable', 'pnpm install --frozen-lockfile'],
      build: ['pnpm run build', 'pnpm prune --prod'],
    });
  });

  it.each([
    ['npm workspaces', { 'package.json': json({ workspaces: ['packages/*'], scripts: START }), 'package-lock.json': '{}' }, 'package.json', ['npm ci --omit=dev']],
    ['yarn workspaces (object form)', { 'package.json': json({ workspaces: { packages: ['apps/*'] }, scripts: START }), 'yarn.lock': '' }, 'package.json', ['corepack enable', 'yarn install --frozen-lockfile --production']],
    ['pnpm workspace packages', { 'package.json': json({ scripts: START }), 'pnpm-lock.yaml': '', 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n" }, 'pnpm-workspace.yaml', ['corepack enable', 'pnpm install --frozen-lockfile --prod']],
  ])('%s: installs after the whole source is copied, with a warning', async (_name, files, source, commands) => {
    const plan = await detect(await makeTree(files));
    expect(plan).toMatchObject({ manifests: [], install: [], build: commands });
    expect(plan.warnings).toEqual([`${source} declares workspaces: dependencies install after the source is copied, so every code change reinstalls them (eject with "paas init --eject" to copy the workspace manifests first)`]);
  });

  it('installs pnpm production dependencies directly without a build', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: START }), 'pnpm-lock.yaml': '' });
    expect((await detect(dir)).install).toEqual(['corepack enable', 'pnpm install --frozen-lockfile --prod']);
  });

  it.each([
    ['pnpm@8.15.0', 'pnpm'],
    ['yarn@1.22.19', 'yarn'],
    ['yarn@3.6.0', 'yarn-berry'],
    ['yarn@4.1.0+sha256.abc', 'yarn-berry'],
    ['npm@10.2.4', 'npm'],
  ])('takes packageManager "%s" as %s, over the lockfiles', async (field, manager) => {
    const dir = await makeTree({ 'package.json': json({ packageManager: field, scripts: START }), 'package-lock.json': '{}' });
    const plan = await detect(dir);
    expect(plan.packageManager).toBe(manager);
    expect(plan.reasons).toContain(`package.json packageManager "${field}": package manager ${manager}`);
  });

  it('installs without a frozen lockfile when packageManager disagrees with it', async () => {
    const dir = await makeTree({ 'package.json': json({ packageManager: 'pnpm@9.1.0', scripts: START }), 'package-lock.json': '{}' });
    const plan = await detect(dir);
    expect(plan).toMatchObject({ manifests: ['package.json'], install: ['corepack enable', 'pnpm install --prod'] });
    expect(plan.warnings).toEqual(['package-lock.json is not used: packageManager names pnpm']);
  });

  it('prefers the lockfile of the declared manager when there are several', async () => {
    const dir = await makeTree({
      'package.json': json({ packageManager: 'yarn@1.22.19', scripts: START }),
      'pnpm-lock.yaml': '',
      'yarn.lock': '',
    });
    expect(await detect(dir)).toMatchObject({ manifests: ['package.json', 'yarn.lock'], warnings: [] });
  });

  it('warns about several lockfiles and uses pnpm, then yarn, then npm', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: START }), 'package-lock.json': '{}', 'yarn.lock': '' });
    const plan = await detect(dir);
    expect(plan.packageManager).toBe('yarn');
    expect(plan.warnings).toEqual(['several lockfiles (yarn.lock, package-lock.json): using yarn.lock; delete the others']);
  });

  it('installs with npm, with a warning, for bun', async () => {
    const dir = await makeTree({ 'package.json': json({ scripts: START }), 'bun.lockb': '' });
    const plan = await detect(dir);
    expect(plan).toMatchObject({ packageManager: 'npm', manifests: ['package.json'], install: ['npm install --omit=dev'] });
    expect(plan.warnings).toEqual(['bun.lockb: bun is not supported, dependencies are installed with npm']);
  });

  it('ignores a packageManager field it cannot read, with a warning', async () => {
    const dir = await makeTree({ 'package.json': json({ packageManager: 'deno', scripts: START }), 'yarn.lock': '' });
    const plan = await detect(dir);
    expect(plan.packageManager).toBe('yarn');
    expect(plan.warnings).toEqual(['package.json packageManager "deno" is not "<name>@<version>": ignored']);
  });

  describe('in a monorepo', () => {
    it('uses the repository root lockfile to pick the manager, installing without it', async () => {
      const repo = await makeTree({
        'pnpm-lock.yaml': "lockfileVersion: '6.0'\n",
        'package.json': json({ private: true }),
        'apps/web/package.json': json({ scripts: { start: 'next start', build: 'next build' } }),
      });
      const plan = await detect(path.join(repo, 'apps/web'));
      expect(plan).toMatchObject({
        packageManager: 'pnpm',
        manifests: ['package.json'],
        install: ['corepack enable', 'pnpm install'],
        build: ['pnpm run build', 'pnpm prune --prod'],
      });
      expect(plan.reasons).toContain('../../pnpm-lock.yaml: package manager pnpm');
      expect(plan.warnings).toEqual([
        'the lockfile at ../../pnpm-lock.yaml is outside the build context: dependencies are installed without it (non-frozen install)',
      ]);
    });

    it('stops looking at the repository root (.git)', async () => {
      const outer = await makeTree({ 'yarn.lock': '', 'repo/apps/api/package.json': json({ scripts: START }) }, { git: false });
      await mkdir(path.join(outer, 'repo/.git'));
      const plan = await detect(path.join(outer, 'repo/apps/api'));
      expect(plan.packageManager).toBe('npm');
      expect(plan.warnings).toEqual([]);
    });

    it('uses the lockfile at the root of the repository the app is in, and nothing above it', async () => {
      const outer = await makeTree({ 'pnpm-lock.yaml': '', 'repo/package-lock.json': json({ lockfileVersion: 3 }), 'repo/apps/api/package.json': json({ scripts: START }) }, { git: false });
      await mkdir(path.join(outer, 'repo/.git'));
      const plan = await detect(path.join(outer, 'repo/apps/api'));
      expect(plan.packageManager).toBe('npm');
      expect(plan.reasons).toContain('../../package-lock.json: package manager npm');
    });
  });

  describe('outside a git repository', () => {
    it.each([
      ['package-lock.json', json({ lockfileVersion: 3 })],
      ['pnpm-lock.yaml', "lockfileVersion: '6.0'\n"],
      ['yarn.lock', ''],
    ])('does not use a %s in a parent directory (a checkout on a host has no .git)', async (lockfile, content) => {
      const outer = await makeTree({ [lockfile]: content, 'checkout/app/package.json': json({ scripts: START }) }, { git: false });
      const plan = await detect(path.join(outer, 'checkout/app'));
      expect(plan).toMatchObject({ packageManager: 'npm', manifests: ['package.json'], install: ['npm install --omit=dev'] });
      expect(plan.reasons).toContain('no lockfile: package manager npm');
      expect(plan.warnings).toEqual([]);
    });

    it('still uses the app directory\'s own lockfile', async () => {
      const dir = await makeTree({ 'package.json': json({ scripts: START }), 'yarn.lock': '' }, { git: false });
      expect((await detect(dir)).packageManager).toBe('yarn');
    });

    // Like git's safe.directory: a .git someone else made (in a shared /tmp, say) is no repository of the app's.
    it.skipIf(process.getuid?.() !== 0)('ignores a .git that another user owns', async () => {
      const outer = await makeTree({ 'pnpm-lock.yaml': '', 'app/package.json': json({ scripts: START }) }, { git: false });
      await mkdir(path.join(outer, '.git'));
      await chown(path.join(outer, '.git'), 65534, 65534);
      const plan = await detect(path.join(outer, 'app'));
      expect(plan.packageManager).toBe('npm');
      expect(plan.reasons).toContain('no lockfile: package manager npm');
    });
  });

  describe('engines.node', () => {
    it.each([
      ['>=18', 20],
      ['^22', 22],
      ['22.x', 22],
      ['20', 20],
      ['>=24', 24],
      ['^18 || ^20', 20],
    ])('"%s" -> node:%i', async (range, major) => {
      const dir = await makeTree({ 'package.json': json({ engines: { node: range }, scripts: START }) });
      const plan = await detect(dir);
      expect(plan.baseImage).toBe(`node:${major}-bookworm-slim`);
      expect(plan.warnings).toEqual([]);
    });

    it.each([
      ['16.x', 20],
      ['18.x.x', 20],
      ['>=14 <19', 20],
      ['>=25', 24],
    ])('warns and uses the nearest major with an image for "%s" (end-of-life or unknown): node:%i', async (range, major) => {
      const dir = await makeTree({ 'package.json': json({ engines: { node: range }, scripts: START }) });
      const plan = await detect(dir);
      expect(plan.baseImage).toBe(`node:${major}-bookworm-slim`);
      expect(plan.warnings).toEqual([
        `package.json engines.node "${range}" allows none of Node.js 20, 22, 24, the versions paas has images for: using Node.js ${major}, the nearest`,
      ]);
    });

    it.each([
      [{ '.nvmrc': 'v22.11.0\n' }, [], '.nvmrc "22.11.0": Node.js 22'],
      [{ '.nvmrc': 'lts/jod\n', '.node-version': '24' }, [], '.nvmrc "22": Node.js 22'],
      [{ '.node-version': '24.1\n' }, [], '.node-version "24.1": Node.js 24'],
      [
        { '.nvmrc': 'lts/hydrogen\n' },
        ['.nvmrc "18" allows none of Node.js 20, 22, 24, the versions paas has images for: using Node.js 20, the nearest'],
        undefined,
      ],
      [{ '.nvmrc': 'lts/*\n' }, ['.nvmrc "lts/*" is not a semver range: using Node.js 20'], undefined],
    ])('reads %o when package.json has no engines.node', async (files, warnings, reason) => {
      const dir = await makeTree({ 'package.json': json({ scripts: START }), ...files });
      const plan = await detect(dir);
      expect(plan.warnings).toEqual(warnings);
      if (reason) expect(plan.reasons).toContain(reason);
    });

    it('prefers engines.node over .nvmrc', async () => {
      const dir = await makeTree({ 'package.json': json({ engines: { node: '22.x' }, scripts: START }), '.nvmrc': '24\n' });
      expect((await detect(dir)).baseImage).toBe('node:22-bookworm-slim');
    });

    it('warns and uses 20 for an invalid range', async () => {
      const dir = await makeTree({ 'package.json': json({ engines: { node: 'lts/iron' }, scripts: START }) });
      const plan = await detect(dir);
      expect(plan.baseImage).toBe('node:20-bookworm-slim');
      expect(plan.warnings).toEqual(['package.json engines.node "lts/iron" is not a semver range: using Node.js 20']);
    });
  });

  describe('start command', () => {
    it('runs npm start when there is a prestart script', async () => {
      const dir = await makeTree({ 'package.json': json({ scripts: { prestart: 'node migrate.js', start: 'node server.js' } }) });
      const plan = await detect(dir);
      expect(plan.processes).toEqual({ web: 'npm start' });
      expect(plan.processSource).toBe('package.json scripts.start');
      expect(plan.reasons).toContain('package.json has a prestart script: web runs "npm start" so that it runs first');
    });

    it('falls back to main, then server.js, then index.js', async () => {
      const withMain = await makeTree({ 'package.json': json({ main: 'lib/app.js' }), 'server.js': '' });
      expect(await detect(withMain)).toMatchObject({ processes: { web: 'node lib/app.js' }, processSource: 'package.json main' });
      const withServer = await makeTree({ 'package.json': json({}), 'server.js': '', 'index.js': '' });
      expect(await detect(withServer)).toMatchObject({ processes: { web: 'node server.js' }, processSource: 'server.js' });
      const withIndex = await makeTree({ 'package.json': json({}), 'index.js': '' });
      expect(await detect(withIndex)).toMatchObject({ processes: { web: 'node index.js' }, processSource: 'index.js' });
    });

    it('quotes a main path with shell characters', async () => {
      const dir = await makeTree({ 'package.json': json({ main: 'my app.js' }) });
      expect((await detect(dir)).processes).toEqual({ web: "node 'my app.js'" });
    });

    it('fails without any start command', async () => {
      const dir = await makeTree({ 'package.json': json({ name: 'lib' }) });
      const error = await paasError(detect(dir));
      expect(error).toMatchObject({ kind: 'detect', message: 'the node app has no start command', where: `${dir}/package.json` });
      expect(error.hint).toContain('Procfile with a web: line');
    });

    it('needs none when the Procfile has web', async () => {
      const dir = await makeTree({
        'package.json': json({ name: 'app', scripts: { start: 'node server.js' } }),
        Procfile: 'web: node --enable-source-maps dist/main.js\nworker: node dist/worker.js\n',
      });
      expect(await detect(dir)).toMatchObject({
        processes: { web: 'node --enable-source-maps dist/main.js', worker: 'node dist/worker.js' },
        processSource: 'Procfile',
      });
      const noStart = await makeTree({ 'package.json': json({}), Procfile: 'web: node app.js\n' });
      expect((await detect(noStart)).processes).toEqual({ web: 'node app.js' });
    });
  });

  describe('broken package.json', () => {
    it('names the line of a JSON syntax error', async () => {
      const dir = await makeTree({ 'package.json': '{\n  "name": "app",\n  "scripts": {\n    "start": "node s.js",\n  }\n}\n' });
      const error = await paasError(detect(dir));
      expect(error.kind).toBe('config');
      expect(error.where).toBe(`${dir}/package.json:5:3`);
      expect(error.hint).toContain('fix the JSON syntax');
    });

    it('reports a package.json that cannot be read as a file', async () => {
      const dir = await makeTree({ 'package.json/': '' });
      const error = await paasError(detect(dir));
      expect(error).toMatchObject({ kind: 'config', message: 'package.json is a directory, expected a file', where: `${dir}/package.json` });
    });

    it('rejects a package.json that is not an object', async () => {
      const dir = await makeTree({ 'package.json': '["not", "an", "object"]\n' });
      const error = await paasError(detect(dir));
      expect(error).toMatchObject({ kind: 'config', message: 'package.json must hold a JSON object' });
    });

    it.each([
      [{ scripts: 'node server.js' }, 'package.json scripts must be an object of script names and commands, got a string ("node server.js")'],
      [{ scripts: ['node server.js'] }, 'package.json scripts must be an object of script names and commands, got an array (["node server.js"])'],
      [{ scripts: { start: 5 } }, 'package.json scripts.start must be a string (a command), got a number (5)'],
      [{ scripts: { build: { run: 'x' } } }, 'package.json scripts.build must be a string (a command), got an object ({"run":"x"})'],
      [{ scripts: { 'a b\n': null } }, 'package.json scripts["a b\\n"] must be a string (a command), got null (null)'],
      [{ main: ['server.js'] }, 'package.json main must be a string (a file of the app), got an array (["server.js"])'],
    ])('rejects a field that chooses what runs when it has the wrong type: %j', async (pkg, message) => {
      const dir = await makeTree({ 'package.json': json(pkg), 'server.js': '' });
      expect(await paasError(detect(dir))).toMatchObject({ kind: 'config', message, where: `${dir}/package.json` });
    });
  });
});
