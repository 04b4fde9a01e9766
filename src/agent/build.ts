import { spawn } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { PaasError } from '../errors.js';
import { checkVariableName } from '../config/validators.js';
import { docker } from './exec.js';
import { apiName, engineGet } from './engine.js';
import type { Emit } from './rollout.js';

/** What the client sends before the context archive of a build on the host. */
export interface HostBuildRequest {
  /** Image references the Dockerfile starts FROM; all must be on this host. */
  requires: string[];
  /** Path of the Dockerfile inside the archive. */
  dockerfile: string;
  buildArgs: Record<string, string>;
}

const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/i;
const CONTEXT_PATH = /^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/;

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
  if (problems.length) throw new PaasError('usage', 'the build request is invalid', { details: problems });
}

/** Which of these image references this host's engine lacks. */
export async function missingImages(refs: string[]): Promise<string[]> {
  const present = await Promise.all(refs.map(async (ref) => (await engineGet(`/images/${apiName(ref)}/json`)).status === 200));
  return refs.filter((_, i) => !present[i]);
}

/** Engines whose CLI lacks BuildKit (23+ without the buildx plugin) say so; the classic builder still works. */
const NO_BUILDKIT = /buildx component is missing|BuildKit is enabled but/i;

/** Lines of BuildKit's plain progress worth showing: the steps and their failures. */
function stepLine(line: string): string | undefined {
  const step = /^#\d+ \[([^\]]+)\] (.*)$/.exec(line);
  if (step) return `[${step[1]}] ${step[2]}`;
  if (/^Step \d+\/\d+ : /.test(line)) return line;
  if (/^#\d+ (ERROR|CACHED)/.test(line)) return line.replace(/^#\d+ /, '');
  return undefined;
}

/**
 * Spools a build context archive (tar, gzip or not) to a temp file: a second builder can read it
 * again, and the build never depends on the connection staying up once the bytes are in.
 * `receive` writes the archive into the file's stream and ends it.
 */
export async function spoolArchive(receive: (sink: Writable) => Promise<void>): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-build-'));
  const remove = () => fs.rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'context');
    const sink = createWriteStream(file, { mode: 0o600 });
    await Promise.all([receive(sink), finished(sink)]);
    return { file, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Builds an image on this host's engine from a spooled context archive, tags it and returns its ID. */
export function hostBuild(archive: string, request: HostBuildRequest, tag: string, emit: Emit): Promise<string> {
  validateBuildRequest(request);
  return build({ dockerfile: request.dockerfile, tag, buildArgs: request.buildArgs, context: '-', archive, idFile: path.join(path.dirname(archive), 'id'), again: 'deploy' }, emit);
}

/** Builds from a directory on this host (a pushed revision): `docker build -f FILE DIR`. */
export function hostBuildDir(dir: string, dockerfile: string, tag: string, buildArgs: Record<string, string>, emit: Emit): Promise<string> {
  return build({ dockerfile, tag, buildArgs, context: dir, idFile: path.join(dir, '.paas', 'image-id'), again: 'push' }, emit);
}

interface BuildJob {
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  /** A directory, or '-' for the archive on stdin. */
  context: string;
  archive?: string;
  idFile: string;
  /** What the user does after fixing a failed step. */
  again: 'deploy' | 'push';
}

/** `docker build` with BuildKit, or the classic builder where the CLI has no BuildKit; returns the image ID. */
async function build(job: BuildJob, emit: Emit): Promise<string> {
  if (!IMAGE_REF.test(job.tag)) throw new PaasError('usage', `${JSON.stringify(job.tag)} is not an image reference`);
  const args = [
    '--file', job.dockerfile, '--tag', job.tag, '--iidfile', job.idFile,
    ...Object.entries(job.buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]),
    job.context,
  ];
  let result = await runBuild(['build', '--progress', 'plain', ...args], job.archive, { DOCKER_BUILDKIT: '1' }, emit);
  if (result.code !== 0 && NO_BUILDKIT.test(result.tail.join('\n'))) {
    emit('BuildKit is not available here: building with the classic builder', 'build');
    result = await runBuild(['build', ...args], job.archive, { DOCKER_BUILDKIT: '0' }, emit);
  }
  if (result.code !== 0) {
    const missingBase = /pull access denied|failed to resolve source metadata|no such host|failed to do request/i.test(result.tail.join('\n'));
    throw new PaasError('build', 'the build on the host failed', {
      details: result.tail.slice(-20),
      hint: missingBase
        ? 'the host could not get a base image: run `paas host:setup --images` in the app\'s directory to send them from your machine'
        : `the lines above are the end of the build output; fix the step that failed and ${job.again} again`,
    });
  }
  return (await fs.readFile(job.idFile, 'utf8')).trim();
}

async function runBuild(args: string[], archive: string | undefined, env: Record<string, string>, emit: Emit): Promise<{ code: number; tail: string[] }> {
  const input = archive ? await fs.open(archive, 'r') : undefined;
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn('docker', args, { env: { ...process.env, ...env }, stdio: [input ? input.fd : 'ignore', 'pipe', 'pipe'] });
      const tail: string[] = [];
      let partial = '';
      const onChunk = (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > 60) tail.shift();
          const shown = stepLine(line);
          if (shown) emit(shown, 'build');
        }
      };
      child.stdout!.on('data', onChunk);
      child.stderr!.on('data', onChunk);
      child.on('error', reject);
      child.on('close', (code) => {
        if (partial.trim()) tail.push(partial);
        resolve({ code: code ?? -1, tail });
      });
    });
  } finally {
    await input?.close();
  }
}

/** Dependency images of an app other than `keep` (older `paas/<app>:deps-*` tags), to prune. */
export async function staleDepsImages(app: string, keep: string): Promise<string[]> {
  const { stdout } = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', `paas/${app}`], { check: false });
  return stdout.split('\n').filter((ref) => ref.startsWith(`paas/${app}:deps-`) && ref !== keep);
}
