import { PassThrough } from 'node:stream';
import { PaasError } from '../errors.js';
import type { ReleaseSpec } from '../release/types.js';
import type { Readable } from 'node:stream';
import { parseJsonRequest } from './args.js';
import { buildTree, missingImages, newBuildDir, staleDepsImages, unpackTree, validateBuildRequest } from './build.js';
import { withAppLock } from './app-lock.js';
import { checkAppImage } from '../release/validate.js';
import { pruneUnreleased } from './containers.js';
import { hostFacts } from './host-setup.js';
import { MessageReader } from './messages.js';
import type { Emit, HostBuildRequest, RolloutResult } from './protocol.js';
import { readRolloutInputs, rolloutLocked, type RolloutInputs } from './rollout.js';

/** A request line of a deploy session. */
export type SessionRequest =
  | { build: HostBuildRequest & { tag: string } }
  | { release: ReleaseSpec };

export function parseSessionRequest(line: string): SessionRequest {
  const request = parseJsonRequest(line, 'a deploy request');
  if (request && typeof request === 'object') {
    const build = (request as { build?: unknown }).build;
    if (build && typeof build === 'object' && typeof (build as { tag?: unknown }).tag === 'string') {
      const { tag, requires, dockerfile, buildArgs, timeoutMs } = build as HostBuildRequest & { tag: string };
      if (Array.isArray(requires) && typeof dockerfile === 'string' && buildArgs && typeof buildArgs === 'object' && !Array.isArray(buildArgs)) {
        return { build: { tag, requires, dockerfile, buildArgs, ...(timeoutMs !== undefined ? { timeoutMs } : {}) } };
      }
    }
    const release = (request as { release?: unknown }).release;
    if (release && typeof release === 'object') return { release: release as ReleaseSpec };
  }
  throw new PaasError('usage', 'a deploy request is neither {build} nor {release}');
}

interface Built { tag: string; imageId: string; ms: number; stalePrune: string[] }

/** Where paas's own files sit in a deploy's source archive (build/index.ts puts them there). */
const ARCHIVE_DOCKERFILE = '.paas/Dockerfile';

/**
 * Receives the framed archive (always, so the next request can be read) into a build directory
 * of its own (tree.ts: no link out, no `..`, bounded) and builds it, unless an image it starts
 * FROM is missing. The Dockerfile comes out of the archive into memory; nothing in the tree is
 * trusted to say where anything is written.
 */
async function receiveAndBuild(request: HostBuildRequest & { tag: string }, input: MessageReader, app: string, emit: Emit): Promise<Built | { missing: string[] }> {
  validateBuildRequest(request);
  if (request.dockerfile !== ARCHIVE_DOCKERFILE) throw new PaasError('usage', `the build request names the Dockerfile ${JSON.stringify(request.dockerfile)}, expected ${ARCHIVE_DOCKERFILE}`);
  // Only the app's own images: a tag of another app's would take over its release image.
  const tagProblem = checkAppImage(app, request.tag);
  if (tagProblem) throw new PaasError('usage', `the build request's tag is refused: ${tagProblem}`);
  const work = await newBuildDir();
  try {
    const archive = new PassThrough();
    const [missing, tree] = await Promise.all([
      missingImages(request.requires),
      unpackTree(archive, work, { what: 'source archive', capture: [ARCHIVE_DOCKERFILE, '.dockerignore'], skip: ['.paas'] }, emit),
      input.frames(archive),
    ]);
    if (missing.length) return { missing };
    const dockerfile = tree.captured.get(ARCHIVE_DOCKERFILE);
    if (!dockerfile) throw new PaasError('usage', `the source archive has no ${ARCHIVE_DOCKERFILE}`, { hint: 'deploy with the paas CLI, which puts it there' });
    const started = Date.now();
    emit(`building ${request.tag} on the host`, 'build');
    const deps = request.requires[0];
    const stale = deps?.startsWith(`paas/${app}:deps-`) ? staleDepsImages(app, deps) : Promise.resolve([]);
    stale.catch(() => {});
    const imageId = await buildTree(work, {
      dockerfile: dockerfile.toString('utf8'), dockerignore: tree.captured.get('.dockerignore')?.toString('utf8') ?? '',
      tag: request.tag, buildArgs: request.buildArgs, again: 'deploy', ...(request.timeoutMs ? { timeoutMs: request.timeoutMs } : {}),
    }, emit);
    const ms = Date.now() - started;
    emit(`built ${imageId.replace(/^sha256:/, '').slice(0, 12)} in ${(ms / 1000).toFixed(1)} s`, 'build');
    return { tag: request.tag, imageId, ms, stalePrune: await stale };
  } finally {
    await work.remove();
  }
}

/**
 * `deploy`: the one agent process of a `paas deploy` on this host. It takes the app's lock at once
 * (a second deploy fails before anything is built) and holds it until stdin ends, tells the host's
 * facts (event "info"), then serves the CLI's requests in order:
 *   {"build": {tag, requires, dockerfile, buildArgs}} + the framed context archive
 *       -> event "missing" (a JSON list; nothing changed, push them and ask again)
 *          or event "built" ({imageId, ms})
 *   {"release": spec}  -> the rollout (of the image built here, or of spec.image), event "released"
 * While the source arrives and builds, it already reads what the rollout needs (under the lock,
 * so only a background drain can change it meanwhile, and a rollout tolerates that).
 */
export async function deploySession(request: { app: string; by: string; command: string; waitMs: number; stdin: Readable; emit: Emit }): Promise<RolloutResult | { app: string; released: true }> {
  const { app, emit } = request;
  const input = new MessageReader(request.stdin);
  return withAppLock(app, { holder: request.by, command: request.command }, { waitMs: request.waitMs }, async () => {
    const reading: Promise<RolloutInputs> = readRolloutInputs(app);
    reading.catch(() => {}); // a host that is not set up: the CLI stops after "info"
    emit(JSON.stringify(await hostFacts(app, false)), 'info');
    const session: SessionState = { attempted: new Set() };
    try {
      for (let line = await input.line(); line !== undefined; line = await input.line()) {
        await serveRequest(parseSessionRequest(line), session, { app, input, emit, reading });
      }
      return session.result ?? { app, released: true as const };
    } finally {
      // What this session built or was to release and no release uses: an aborted attempt's image.
      if (!session.result && session.attempted.size) await pruneUnreleased(app, [...session.attempted]).catch(() => {});
    }
  });
}

interface SessionState {
  built?: Built;
  result?: RolloutResult;
  /** Images built or named for release in this session. */
  attempted: Set<string>;
}

/** One request of a deploy session: a build (answered "missing" or "built") or the release (answered "released"). */
async function serveRequest(request: SessionRequest, session: SessionState, io: { app: string; input: MessageReader; emit: Emit; reading: Promise<RolloutInputs> }): Promise<void> {
  const { app, input, emit } = io;
  if ('build' in request) {
    delete session.built;
    const outcome = await receiveAndBuild(request.build, input, app, emit);
    if ('missing' in outcome) {
      emit(JSON.stringify(outcome.missing), 'missing');
      return;
    }
    session.built = outcome;
    session.attempted.add(outcome.tag);
    emit(JSON.stringify({ imageId: outcome.imageId, ms: outcome.ms }), 'built');
    return;
  }
  const spec = request.release;
  const { built } = session;
  if (session.result) throw new PaasError('usage', 'a deploy session rolls out one release');
  if (spec.app !== app) throw new PaasError('usage', `this session deploys ${app}, not ${JSON.stringify(spec.app)}`);
  if (built && spec.image !== built.tag) throw new PaasError('usage', `the release is of ${JSON.stringify(spec.image)}, but ${built.tag} was built`);
  if (typeof spec.image === 'string') session.attempted.add(spec.image);
  const releasing = built ? { ...spec, imageId: built.imageId } : spec;
  if (spec.engine === 'swarm') {
    // The cluster's manager updates its services; every other node only needs the image.
    const { swarmPrepare, swarmRelease } = await import('./swarm.js');
    session.result = spec.swarmLead ? await swarmRelease(releasing, emit) : await swarmPrepare(releasing, emit);
  } else {
    session.result = await rolloutLocked(releasing, emit, io.reading, built?.stalePrune ?? [], { imageBuilt: built !== undefined });
  }
  emit(JSON.stringify(session.result), 'released');
}
