import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { PaasError } from '../errors.js';
import type { ResolvedApp } from '../app.js';
import {
  GENERATED_DOCKERFILE, buildContext, buildImage, defaultTag, gitState, imageLabels, withLabels, type BuildResult,
} from '../build/index.js';
import type { SplitDockerfile } from '../build/split.js';
import { connectEngine } from '../docker/engine.js';
import type { HostAgent } from '../host/agent.js';
import type { BuildAnswer, DeploySession } from '../host/deploy-session.js';
import type { ImageReceiver, PushResult } from '../push/thin.js';
import { releaseSpec } from '../release/spec.js';
import { claimProblem } from '../release/settings.js';
import { validateSpec } from '../release/validate.js';
import type { AppState } from '../release/types.js';
import type { HostFacts, HostInfo, OutcomeResult, RolloutResult } from '../agent/protocol.js';

/**
 * What a host would refuse of the app's release (validateSpec, the agent's own check), found
 * before any host is touched: too many process types or replicas, a command too long, a name paas
 * reserves. The agent checks again.
 */
export function checkDeployable(resolved: ResolvedApp, app: string): void {
  try {
    validateSpec(releaseSpec({
      app, plan: resolved.plan, config: resolved.config, image: `paas/${app}:check`, imageId: '', version: 1, description: 'check', createdBy: 'check',
    }));
  } catch (error) {
    if (!(error instanceof PaasError)) throw error;
    throw new PaasError('config', `${app} cannot be deployed as it is: ${error.message}`, {
      where: resolved.dir,
      details: error.details,
      hint: 'fix these in paas.yml or the Procfile; nothing was sent to any host',
    });
  }
}

/** The host side of a thin push: the agent lists the chain IDs it has and loads the archive. */
export function agentReceiver(agent: HostAgent): ImageReceiver {
  return {
    chainIds: async () => new Set((await agent.call('layers', {})).chainIds),
    load: async (archive) => { await agent.call('load', {}, { stdin: archive as Readable }); },
  };
}

export interface HostTarget {
  label: string;
  agent: HostAgent;
  /** The agent's deploy session: it holds the app's lock on this host for the whole deploy. */
  session: DeploySession;
  /** The source sent to the host and its build there ("source" builds), started as soon as it can be. */
  sent?: Promise<BuildAnswer>;
  /** Compressed bytes of the source sent so far. */
  sourceBytes: { bytes: number };
  info?: { arch: string; host?: HostInfo };
  state?: AppState;
  /** What the host's other apps answer to. */
  others?: { app: string; names: string[] }[];
  /** A new connection to the host, to ask what is true after this one broke. */
  reconnect?: () => Promise<HostAgent>;
}

/** What a deploy needs from a host before anything changes (read with its lock): set up? architecture? releases? */
export function inspectHost(host: HostTarget, facts: HostFacts): void {
  if (!facts.host) {
    throw new PaasError('host', `${host.label} is not set up for paas`, { hint: `run \`paas host:setup --host ${host.label}\` first` });
  }
  host.info = facts;
  if (!facts.state) throw new PaasError('host', `${host.label} did not say which releases the app has`, { hint: 'deploy again; if it persists, run `paas host:setup` to reinstall the agent' });
  host.state = facts.state;
  host.others = facts.others ?? [];
}

/** Domains of paas.yml that this host refuses (another app's, or under its base domain): found before anything is built or sent. */
export function checkClaims(app: string, domains: string[], host: HostTarget): void {
  const baseDomain = host.info?.host?.baseDomain;
  if (!baseDomain) return;
  for (const name of domains) {
    const problem = claimProblem(app, name, host.others ?? [], baseDomain);
    if (problem) throw new PaasError('config', problem, { where: `${host.label}: paas.yml domains`, hint: 'use a domain of your own (its DNS pointing at this host), or the default name; nothing was changed on the host' });
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
  /** "standby": the host's standby agent took the deploy (no agent process to start); "process": one was started. */
  agent?: 'standby' | 'process';
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

/** The release for one host; only the first of the app's hosts runs its scheduled tasks. */
export function releaseSpecFor(ctx: Pick<DeployContext, 'build' | 'resolved' | 'version' | 'createdBy' | 'hosts'>, imageId: string, host: HostTarget) {
  const build = ctx.build!;
  const spec = releaseSpec({
    app: ctx.resolved.app, plan: ctx.resolved.plan, config: ctx.resolved.config,
    image: build.image, imageId, version: ctx.version!, createdBy: ctx.createdBy,
    description: `Deploy ${build.commit ? build.commit.slice(0, 8) : build.image.split(':').pop()}`,
  });
  if (spec.engine === 'swarm') return { ...spec, swarmLead: ctx.hosts[0] === host, ...(ctx.hosts[0] !== host && spec.cron?.length ? { runsCron: false } : {}) };
  return spec.cron?.length && ctx.hosts[0] !== host ? { ...spec, runsCron: false } : spec;
}

/**
 * Sends the app's files (gzip'd tar) to a host's deploy session, which builds the part of the
 * Dockerfile below `# paas:source` FROM the dependency image, or answers which images it lacks.
 */
export async function sendSource(ctx: DeployContext, host: HostTarget): Promise<BuildAnswer> {
  const build = ctx.build;
  if (build?.kind !== 'source') throw new Error('sendSource: not a source build');
  const { dir, plan, config } = ctx.resolved;
  const tar = await buildContext(dir, plan, build.dockerfile) as Readable;
  const archive = createGzip({ level: 6 });
  tar.on('error', (error) => archive.destroy(error));
  tar.pipe(archive);
  return host.session.build(
    {
      tag: build.image, requires: [build.depsImage, ...build.baseImages], dockerfile: GENERATED_DOCKERFILE, buildArgs: config.build?.args ?? {},
      ...(config.build?.timeoutMs ? { timeoutMs: config.build.timeoutMs } : {}),
    },
    archive, host.sourceBytes,
  );
}

/** Push (or send the source and build there), then roll out, on one host. Outcomes record what happened even when it fails. */
export async function deployToHost(ctx: DeployContext, host: HostTarget, report: (line: string) => void): Promise<HostOutcome> {
  const outcome: HostOutcome = { host: host.label, pushes: [], bytesSent: 0 };
  ctx.outcomes.push(outcome);
  host.session.report(report);
  const build = ctx.build!;
  const started = Date.now();
  const push = async (image: string) => {
    // Loaded when an image must travel: a warm deploy of a code change sends only the source.
    const { pushImage } = await import('../push/thin.js');
    const result = await pushImage(ctx.docker!, image, agentReceiver(host.agent), { onProgress: report });
    outcome.pushes.push(result);
    outcome.bytesSent += result.bytesSent;
  };
  try {
    if (build.kind === 'image') {
      await push(build.image);
      outcome.imageId = build.imageId;
    } else {
      let answer = await (host.sent ?? sendSource(ctx, host));
      if ('missing' in answer) {
        for (const image of answer.missing) {
          report(`the host lacks ${image}: pushing it (once)`);
          await push(image);
        }
        answer = await sendSource(ctx, host);
        if ('missing' in answer) {
          throw new PaasError('host', `the host still lacks ${answer.missing.join(', ')} after they were pushed`, { where: host.label, hint: 'check the host\'s disk space and Docker Engine, then deploy again' });
        }
      }
      outcome.imageId = answer.imageId;
    }
    outcome.rollout = await host.session.release(releaseSpecFor(ctx, outcome.imageId, host));
    outcome.version = outcome.rollout.version;
    return outcome;
  } catch (error) {
    const truth = await askAfterLoss(ctx, host, error);
    outcome.error = truth instanceof Error ? truth.message : String(truth);
    throw partialFailure(ctx, host, truth);
  } finally {
    if (host.session.via) outcome.agent = host.session.via;
    outcome.sourceBytes = host.sourceBytes.bytes;
    outcome.bytesSent += host.sourceBytes.bytes;
    ctx.seconds[`release ${host.label}`] = (Date.now() - started) / 1000;
  }
}

/** The connection broke, or the agent died, while the host was changing: the message says what the host says now. */
export function lossMessage(error: PaasError, attempted: number | undefined, answer: OutcomeResult | undefined, label: string): PaasError {
  const details = [...error.details];
  let hint: string;
  if (!answer) {
    details.push(`${label} could not be asked again what it serves now`);
    hint = `run \`paas releases --host ${label}\` to see which release serves; the host finishes or undoes what was under way by itself`;
  } else if (answer.locked) {
    details.push(`${label} is still at work on it (${answer.holder ?? 'locked'}); it finishes or undoes the change by itself`);
    hint = `wait, then run \`paas releases --host ${label}\` to see which release serves`;
  } else if (attempted !== undefined && answer.current === attempted) {
    details.push(`asked again, ${label} says: v${attempted} is live (the host finished the release after the connection broke)`);
    hint = 'nothing to clean up; deploy again only if you want to see it through';
  } else {
    details.push(`asked again, ${label} says: ${answer.current !== undefined ? `v${answer.current} serves` : 'no release serves'}${attempted !== undefined ? `; v${attempted} did not go live and what it started was removed` : ''}`);
    hint = 'deploy again once the connection is back';
  }
  const others = answer?.containers.filter((c) => c.release !== answer.current) ?? [];
  if (others.length) details.push(`containers of other releases still on ${label} (stopping in the background): ${others.map((c) => c.name).join(', ')}`);
  return new PaasError(error.kind, error.message, { ...(error.where ? { where: error.where } : {}), details, hint });
}

/** After a lost connection or a dead agent: ask the host (on a new connection) what is true now. */
async function askAfterLoss(ctx: DeployContext, host: HostTarget, error: unknown): Promise<unknown> {
  const lost = error instanceof PaasError && (error.kind === 'ssh' || (error.kind === 'host' && /the paas agent failed|ended the deploy session early/.test(error.message)));
  if (!lost || !host.reconnect) return error;
  let answer: OutcomeResult | undefined;
  try {
    const agent = await host.reconnect();
    answer = await agent.call('outcome', { app: ctx.resolved.app, wait: 60_000 });
  } catch {
    answer = undefined;
  }
  return lossMessage(error, ctx.version, answer, host.label);
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
