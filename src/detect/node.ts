import { promises as fs } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { PaasError } from '../errors.js';
import { exists } from '../util/fs.js';
import type { AppDir } from './appdir.js';
import { isObject, objectField, stringField } from './parse.js';
import { quoteArg } from '../util/shell.js';
import { type Notes, type StackDetector, type StackPlan, type StartCommand } from './stack.js';
import { DEFAULT_PORT } from './types.js';
import { nearestMajor, SUPPORTED_VERSIONS } from './versions.js';

type NodeManager = 'npm' | 'yarn' | 'yarn-berry' | 'pnpm';
/** Which tool a lockfile belongs to (yarn covers classic and berry). */
type LockFamily = 'npm' | 'yarn' | 'pnpm' | 'bun';

interface Lockfile {
  /** Path relative to the app directory ("pnpm-lock.yaml", "../../pnpm-lock.yaml"). */
  relative: string;
  /** Absolute directory holding it. */
  dir: string;
  inApp: boolean;
  family: LockFamily;
}

type PackageJson = Record<string, unknown>;

/** Majors with images, in order of preference when engines.node allows several; the first is the default. */
const NODE_MAJORS = SUPPORTED_VERSIONS.node.map(Number);
const DEFAULT_NODE_MAJOR = NODE_MAJORS[0]!;
/** nvm's names of LTS lines, as .nvmrc may write them ("lts/iron"). */
const LTS_CODENAMES: Record<string, number> = { hydrogen: 18, iron: 20, jod: 22, krypton: 24 };
/** Highest major considered when reading what a range allows. */
const LAST_MAJOR = 40;
export const NODE_DEFAULT_IMAGE = nodeImage(DEFAULT_NODE_MAJOR);

/** In order of precedence when a directory has several. */
const LOCKFILES: ReadonlyArray<{ file: string; family: LockFamily }> = [
  { file: 'pnpm-lock.yaml', family: 'pnpm' },
  { file: 'yarn.lock', family: 'yarn' },
  { file: 'package-lock.json', family: 'npm' },
  { file: 'npm-shrinkwrap.json', family: 'npm' },
  { file: 'bun.lockb', family: 'bun' },
  { file: 'bun.lock', family: 'bun' },
];

export const nodeDetector: StackDetector = {
  stack: 'node',
  markers: ['package.json'],
  plan: planNode,
};

async function planNode(app: AppDir, notes: Notes): Promise<StackPlan> {
  const pkg = await readPackageJson(app);
  const declared = declaredManager(pkg, notes);
  const lockfile = await findLockfile(app, declared && familyOf(declared), notes);
  const manager = declared ?? (lockfile ? await managerOfLockfile(lockfile, notes) : undefined) ?? 'npm';
  if (!lockfile && !declared) notes.reasons.push('no lockfile: package manager npm');
  const frozen = lockfile?.family === familyOf(manager) && lockfile.inApp;
  if (lockfile) warnAboutUnusedLockfile(lockfile, manager, declared !== undefined, notes);
  if (manager === 'yarn-berry') await warnAboutYarnPath(app, notes);
  const commands = installAndBuild(manager, frozen, buildScript(pkg, notes));
  const workspaces = await workspaceManifest(app, pkg);
  if (workspaces) {
    // The install needs every workspace package's package.json: it runs after the whole source is copied.
    notes.warnings.push(`${workspaces} declares workspaces: dependencies install after the source is copied, so every code change reinstalls them (eject with "paas init --eject" to copy the workspace manifests first)`);
  }
  return {
    packageManager: manager,
    baseImage: nodeImage(await nodeMajor(app, pkg, notes)),
    ...(workspaces
      ? { manifests: [], install: [], build: [...commands.install, ...commands.build] }
      : { manifests: await manifests(app, manager, frozen ? lockfile.relative : undefined), ...commands }),
    port: DEFAULT_PORT,
    start: (startNotes) => startCommand(app, pkg, startNotes),
  };
}

/** The file that lists workspace packages (npm/yarn `workspaces`, pnpm-workspace.yaml `packages`), if any. */
async function workspaceManifest(app: AppDir, pkg: PackageJson): Promise<string | undefined> {
  const listsPackages = (value: unknown): boolean =>
    (Array.isArray(value) && value.length > 0) || (isObject(value) && listsPackages(value.packages));
  if (listsPackages(pkg.workspaces)) return 'package.json';
  if (!(await app.exists('pnpm-workspace.yaml'))) return undefined;
  const pnpmWorkspace = await app.readYaml('pnpm-workspace.yaml');
  return isObject(pnpmWorkspace) && listsPackages(pnpmWorkspace.packages) ? 'pnpm-workspace.yaml' : undefined;
}

async function readPackageJson(app: AppDir): Promise<PackageJson> {
  const pkg = await app.readJson('package.json');
  if (!isObject(pkg)) {
    throw new PaasError('config', 'package.json must hold a JSON object', {
      where: app.path('package.json'),
      hint: 'make package.json an object, e.g. {"name": "app", "scripts": {"start": "node server.js"}}',
    });
  }
  // The fields that choose what runs: one of the wrong type would be skipped, and another command run instead.
  const wrongType = (what: string, expected: string, value: unknown) => new PaasError('config', `package.json ${what} must be ${expected}, got ${describeJson(value)}`, {
    where: app.path('package.json'),
    hint: `fix ${what} in package.json, e.g. "scripts": {"start": "node server.js"}`,
  });
  if (pkg.scripts !== undefined) {
    if (!isObject(pkg.scripts)) throw wrongType('scripts', 'an object of script names and commands', pkg.scripts);
    for (const [name, command] of Object.entries(pkg.scripts)) {
      const label = /^[\w:.-]{1,40}$/.test(name) ? `scripts.${name}` : `scripts[${JSON.stringify(name.slice(0, 40))}]`;
      if (typeof command !== 'string') throw wrongType(label, 'a string (a command)', command);
    }
  }
  if (pkg.main !== undefined && typeof pkg.main !== 'string') throw wrongType('main', 'a string (a file of the app)', pkg.main);
  return pkg;
}

/** A JSON value as shown in a message: its type, and a short spelling of it. */
function describeJson(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  const text = JSON.stringify(value) ?? String(value);
  return `${type} (${text.length > 40 ? `${text.slice(0, 39)}…` : text})`;
}

function nodeImage(major: number): string {
  return `node:${major}-bookworm-slim`;
}

/** The `packageManager` field (corepack's "name@version"), when it names a manager paas supports. */
function declaredManager(pkg: PackageJson, notes: Notes): NodeManager | undefined {
  const field = pkg.packageManager;
  if (field === undefined) return undefined;
  const match = typeof field === 'string' ? /^(npm|pnpm|yarn|bun)@(\d+)/.exec(field) : null;
  if (!match) {
    notes.warnings.push(`package.json packageManager ${JSON.stringify(field)} is not "<name>@<version>": ignored`);
    return undefined;
  }
  const [, name, major] = match;
  if (name === 'bun') {
    notes.warnings.push(`package.json packageManager "${field}": bun is not supported, dependencies are installed with npm`);
    return 'npm';
  }
  const manager: NodeManager = name === 'yarn' && Number(major) >= 2 ? 'yarn-berry' : (name as NodeManager);
  notes.reasons.push(`package.json packageManager "${field}": package manager ${manager}`);
  return manager;
}

function familyOf(manager: NodeManager): LockFamily {
  return manager === 'yarn-berry' ? 'yarn' : manager;
}

/**
 * The app's lockfile (the one of `preferred` when there are several), else, when the app is in a
 * git repository, one in a parent directory up to the repository's root — a workspace member.
 * Never above that: outside a repository (a checkout on a host) only the app directory counts.
 */
async function findLockfile(app: AppDir, preferred: LockFamily | undefined, notes: Notes): Promise<Lockfile | undefined> {
  const inApp = await lockfilesIn(app.root);
  if (inApp.length > 1 && !preferred) {
    notes.warnings.push(`several lockfiles (${inApp.map((l) => l.file).join(', ')}): using ${inApp[0]!.file}; delete the others`);
  }
  const top = (await repositoryRoot(app.root)) ?? app.root;
  let dir = app.root;
  let found = inApp;
  while (found.length === 0 && dir !== top) {
    dir = path.dirname(dir);
    found = await lockfilesIn(dir);
  }
  const chosen = found.find((l) => l.family === preferred) ?? found[0];
  if (!chosen) return undefined;
  return { relative: path.relative(app.root, path.join(dir, chosen.file)), dir, inApp: dir === app.root, family: chosen.family };
}

/**
 * The nearest directory at or above `dir` holding a .git that the owner of `dir` owns (as git's
 * safe.directory: a .git another user made in a shared parent such as /tmp is no repository of the app's).
 */
async function repositoryRoot(dir: string): Promise<string | undefined> {
  const owner = (await fs.stat(dir)).uid;
  for (let at = dir; ; at = path.dirname(at)) {
    const git = await fs.lstat(path.join(at, '.git')).catch(() => undefined);
    if (git?.uid === owner) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

async function lockfilesIn(dir: string): Promise<typeof LOCKFILES> {
  const found = await Promise.all(LOCKFILES.map((lockfile) => exists(path.join(dir, lockfile.file))));
  return LOCKFILES.filter((_, index) => found[index]);
}

async function managerOfLockfile(lockfile: Lockfile, notes: Notes): Promise<NodeManager> {
  if (lockfile.family === 'bun') {
    notes.warnings.push(`${lockfile.relative}: bun is not supported, dependencies are installed with npm`);
    return 'npm';
  }
  const berry = lockfile.family === 'yarn' && (await exists(path.join(lockfile.dir, '.yarnrc.yml')));
  const manager: NodeManager = berry ? 'yarn-berry' : lockfile.family;
  notes.reasons.push(`${lockfile.relative}${berry ? ' with .yarnrc.yml' : ''}: package manager ${manager}`);
  return manager;
}

function warnAboutUnusedLockfile(lockfile: Lockfile, manager: NodeManager, declared: boolean, notes: Notes): void {
  if (lockfile.family !== familyOf(manager)) {
    if (declared) notes.warnings.push(`${lockfile.relative} is not used: packageManager names ${manager}`);
  } else if (!lockfile.inApp) {
    notes.warnings.push(
      `the lockfile at ${lockfile.relative} is outside the build context: dependencies are installed without it (non-frozen install)`,
    );
  }
}

/** Manifests are copied before the source, so a yarnPath release under .yarn/ is not there yet at install time. */
async function warnAboutYarnPath(app: AppDir, notes: Notes): Promise<void> {
  const yarnPath = /^yarnPath:\s*["']?([^"'\s]+)/m.exec((await app.read('.yarnrc.yml')) ?? '')?.[1];
  if (yarnPath) {
    notes.warnings.push(
      `.yarnrc.yml sets yarnPath ${yarnPath}, which is not present when dependencies are installed: remove yarnPath and set "packageManager" in package.json (corepack provides yarn)`,
    );
  }
}

/** Heroku runs `heroku-postbuild` instead of `build` when both exist. */
function buildScript(pkg: PackageJson, notes: Notes): string | undefined {
  const scripts = objectField(pkg, 'scripts');
  const name = ['heroku-postbuild', 'build'].find((script) => stringField(scripts, script)?.trim());
  if (name) notes.reasons.push(`package.json scripts.${name}: run after installing dependencies, then dev dependencies are pruned`);
  return name;
}

/** Without a build script only production dependencies are installed; with one, all are, then pruned. */
function installAndBuild(manager: NodeManager, frozen: boolean, script: string | undefined): { install: string[]; build: string[] } {
  const flag = (frozenFlag: string) => (frozen ? ` ${frozenFlag}` : '');
  switch (manager) {
    case 'npm':
      return script
        ? { install: [frozen ? 'npm ci' : 'npm install'], build: [`npm run ${script}`, 'npm prune --omit=dev'] }
        : { install: [frozen ? 'npm ci --omit=dev' : 'npm install --omit=dev'], build: [] };
    case 'yarn':
      return script
        ? {
            install: ['corepack enable', `yarn install${flag('--frozen-lockfile')}`],
            build: [`yarn run ${script}`, `yarn install${flag('--frozen-lockfile')} --production --ignore-scripts --prefer-offline`],
          }
        : { install: ['corepack enable', `yarn install${flag('--frozen-lockfile')} --production`], build: [] };
    case 'yarn-berry':
      return { install: ['corepack enable', `yarn install${flag('--immutable')}`], build: script ? [`yarn run ${script}`] : [] };
    case 'pnpm':
      return script
        ? { install: ['corepack enable', `pnpm install${flag('--frozen-lockfile')}`], build: [`pnpm run ${script}`, 'pnpm prune --prod'] }
        : { install: ['corepack enable', `pnpm install${flag('--frozen-lockfile')} --prod`], build: [] };
  }
}

async function manifests(app: AppDir, manager: NodeManager, lockfile: string | undefined): Promise<string[]> {
  const candidates = ['package.json', lockfile, '.npmrc', '.yarnrc.yml', manager === 'pnpm' ? 'pnpm-workspace.yaml' : undefined];
  const present = await Promise.all(candidates.map(async (file) => (file && (await app.exists(file)) ? file : undefined)));
  return present.filter((file) => file !== undefined);
}

/**
 * The Node.js major for engines.node (else .nvmrc, else .node-version): the preferred one the
 * range allows, else the nearest that has an image, with a warning naming both.
 */
async function nodeMajor(app: AppDir, pkg: PackageJson, notes: Notes): Promise<number> {
  const engines = objectField(pkg, 'engines')?.node;
  const source = engines !== undefined ? { what: 'package.json engines.node', range: engines } : await versionFile(app);
  if (source === undefined) {
    notes.reasons.push(`no engines.node in package.json, .nvmrc or .node-version: Node.js ${DEFAULT_NODE_MAJOR}`);
    return DEFAULT_NODE_MAJOR;
  }
  const { what, range } = source;
  if (typeof range !== 'string' || semver.validRange(range) === null) {
    notes.warnings.push(`${what} ${JSON.stringify(range)} is not a semver range: using Node.js ${DEFAULT_NODE_MAJOR}`);
    return DEFAULT_NODE_MAJOR;
  }
  const major = NODE_MAJORS.find((candidate) => semver.intersects(range, `${candidate}.x`));
  if (major !== undefined) {
    notes.reasons.push(`${what} "${range}": Node.js ${major}`);
    return major;
  }
  const allowed = Array.from({ length: LAST_MAJOR + 1 }, (_, candidate) => candidate).filter((candidate) => semver.intersects(range, `${candidate}.x`));
  const nearest = nearestMajor(allowed, NODE_MAJORS) ?? DEFAULT_NODE_MAJOR;
  notes.warnings.push(`${what} "${range}" allows none of Node.js ${NODE_MAJORS.join(', ')}, the versions paas has images for: using Node.js ${nearest}, the nearest`);
  return nearest;
}

/** nvm's .nvmrc or nodenv's .node-version ("20", "v20.11.1", "lts/iron"), as a semver range. */
async function versionFile(app: AppDir): Promise<{ what: string; range: string } | undefined> {
  for (const file of ['.nvmrc', '.node-version']) {
    const text = await app.read(file);
    if (text === undefined) continue;
    const written = text.split(/\r?\n/).map((line) => line.replace(/#.*/, '').trim()).find(Boolean) ?? '';
    const codename = /^lts\/([a-z]+)$/i.exec(written)?.[1]?.toLowerCase();
    const lts = codename === undefined ? undefined : LTS_CODENAMES[codename];
    return { what: file, range: lts !== undefined ? String(lts) : written.replace(/^v(?=\d)/, '') };
  }
  return undefined;
}

async function startCommand(app: AppDir, pkg: PackageJson, notes: Notes): Promise<StartCommand> {
  const scripts = objectField(pkg, 'scripts');
  const start = stringField(scripts, 'start')?.trim();
  if (start) {
    if (stringField(scripts, 'prestart') === undefined) return { command: start, source: 'package.json scripts.start' };
    notes.reasons.push('package.json has a prestart script: web runs "npm start" so that it runs first');
    return { command: 'npm start', source: 'package.json scripts.start' };
  }
  const main = stringField(pkg, 'main')?.trim();
  if (main) return { command: `node ${quoteArg(main)}`, source: 'package.json main' };
  const file = await app.firstExisting(['server.js', 'index.js']);
  if (file) return { command: `node ${file}`, source: file };
  throw new PaasError('detect', 'the node app has no start command', {
    where: app.path('package.json'),
    details: ['looked for: package.json scripts.start, package.json main, server.js, index.js'],
    hint: 'add scripts.start to package.json (e.g. "start": "node server.js") or a Procfile with a web: line',
  });
}
