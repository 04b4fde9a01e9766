import path from 'node:path';
import type Docker from 'dockerode';
import { PaasError } from '../errors.js';
import type { BuildPlan } from '../detect/types.js';
import { ensureImage, followProgress, type ProgressEvent } from '../docker/engine.js';
import { readAppFile, isDirectory } from '../util/fs.js';
import { createBuildContext } from './context.js';
import { appDockerfile, defaultDockerignore, imageLabels, readTemplate, withLabels } from './dockerfile.js';

export { renderDockerfile, defaultDockerignore, appDockerfile, imageLabels, labelInstruction, withLabels } from './dockerfile.js';

/** Where the generated Dockerfile sits inside the build context (dropped by the builder before COPY). */
export const GENERATED_DOCKERFILE = '.paas/Dockerfile';

export interface BuildStep {
  instruction: string;
  cached: boolean;
}

export interface BuildResult {
  app: string;
  stack: BuildPlan['stack'];
  image: string;
  tags: string[];
  imageId: string;
  sizeBytes: number;
  /** Diff IDs of the image's layers, bottom first. */
  layers: string[];
  steps: BuildStep[];
  durationMs: number;
  commit?: string;
}

export interface BuildOptions {
  dir: string;
  app: string;
  plan: BuildPlan;
  /** Full image reference; default paas/<app>:<git short sha or build time>. */
  tag?: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  /** Every line the builder prints, as it comes. */
  onOutput?: (line: string) => void;
  /** Build this Dockerfile text instead of the app's (labels are still appended). */
  dockerfile?: string;
  /** Labels instead of imageLabels(). */
  labels?: Record<string, string>;
  /** Also tag <repository>:latest (default true). */
  latest?: boolean;
  /** Stops the build (the engine cancels it when the request goes away). */
  signal?: AbortSignal;
  /** The app's git state, when the caller has read it already. */
  git?: GitState;
}

export interface GitState { commit?: string; dirty: boolean }

export async function gitState(dir: string): Promise<GitState> {
  try {
    const { simpleGit } = await import('simple-git');
    const git = simpleGit(dir);
    if (!(await git.checkIsRepo())) return { dirty: false };
    const commit = (await git.revparse(['HEAD'])).trim();
    const status = await git.status(['--porcelain', '--', '.']);
    return { commit, dirty: !status.isClean() };
  } catch {
    // Not a repository, or one with no commits yet.
    return { dirty: false };
  }
}

export function defaultTag(app: string, git: GitState, now = new Date()): string {
  if (git.commit && !git.dirty) return `paas/${app}:${git.commit.slice(0, 12)}`;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `paas/${app}:build-${stamp}`;
}

/**
 * The build context: the app's files minus what .dockerignore excludes, plus the Dockerfile to
 * build at .paas/Dockerfile. The .dockerignore in the archive (the app's own, or the stack's
 * default) also names that file, so the builder drops it before `COPY . .`.
 */
export async function buildContext(dir: string, plan: BuildPlan, dockerfile: string): Promise<NodeJS.ReadableStream> {
  const appIgnore = await readAppFile(path.join(dir, '.dockerignore'));
  const ignore = appIgnore ?? (plan.stack === 'dockerfile' ? readTemplate('dockerignore') : defaultDockerignore(plan));
  // The app's own .dockerignore and .paas/ never travel: paas puts its own there. The
  // .dockerignore sent lists itself and the Dockerfile, so neither ends up in the image.
  return createBuildContext(dir, {
    dockerignore: `${ignore}\n.dockerignore\n.paas\n`,
    extraFiles: {
      [GENERATED_DOCKERFILE]: dockerfile,
      '.dockerignore': `${ignore.trimEnd()}\n${GENERATED_DOCKERFILE}\n.dockerignore\n`,
    },
  });
}

/** Tracks "Step N/M : X" and " ---> Using cache" lines of the legacy builder. */
function stepTracker(onOutput?: (line: string) => void) {
  const steps: BuildStep[] = [];
  const tail: string[] = [];
  let imageId: string | undefined;
  const onEvent = (event: ProgressEvent) => {
    if (event.aux?.ID) imageId = event.aux.ID;
    const text = event.stream ?? event.status ?? '';
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const step = /^Step \d+\/\d+ : (.*)$/.exec(line);
      if (step) steps.push({ instruction: step[1]!, cached: false });
      if (line.includes('---> Using cache') && steps.length) steps[steps.length - 1]!.cached = true;
      const built = /^Successfully built ([0-9a-f]+)/.exec(line);
      if (built && !imageId) imageId = built[1];
      tail.push(line);
      if (tail.length > 40) tail.shift();
      onOutput?.(line);
    }
  };
  return { steps, tail, onEvent, imageId: () => imageId };
}

/** Builds the app's image on the given engine: the app's Dockerfile, or the stack template. */
export async function buildImage(docker: Docker, options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const dir = path.resolve(options.dir);
  if (!(await isDirectory(dir))) throw new PaasError('build', `no such directory: ${dir}`, { hint: 'pass the app directory: paas build DIR' });
  const { plan, app } = options;
  if (plan.stack !== 'dockerfile') {
    await ensureImage(docker, plan.baseImage, `the ${plan.stack} template`);
    if (plan.runtimeImage) await ensureImage(docker, plan.runtimeImage, `the ${plan.stack} template`);
  }
  const git = options.git ?? await gitState(dir);
  const image = options.tag ?? defaultTag(app, git);
  const latest = `${image.replace(/:[^:/]+$/, '')}:latest`;
  const tags = image === latest || options.latest === false ? [image] : [image, latest];
  const dockerfile = withLabels(options.dockerfile ?? await appDockerfile(dir, plan), options.labels ?? imageLabels(app, plan, git.commit));
  const context = await buildContext(dir, plan, dockerfile);
  const tracker = stepTracker(options.onOutput);

  let events: ProgressEvent[];
  try {
    const stream = await docker.buildImage(context, {
      dockerfile: GENERATED_DOCKERFILE,
      t: image,
      buildargs: options.buildArgs ?? {},
      nocache: options.noCache ?? false,
      rm: true,
      forcerm: true,
      ...(options.signal ? { abortSignal: options.signal } : {}),
    });
    events = await followProgress(docker, stream, tracker.onEvent);
  } catch (error) {
    throw new PaasError('build', `the image build could not run: ${(error as Error).message}`, { details: tracker.tail.slice(-20), cause: error });
  }
  const failure = events.find((e) => e.error);
  if (failure) {
    const step = tracker.steps.length;
    const instruction = tracker.steps[step - 1]?.instruction ?? 'the start';
    throw new PaasError('build', `the image build failed at step ${step} (${instruction}): ${failure.errorDetail?.message ?? failure.error}`, {
      where: plan.stack === 'dockerfile' ? path.join(dir, plan.dockerfile ?? 'Dockerfile') : dir,
      details: tracker.tail.slice(-20),
      hint: plan.stack === 'dockerfile'
        ? 'fix the Dockerfile or the step it runs, then build again'
        : 'fix the app so this step passes; `paas init --eject` writes the Dockerfile paas used, to edit or try with `docker build`',
    });
  }
  if (tags.includes(latest) && image !== latest) {
    await docker.getImage(image).tag({ repo: latest.slice(0, latest.lastIndexOf(':')), tag: 'latest' });
  }
  const inspect = await docker.getImage(image).inspect();
  return {
    app,
    stack: plan.stack,
    image,
    tags,
    imageId: inspect.Id ?? tracker.imageId() ?? '',
    sizeBytes: inspect.Size,
    layers: inspect.RootFS?.Layers ?? [],
    steps: tracker.steps,
    durationMs: Date.now() - started,
    ...(git.commit ? { commit: git.commit } : {}),
  };
}
