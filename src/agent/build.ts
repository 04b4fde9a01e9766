import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import { checkVariableName } from '../config/validators.js';
import { buildArgv, classicBuildArgv, imageTagsArgv } from '../release/docker.js';
import { docker, start } from './exec.js';
import { apiName, engineGet } from './engine.js';
import { alive } from './lock.js';
import { extractTree, type ExtractedTree, type TreeRules } from './tree.js';
import { BUILDS_DIR, writeAtomic, writeError } from './state.js';
import type { Emit, HostBuildRequest } from './protocol.js';

export type { HostBuildRequest };

export const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/i;
const CONTEXT_PATH = /^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/;
/** A build that runs longer is stopped (a `RUN sleep infinity` must not hold the app's lock for ever). */
export const DEFAULT_BUILD_MS = 30 * 60_000;
export const MAX_BUILD_MS = 6 * 60 * 60_000;

export function validateBuildRequest(request: HostBuildRequest): void {
  const problems: string[] = [];
  for (const ref of request.requires) if (!IMAGE_REF.test(ref)) problems.push(`requires: ${JSON.stringify(ref)} is not an image reference`);
  if (!CONTEXT_PATH.test(request.dockerfile) || request.dockerfile.split('/').includes('..')) {
    problems.push(`dockerfile: ${JSON.stringify(request.dockerfile)} is not a path inside the context`);
  }
  for (const key of Object.keys(request.buildArgs)) {
    const problem = checkVariableName(key);
    if (problem) problems.push(`buildArgs: ${problem}`);
  }
  if (request.timeoutMs !== undefined && !(Number.isInteger(request.timeoutMs) && request.timeoutMs >= 1000 && request.timeoutMs <= MAX_BUILD_MS)) {
    problems.push(`timeoutMs: expected a whole number of milliseconds from 1000 to ${MAX_BUILD_MS}`);
  }
  if (problems.length) throw new PaasError('usage', 'the build request is invalid', { details: problems });
}

/** Which of these image references this host's engine lacks. */
export async function missingImages(refs: string[]): Promise<string[]> {
  const present = await Promise.all(refs.map(async (ref) => (await engineGet(`/images/${apiName(ref)}/json`)).status === 200));
  return refs.filter((_, i) => !present[i]);
}

/** Engines whose CLI lacks BuildKit (23+ without the buildx plugin) say so; the classic builder still works. */
const NO_BUILDKIT = /buildx component is missing|BuildKit is enabled but/i;
const NO_SPACE = /no space left on device/i;
/** What the classic builder says of a Dockerfile only BuildKit builds. */
export const NEEDS_BUILDKIT = /requires BuildKit|unknown flag: (mount|chmod|link|checksum|parents|exclude)|option requires BuildKit/i;

/** Lines of BuildKit's plain progress worth showing: the steps and their failures. */
function stepLine(line: string): string | undefined {
  const step = /^#\d+ \[([^\]]+)\] (.*)$/.exec(line);
  if (step) return `[${step[1]}] ${step[2]}`;
  if (/^Step \d+\/\d+ : /.test(line)) return line;
  if (/^#\d+ (ERROR|CACHED)/.test(line)) return line.replace(/^#\d+ /, '');
  return undefined;
}

/**
 * The work directory of one build on this host: BUILDS_DIR/<pid>-<random>/, root only. The tree
 * goes into `tree` (tree.ts); the Dockerfile and the image ID file sit beside it, outside the
 * tree, so nothing in the tree can redirect them. An agent that dies leaves it behind; the next
 * one removes directories whose process is gone (leftoverBuilds).
 */
export interface BuildDir {
  dir: string;
  tree: string;
  remove: () => Promise<void>;
}

export async function newBuildDir(): Promise<BuildDir> {
  const dir = path.join(BUILDS_DIR, `${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(BUILDS_DIR, { recursive: true, mode: 0o700 });
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.mkdir(path.join(dir, 'tree'), { mode: 0o755 });
  } catch (error) {
    throw writeError(error, dir);
  }
  return { dir, tree: path.join(dir, 'tree'), remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Build directories of agents that are gone. */
export async function leftoverBuilds(): Promise<string[]> {
  const names = await fs.readdir(BUILDS_DIR).catch(() => [] as string[]);
  return names.filter((name) => {
    const pid = Number(/^(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    return pid > 0 && pid !== process.pid && !alive(pid);
  }).map((name) => path.join(BUILDS_DIR, name));
}

/** Unpacks a tree into the build directory (tree.ts), telling the user about links it left out. */
export async function unpackTree(input: Readable, build: BuildDir, rules: TreeRules & { what: string }, emit: Emit): Promise<ExtractedTree> {
  const tree = await extractTree(input, build.tree, rules);
  if (tree.dropped.length) {
    const shown = tree.dropped.slice(0, 5).join(', ');
    emit(`left out ${tree.dropped.length} symbolic link(s) that lead outside the app: ${shown}${tree.dropped.length > 5 ? ', ...' : ''}`, 'build');
  }
  return tree;
}

export interface TreeBuild {
  dockerfile: string;
  /** The app's .dockerignore rules (the tree is still filtered by them). */
  dockerignore: string;
  tag: string;
  buildArgs: Record<string, string>;
  timeoutMs?: number;
  /** What the user does after fixing a failed step. */
  again: 'deploy' | 'push';
}

/**
 * Builds the unpacked tree: `docker build --file <dir>/Dockerfile <dir>/tree`, with BuildKit, or
 * the classic builder where the CLI has no BuildKit; returns the image ID. The tree's
 * .dockerignore (written here, exclusively: the tree's own was never unpacked) lists itself, so
 * neither it nor the Dockerfile ends up in the image (a static app serves its tree).
 */
export async function buildTree(build: BuildDir, job: TreeBuild, emit: Emit): Promise<string> {
  if (!IMAGE_REF.test(job.tag)) throw new PaasError('usage', `${JSON.stringify(job.tag)} is not an image reference`);
  const dockerfile = path.join(build.dir, 'Dockerfile');
  const idFile = path.join(build.dir, 'image-id');
  await writeAtomic(dockerfile, job.dockerfile, 0o600);
  const ignoreFile = path.join(build.tree, '.dockerignore');
  const ignore = `${job.dockerignore.trimEnd()}\n.dockerignore\n`;
  const handle = await fs.open(ignoreFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644)
    .catch((error: unknown) => { throw writeError(error, ignoreFile); });
  try {
    await handle.writeFile(ignore);
  } finally {
    await handle.close();
  }
  const timeoutMs = Math.min(job.timeoutMs ?? DEFAULT_BUILD_MS, MAX_BUILD_MS);
  const argv = { dockerfile, tag: job.tag, idFile, buildArgs: job.buildArgs, context: build.tree };
  let result = await runBuild(buildArgv(argv), { DOCKER_BUILDKIT: '1' }, emit, timeoutMs);
  let classic = false;
  if (result.code !== 0 && !result.timedOut && NO_BUILDKIT.test(result.tail.join('\n'))) {
    emit('BuildKit is not available here: building with the classic builder', 'build');
    classic = true;
    result = await runBuild(classicBuildArgv(argv), { DOCKER_BUILDKIT: '0' }, emit, timeoutMs);
  }
  if (classic && result.code !== 0 && NEEDS_BUILDKIT.test(result.tail.join('\n'))) {
    throw new PaasError('build', 'the Dockerfile needs BuildKit (RUN --mount, heredocs or another BuildKit-only instruction), and this host can build only with the classic builder', {
      details: result.tail.slice(-5),
      hint: 'install the buildx plugin on the host (Debian and Ubuntu: `apt-get install docker-buildx`; Docker\'s own packages: docker-buildx-plugin), or keep the lines below `# paas:source` to plain Dockerfile syntax',
    });
  }
  if (result.timedOut) {
    const limit = timeoutMs >= 60_000 ? `${Math.round(timeoutMs / 60_000)} min` : `${Math.round(timeoutMs / 1000)} s`;
    throw new PaasError('build', `the build on the host ran longer than ${limit} and was stopped`, {
      details: result.tail.slice(-10),
      hint: `make the step that hangs finish (the lines above are the last of its output), or give it longer: build: { timeout: 1h } in paas.yml (at most ${MAX_BUILD_MS / 3_600_000} h)`,
    });
  }
  if (result.code !== 0) {
    const tail = result.tail.join('\n');
    const missingBase = /pull access denied|failed to resolve source metadata|no such host|failed to do request/i.test(tail);
    throw new PaasError('build', NO_SPACE.test(tail) ? 'the build on the host failed: the disk of the Docker Engine is full' : 'the build on the host failed', {
      details: result.tail.slice(-20),
      hint: NO_SPACE.test(tail)
        ? 'free space on the host (`df -h /var/lib/docker`; `docker system prune` removes unused images and build cache), then deploy again'
        : missingBase
          ? 'the host could not get a base image: run `paas host:setup --images` in the app\'s directory to send them from your machine'
          : `the lines above are the end of the build output; fix the step that failed and ${job.again} again`,
    });
  }
  return (await fs.readFile(idFile, 'utf8')).trim();
}

async function runBuild(args: string[], extraEnv: Record<string, string>, emit: Emit, timeoutMs: number): Promise<{ code: number; tail: string[]; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = start('docker', args, ['ignore', 'pipe', 'pipe'], extraEnv);
    const tail: string[] = [];
    let timedOut = false;
    // Killing the client cancels the build in the engine (BuildKit's session ends; the classic builder's request goes away).
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    const onLine = (line: string) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 60) tail.shift();
      const shown = stepLine(line);
      if (shown) emit(shown, 'build');
    };
    // readline decodes UTF-8 across chunks: a character split between two reads stays whole.
    let open = 2;
    const closed = new Promise<void>((done) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine).on('close', () => { open -= 1; if (open === 0) done(); });
      }
    });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code) => {
      clearTimeout(timer);
      void closed.then(() => resolve({ code: code ?? -1, tail, timedOut }));
    });
  });
}

/** Dependency images of an app other than `keep` (older `paas/<app>:deps-*` tags), to prune. */
export async function staleDepsImages(app: string, keep: string): Promise<string[]> {
  const { stdout } = await docker(imageTagsArgv(`paas/${app}`), { check: false, timeoutMs: 60_000 });
  return stdout.split('\n').filter((ref) => ref.startsWith(`paas/${app}:deps-`) && ref !== keep);
}
