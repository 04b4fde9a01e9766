import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { PaasError } from '../errors.js';
import type { ResolvedApp } from '../app.js';
import {
  GENERATED_DOCKERFILE, buildContext, buildImage, defaultTag, gitState, imageLabels, withLabels, type BuildResult,
} from '../build/index.js';
import type { SplitDockerfile } from '../build/split.js';
import { connectEngine } from '../docker/engine.js';
import type { HostAgent } from '../host/agent.js';
import type { ImageReceiver, PushResult } from '../push/thin.js';
import { releaseSpec } from '../release/spec.js';
import type { AppState } from '../release/types.js';
import type { RolloutResult } from '../agent/rollout.js';
import type { HostInfo } from '../agent/state.js';

/** The host side of a thin push: the agent lists the chain IDs it has and loads the archive. */
export function agentReceiver(agent: HostAgent): ImageReceiver {
  return {
    chainIds: async () => new Set((await agent.call<{ chainIds: string[] }>('layers')).chainIds),
    load: async (archive) => { await agent.call('load', [], { stdin: archive as Readable }); },
  };
}

export interface HostTarget {
  label: string;
  agent: HostAgent;
  /** Token of the app's lock, held on this host for the whole deploy (see HostCommand.lockApp). */
  lockToken: string;
  /** An agent `deploy --build` already started, waiting for its request (see prestartSourceDeploy). */
  prestarted?: PrestartedDeploy;
  info?: { arch: string; host?: HostInfo };
  state?: AppState;
}

export interface HostFacts { arch: string; host?: HostInfo; state: AppState }

/** What a deploy needs from a host before anything changes (read with its lock): set up? architecture? releases? */
export function inspectHost(host: HostTarget, facts: HostFacts): void {
  if (!facts.host) {
    throw new PaasError('host', `${host.label} is not set up for paas`, { hint: `run \`paas host:setup --host ${host.label}\` first` });
  }
  host.info = facts;
  host.state = facts.state;
}

/** One more than the highest release on any host, so every host records the same number. */
export function nextReleaseVersion(states: AppState[]): number {
  return Math.max(0, ...states.flatMap((s) => s.releases.map((r) => r.version))) + 1;
}

/** Local engine architecture vs each host's: a mismatch fails before building, saying why. */
export async function checkArchitectures(docker: Docker, hosts: HostTarget[]): Promise<void> {
  const local = (await docker.version()).Arch;
  for (const host of hosts) {
    if (host.info && host.info.arch !== local) {
      throw new PaasError('build', `${host.label} runs ${host.info.arch} and your Docker Engine builds ${local} images`, {
        hint: 'build on a machine of the host\'s architecture (for example in CI), or let the host build it: `git push paas main`',
      });
    }
  }
}

export interface HostOutcome {
  host: string;
  version?: number;
  /** Images pushed to this host (the whole image, or dependency and base images it lacked). */
  pushes: PushResult[];
  /** Compressed bytes of the source archive built on the host ("source" builds). */
  sourceBytes?: number;
  /** Every byte sent to the host for this deploy. */
  bytesSent: number;
  /** ID of the release image on this host (built there for "source" builds). */
  imageId?: string;
  rollout?: RolloutResult;
  error?: string;
}

/**
 * What a deploy ships. "source": the dependency part of the Dockerfile (above `# paas:source`)
 * is built here and pushed once per host; each host builds the rest from the app's files, so a
 * code-only change sends kilobytes and no `docker save` runs. "image": the whole image is built
 * here and pushed thin (a Dockerfile without the marker).
 */
export type DeployBuild =
  | { kind: 'image'; image: string; imageId: string; local: BuildResult; commit?: string }
  | { kind: 'source'; image: string; deps: BuildResult; depsImage: string; baseImages: string[]; dockerfile: string; commit?: string };

export interface DeployResult {
  app: string;
  release: number;
  image: string;
  imageId: string;
  /** How the image got to the hosts: built there from the source, or pushed whole. */
  build: DeployBuild['kind'];
  bytesSent: number;
  hosts: HostOutcome[];
  urls: string[];
  seconds: Record<string, number>;
}

export interface DeployContext {
  resolved: ResolvedApp;
  hosts: HostTarget[];
  createdBy: string;
  docker?: Docker;
  build?: DeployBuild;
  version?: number;
  outcomes: HostOutcome[];
  seconds: Record<string, number>;
}

/** `split`: the app's Dockerfile cut at `# paas:source` (splitDockerfile), or why it cannot be. */
export async function buildForDeploy(ctx: DeployContext, split: SplitDockerfile | string, report: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  const docker = ctx.docker = await connectEngine();
  const { app, dir, plan, config } = ctx.resolved;
  const buildArgs = config.build?.args ?? {};
  const git = await gitState(dir);
  const image = defaultTag(app, git);
  const commit = git.commit ? { commit: git.commit } : {};
  if (typeof split === 'string') {
    report(`the whole image is built here and pushed: the Dockerfile ${split} (add one above the line that copies the source, and deploys ship only the source)`);
    const local = await buildImage(docker, { dir, app, plan, buildArgs, onOutput: report, tag: image, git, ...(signal ? { signal } : {}) });
    ctx.build = { kind: 'image', image, imageId: local.imageId, local, ...commit };
  } else {
    const deps = await buildImage(docker, {
      dir, app, plan, buildArgs, onOutput: report, dockerfile: split.deps, tag: `paas/${app}:deps`, latest: false, git, ...(signal ? { signal } : {}),
      labels: { 'paas.app': app, 'paas.role': 'dependencies' },
    });
    const depsTag = `deps-${deps.imageId.replace(/^sha256:/, '').slice(0, 12)}`;
    await docker.getImage(deps.imageId).tag({ repo: `paas/${app}`, tag: depsTag });
    const depsImage = `paas/${app}:${depsTag}`;
    report(`dependencies: ${depsImage} (${deps.steps.filter((s) => s.cached).length}/${deps.steps.length} steps cached); the hosts build the source part`);
    ctx.build = {
      kind: 'source', image, deps, depsImage, baseImages: split.baseImages,
      dockerfile: withLabels(split.source(depsImage), imageLabels(app, plan, git.commit)), ...commit,
    };
  }
  ctx.seconds.build = (Date.now() - started) / 1000;
}

function releaseSpecFor(ctx: DeployContext, imageId: string) {
  const build = ctx.build!;
  return releaseSpec({
    app: ctx.resolved.app, plan: ctx.resolved.plan, config: ctx.resolved.config,
    image: build.image, imageId, version: ctx.version!, createdBy: ctx.createdBy,
    description: `Deploy ${build.commit ? build.commit.slice(0, 8) : build.image.split(':').pop()}`,
  });
}

type BuildAndRollout = (RolloutResult & { built: { imageId: string; ms: number } }) | { missing: string[] };

export interface PrestartedDeploy {
  /** The agent's stdin: the request goes here once the build is done. */
  body: PassThrough;
  result: Promise<BuildAndRollout>;
  /** Where the agent's events go (set when the host's step starts). */
  report: (line: string) => void;
}

/**
 * Starts the host's `agent deploy --build` as soon as the host is connected, beside the lock's
 * agent: the SSH channel and the agent's start (~0.2 s of Node.js on a small host) overlap the
 * lock and the local build, and the agent waits for its request (with the lock token) on stdin.
 * Ending `body` unused makes it fail harmlessly.
 */
export function prestartSourceDeploy(host: HostTarget): void {
  const body = new PassThrough();
  const prestarted: PrestartedDeploy = { body, report: () => {}, result: Promise.resolve({ missing: [] }) };
  prestarted.result = host.agent.call<BuildAndRollout>('deploy', ['--build'], {
    stdin: body,
    onEvent: (message) => prestarted.report(message),
  });
  prestarted.result.catch(() => {});
  host.prestarted = prestarted;
}

/** The body of `deploy --build`: one JSON line, then the gzip'd source archive. Counts what it sends. */
async function sourceRequest(ctx: DeployContext, host: HostTarget, build: Extract<DeployBuild, { kind: 'source' }>, counter: { bytes: number }, body = new PassThrough()): Promise<Readable> {
  const { dir, plan, config } = ctx.resolved;
  const header = JSON.stringify({
    lockToken: host.lockToken,
    spec: releaseSpecFor(ctx, ''),
    build: { requires: [build.depsImage, ...build.baseImages], dockerfile: GENERATED_DOCKERFILE, buildArgs: config.build?.args ?? {} },
  });
  body.write(`${header}\n`);
  const archive = (await buildContext(dir, plan, build.dockerfile) as Readable).pipe(createGzip({ level: 6 }));
  archive.on('data', (chunk: Buffer) => { counter.bytes += chunk.length; });
  archive.on('error', (error) => body.destroy(error));
  archive.pipe(body);
  return body;
}

/** Push (or send the source and build there), then roll out, on one host. Outcomes record what happened even when it fails. */
export async function deployToHost(ctx: DeployContext, host: HostTarget, report: (line: string) => void): Promise<void> {
  const outcome: HostOutcome = { host: host.label, pushes: [], bytesSent: 0 };
  ctx.outcomes.push(outcome);
  const build = ctx.build!;
  const push = async (image: string) => {
    const started = Date.now();
    // Loaded when an image must travel: a warm deploy of a code change sends only the source.
    const { pushImage } = await import('../push/thin.js');
    const result = await pushImage(ctx.docker!, image, agentReceiver(host.agent), { onProgress: report });
    outcome.pushes.push(result);
    outcome.bytesSent += result.bytesSent;
    ctx.seconds[`push ${host.label}`] = (ctx.seconds[`push ${host.label}`] ?? 0) + (Date.now() - started) / 1000;
  };
  try {
    if (build.kind === 'image') {
      await push(build.image);
      const rolloutStarted = Date.now();
      outcome.rollout = await host.agent.call<RolloutResult>('deploy', ['--lock-token', host.lockToken], {
        stdin: JSON.stringify(releaseSpecFor(ctx, build.imageId)),
        onEvent: (message) => report(message),
      });
      outcome.imageId = build.imageId;
      ctx.seconds[`rollout ${host.label}`] = (Date.now() - rolloutStarted) / 1000;
    } else {
      const attempt = async (): Promise<BuildAndRollout> => {
        const counter = { bytes: 0 };
        const started = Date.now();
        const prestarted = host.prestarted;
        host.prestarted = undefined;
        try {
          if (prestarted) {
            prestarted.report = report;
            await sourceRequest(ctx, host, build, counter, prestarted.body);
            return await prestarted.result;
          }
          return await host.agent.call<BuildAndRollout>('deploy', ['--build'], {
            stdin: await sourceRequest(ctx, host, build, counter),
            onEvent: (message) => report(message),
          });
        } finally {
          outcome.sourceBytes = counter.bytes;
          outcome.bytesSent += counter.bytes;
          ctx.seconds[`build and rollout ${host.label}`] = (Date.now() - started) / 1000;
        }
      };
      let result = await attempt();
      if ('missing' in result) {
        for (const image of result.missing) {
          report(`the host lacks ${image}: pushing it (once)`);
          await push(image);
        }
        result = await attempt();
        if ('missing' in result) {
          throw new PaasError('host', `the host still lacks ${result.missing.join(', ')} after they were pushed`, { where: host.label, hint: 'check the host\'s disk space and Docker Engine, then deploy again' });
        }
      }
      outcome.rollout = result;
      outcome.imageId = result.built.imageId;
    }
    outcome.version = outcome.rollout.version;
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
    throw partialFailure(ctx, host, error);
  }
}

/** A failure on host N after hosts 1..N-1 took the release: say exactly where each host stands. */
function partialFailure(ctx: DeployContext, failed: HostTarget, error: unknown): unknown {
  const done = ctx.outcomes.filter((o) => o.version !== undefined);
  if (done.length === 0 || !(error instanceof PaasError)) return error;
  const untouched = ctx.hosts.filter((h) => h !== failed && !ctx.outcomes.some((o) => o.host === h.label));
  const previous = (h: HostTarget) => (h.state?.current ? `v${h.state.current}` : 'no release');
  return new PaasError(error.kind, `${failed.label} failed: ${error.message}`, {
    ...(error.where ? { where: error.where } : {}),
    details: [
      ...error.details,
      ...done.map((o) => `${o.host}: now on v${o.version}`),
      `${failed.label}: still on ${previous(failed)} (this failure changed nothing there)`,
      ...untouched.map((h) => `${h.label}: not attempted, still on ${previous(h)}`),
    ],
    hint: `${error.hint ? `${error.hint}. ` : ''}The hosts are now on different releases: fix the problem and deploy again, or \`paas rollback\` the ones that moved`,
  });
}

export function deployResult(ctx: DeployContext): DeployResult {
  const build = ctx.build!;
  return {
    app: ctx.resolved.app,
    release: ctx.outcomes.find((o) => o.version)?.version ?? ctx.version!,
    image: build.image,
    imageId: build.kind === 'image' ? build.imageId : ctx.outcomes.find((o) => o.imageId)?.imageId ?? '',
    build: build.kind,
    bytesSent: ctx.outcomes.reduce((sum, o) => sum + o.bytesSent, 0),
    hosts: ctx.outcomes,
    urls: [...new Set(ctx.outcomes.flatMap((o) => o.rollout?.urls ?? []))],
    seconds: ctx.seconds,
  };
}
