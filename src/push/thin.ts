import os from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import { PaasError } from '../errors.js';
import { formatBytes } from '../ui/format.js';
import { ByteCounter, rewriteSaveArchive, type LayerChoices } from './archive.js';
import { LayerDirCache } from './cache.js';
import { chainIds, layerDirsOfSave, uniqueIndex } from './layers.js';

/** The host end of a push: what its engine has, and a `docker load` there. */
export interface ImageReceiver {
  /** Chain IDs of every layer the host's engine has (for all its images). */
  chainIds(): Promise<Set<string>>;
  /** Streams a (gzip-compressed) docker-save archive into the host's `docker load`; rejects if the load fails, with the engine's message. */
  load(archive: NodeJS.ReadableStream): Promise<void>;
  /** The host, for error messages (e.g. root@203.0.113.5:22). */
  readonly where?: string;
}

export interface PushResult {
  image: string;
  /** Compressed bytes sent to the host, over every attempt. */
  bytesSent: number;
  /** With a fallback: the part of bytesSent that was the full archive. */
  fullArchiveBytes?: number;
  layersTotal: number;
  /** Layers whose bytes went to the host (all of them after a fallback). */
  layersSent: number;
  /** Layers sent as empty stand-ins because the host has them. */
  layersSkipped: number;
  /** The thin archive did not load (the host lacked a layer it reported), the full one did. */
  fallback: boolean;
  /** The host had every layer: only the image's config and manifest went over. */
  skippedEntirely: boolean;
  durationMs: number;
}

export interface PushOptions {
  /** The layer-directory cache file; default ~/.paas/cache/layer-dirs.json. */
  cachePath?: string;
  onProgress?: (line: string) => void;
  /** gzip level, 0-9; default 1 (fast: the link, not the CPU, should be the bottleneck). */
  compressionLevel?: number;
}

const LOCAL_ENGINE = 'local Docker Engine';

/**
 * Moves an image from the local engine to a host without a registry: a `docker save` archive
 * in which every layer the host already has is an empty file, so only new layers travel. When
 * the host cannot load that (it lost a layer it reported), sends the full archive once.
 */
export async function pushImage(docker: Docker, image: string, receiver: ImageReceiver, options: PushOptions = {}): Promise<PushResult> {
  const started = Date.now();
  const report = options.onProgress ?? (() => {});
  const level = options.compressionLevel ?? 1;
  const diffIds = await localDiffIds(docker, image);
  // The engine writes the whole export to disk before its first byte: start it while the host answers.
  const firstSave = saveImage(docker, image);
  firstSave.catch(() => {});
  let onHost: Set<string>;
  try {
    onHost = await hostChainIds(receiver);
  } catch (error) {
    firstSave.then((stream) => stream.destroy(), () => {});
    throw error;
  }
  const cache = await LayerDirCache.load(options.cachePath);
  const plan = new LayerPlan(diffIds, onHost, cache, report);
  report(`${plan.presentCount} of ${diffIds.length} layers already on the host`);
  const finish = (bytesSent: number, sent: LayerPlan, fallback: boolean): PushResult => ({
    image,
    bytesSent,
    layersTotal: diffIds.length,
    layersSent: diffIds.length - sent.emptied,
    layersSkipped: sent.emptied,
    fallback,
    skippedEntirely: diffIds.length > 0 && sent.emptied === diffIds.length,
    durationMs: Date.now() - started,
  });
  try {
    try {
      const bytes = await sendArchive(docker, image, receiver, plan, level, firstSave);
      report(`sent ${formatBytes(bytes)} (${diffIds.length - plan.emptied} of ${diffIds.length} layers) in ${seconds(started)}`);
      return finish(bytes, plan, false);
    } catch (error) {
      if (!(error instanceof LoadRejected) || plan.emptied === 0) throw error;
      report(`the host could not load the thin archive (${firstLine(error.cause)}); sending the whole image`);
      const full = new LayerPlan(diffIds, new Set(), cache, report);
      const fullBytes = await sendArchive(docker, image, receiver, full, level);
      report(`sent ${formatBytes(fullBytes)} (the whole image) in ${seconds(started)}`);
      return { ...finish(error.bytesSent + fullBytes, full, true), fullArchiveBytes: fullBytes };
    }
  } catch (error) {
    throw error instanceof LoadRejected ? loadError(image, receiver, error.cause) : error;
  } finally {
    await cache.save().catch((error: unknown) => report(`could not update the layer cache ${cache.file}: ${firstLine(error)}`));
  }
}

/**
 * Which layers of the image the host has, answering the archive rewrite: by layer directory
 * (through the cache) or by diff ID (after hashing). Counts what it wrote.
 */
class LayerPlan implements LayerChoices {
  emptied = 0;
  private readonly chains: string[];
  readonly presentCount: number;

  constructor(private readonly diffIds: string[], private readonly onHost: Set<string>, private readonly cache: LayerDirCache, private readonly report: (line: string) => void) {
    this.chains = chainIds(diffIds);
    this.presentCount = this.chains.filter((chain) => onHost.has(chain)).length;
  }

  hostHasDir(dir: string): boolean | undefined {
    if (this.presentCount === 0) return false;
    if (this.presentCount === this.chains.length) return true;
    const diffId = this.cache.lookup(dir);
    return diffId === undefined ? undefined : this.hostHasDiff(diffId);
  }

  hostHasDiff(diffId: string): boolean {
    const index = uniqueIndex(this.diffIds, diffId);
    return index !== undefined && this.onHost.has(this.chains[index]!);
  }

  isLayerDiff(diffId: string): boolean {
    return uniqueIndex(this.diffIds, diffId) !== undefined;
  }

  learned(dir: string, diffId: string): void {
    this.cache.learn(dir, diffId);
  }

  written(dir: string, sent: boolean, size: number): void {
    if (!sent) this.emptied += 1;
    this.report(`layer ${dir.slice(0, 12)} (${formatBytes(size)}): ${sent ? 'sent' : 'already on the host'}`);
  }

  /** Learns every layer directory of the archive from its manifest.json and image config. */
  learnFromSave(files: Map<string, Buffer>): void {
    try {
      const manifest = JSON.parse(files.get('manifest.json')?.toString('utf8') ?? '[]') as { Config?: string; Layers?: string[] }[];
      for (const { Config, Layers } of manifest) {
        const config = Config === undefined ? undefined : files.get(Config);
        if (!config || !Layers) continue;
        const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
        for (const [dir, diffId] of layerDirsOfSave(Layers, diffIds)) this.cache.learn(dir, diffId);
      }
    } catch {
      // An unexpected manifest only means nothing is learned from it.
    }
  }
}

/** The host's `docker load` failed (after receiving bytesSent bytes). */
class LoadRejected extends Error {
  constructor(override readonly cause: unknown, readonly bytesSent: number) {
    super(firstLine(cause));
  }
}

/**
 * Streams `docker save IMAGE` through the rewrite, gzip and a byte counter into the receiver's
 * load, all at once. The first failure stops every stream; it is a LoadRejected when the host
 * end failed, a PaasError('docker') when this end did. Resolves with the bytes sent.
 */
async function sendArchive(docker: Docker, image: string, receiver: ImageReceiver, plan: LayerPlan, level: number, started?: Promise<Readable>): Promise<number> {
  const source = await (started ?? saveImage(docker, image));
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const counter = new ByteCounter();
  const state: { failure?: { host: boolean; error: unknown } } = {};
  const stopOn = (host: boolean) => (error: unknown) => {
    if (state.failure) return;
    state.failure = { host, error };
    for (const stream of [source, extract, pack]) stream.destroy();
    // The receiver's input ends with an error, so that it stops too (an end would look complete).
    counter.on('error', () => {}).destroy(new Error(`push stopped: ${firstLine(error)}`));
  };
  await Promise.all([
    receiver.load(counter).then(() => {
      if (!counter.readableEnded) throw new Error('the host stopped reading the archive before its end');
    }).catch(stopOn(true)),
    pipeline(pack, createGzip({ level }), counter).catch(stopOn(false)),
    pipeline(source, extract).catch(stopOn(false)),
    // Layers to hash are spooled to files unlinked at once: nothing is left if this process dies.
    rewriteSaveArchive(extract, pack, plan, os.tmpdir()).then((files) => plan.learnFromSave(files)).catch(stopOn(false)),
  ]);
  const { failure } = state;
  if (failure?.host) throw new LoadRejected(failure.error, counter.bytes);
  if (failure) {
    throw new PaasError('docker', `reading ${image} from the local Docker Engine failed: ${firstLine(failure.error)}`, {
      where: LOCAL_ENGINE,
      hint: `check that the engine answers (\`docker info\`) and that ${os.tmpdir()} has free space, then push again`,
      cause: failure.error,
    });
  }
  return counter.bytes;
}

async function localDiffIds(docker: Docker, image: string): Promise<string[]> {
  try {
    return (await docker.getImage(image).inspect()).RootFS.Layers ?? [];
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new PaasError('docker', `image ${image} is not on the local Docker Engine`, { where: LOCAL_ENGINE, hint: 'build it first (`paas build`), or check the name with `docker image ls`', cause: error });
    }
    throw engineError(`cannot inspect image ${image}`, error);
  }
}

async function saveImage(docker: Docker, image: string): Promise<Readable> {
  try {
    return (await docker.getImage(image).get()) as Readable;
  } catch (error) {
    throw engineError(`cannot save image ${image}`, error);
  }
}

async function hostChainIds(receiver: ImageReceiver): Promise<Set<string>> {
  try {
    return await receiver.chainIds();
  } catch (error) {
    if (error instanceof PaasError) throw error;
    throw new PaasError('ssh', `cannot list the image layers on the host: ${firstLine(error)}`, {
      ...(receiver.where ? { where: receiver.where } : {}),
      hint: 'check that the host\'s Docker Engine runs (`docker info` there) and that the SSH user may use it',
      cause: error,
    });
  }
}

function loadError(image: string, receiver: ImageReceiver, cause: unknown): PaasError {
  if (cause instanceof PaasError) return cause;
  return new PaasError('ssh', `the host could not load ${image}: ${firstLine(cause)}`, {
    ...(receiver.where ? { where: receiver.where } : {}),
    hint: 'check the free disk space of the host\'s Docker Engine (`docker system df` there), then push again',
    cause,
  });
}

function engineError(message: string, error: unknown): PaasError {
  return new PaasError('docker', `${message}: ${firstLine(error)}`, { where: LOCAL_ENGINE, hint: 'check that the engine answers: `docker info`', cause: error });
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.trim().split('\n')[0] ?? '';
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
