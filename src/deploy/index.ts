import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import type { ResolvedApp } from '../app.js';
import { buildImage, type BuildResult } from '../build/index.js';
import { connectEngine } from '../docker/engine.js';
import type { HostAgent } from '../host/agent.js';
import { pushImage, type ImageReceiver, type PushResult } from '../push/thin.js';
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
  info?: { arch: string; host?: HostInfo };
  state?: AppState;
}

/** Reads what a deploy needs from each host before anything changes: set up? architecture? releases? */
export async function inspectHosts(app: string, hosts: HostTarget[]): Promise<void> {
  for (const host of hosts) {
    const info = await host.agent.call<{ arch: string; host?: HostInfo; state: AppState }>('info', ['--app', app]);
    if (!info.host) {
      throw new PaasError('host', `${host.label} is not set up for paas`, { hint: `run \`paas host:setup --host ${host.label}\` first` });
    }
    host.info = info;
    host.state = info.state;
  }
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
        hint: 'build on a machine of the host\'s architecture (for example in CI), or on the host itself with git push once it lands',
      });
    }
  }
}

export interface HostOutcome {
  host: string;
  version?: number;
  push?: PushResult;
  rollout?: RolloutResult;
  error?: string;
}

export interface DeployResult {
  app: string;
  release: number;
  image: string;
  imageId: string;
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
  build?: BuildResult;
  version?: number;
  outcomes: HostOutcome[];
  seconds: Record<string, number>;
}

export async function buildForDeploy(ctx: DeployContext, report: (line: string) => void): Promise<void> {
  const started = Date.now();
  ctx.docker = await connectEngine();
  const { app, dir, plan, config } = ctx.resolved;
  ctx.build = await buildImage(ctx.docker, { dir, app, plan, buildArgs: config.build?.args ?? {}, onOutput: report });
  ctx.seconds.build = (Date.now() - started) / 1000;
}

/** Push, then roll out, on one host. Outcomes record what happened even when it fails. */
export async function deployToHost(ctx: DeployContext, host: HostTarget, report: (line: string) => void): Promise<void> {
  const outcome: HostOutcome = { host: host.label };
  ctx.outcomes.push(outcome);
  try {
    const pushStarted = Date.now();
    outcome.push = await pushImage(ctx.docker!, ctx.build!.image, agentReceiver(host.agent), { onProgress: report });
    ctx.seconds[`push ${host.label}`] = (Date.now() - pushStarted) / 1000;
    const build = ctx.build!;
    const spec = releaseSpec({
      app: ctx.resolved.app, plan: ctx.resolved.plan, config: ctx.resolved.config,
      image: build.image, imageId: build.imageId, version: ctx.version!, createdBy: ctx.createdBy,
      description: `Deploy ${build.commit ? build.commit.slice(0, 8) : build.image.split(':').pop()}`,
    });
    const rolloutStarted = Date.now();
    outcome.rollout = await host.agent.call<RolloutResult>('deploy', ['--lock-token', host.lockToken], {
      stdin: JSON.stringify(spec),
      onEvent: (message) => report(message),
    });
    outcome.version = outcome.rollout.version;
    ctx.seconds[`rollout ${host.label}`] = (Date.now() - rolloutStarted) / 1000;
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
    imageId: build.imageId,
    bytesSent: ctx.outcomes.reduce((sum, o) => sum + (o.push?.bytesSent ?? 0), 0),
    hosts: ctx.outcomes,
    urls: [...new Set(ctx.outcomes.flatMap((o) => o.rollout?.urls ?? []))],
    seconds: ctx.seconds,
  };
}
