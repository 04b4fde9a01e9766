import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Extract, Header, Pack } from 'tar-stream';
import { layerDirOf, ociBlobDigestOf } from './layers.js';

/** One entry of an archive being read: its header and a stream of its bytes. */
type Entry = Extract extends AsyncIterable<infer T> ? T : never;

/** What the rewrite asks about each `<dir>/layer.tar` of a `docker save` archive. */
export interface LayerChoices {
  /** Whether the host already has the layer in dir: known from the name alone, or undefined (hash its bytes first). */
  hostHasDir(dir: string): boolean | undefined;
  /** Whether the host already has the layer with this diff ID (sha256 of its layer.tar). */
  hostHasDiff(diffId: string): boolean;
  /** Whether the digest is one of the image's diff IDs (an OCI blob that is an uncompressed layer). */
  isLayerDiff(diffId: string): boolean;
  /** A layer directory's diff ID, learned by hashing it. */
  learned(dir: string, diffId: string): void;
  /** A layer.tar was written: its bytes, or an empty file standing in for them. */
  written(dir: string, sent: boolean, size: number): void;
}

/** Top-level files (manifest.json, the image config, repositories) are small: kept to learn from. */
const TOP_LEVEL_FILE_LIMIT = 4 * 1024 * 1024;

/**
 * Copies a `docker save` archive entry by entry from extract to pack, replacing the layer of
 * every layer the host already has by an empty file (`docker load` skips reading a layer whose
 * chain its engine has). Both layouts: Docker Engine 20.10's `<dir>/layer.tar` (the directory
 * name says nothing of the content: known from the cache, else hashed), and the OCI layout that
 * 25+ writes (`blobs/sha256/<digest>`, a layer's digest being its diff ID when uncompressed). One entry at a time, each awaited: backpressure reaches `docker save`.
 * Layers whose content must be hashed to decide are spooled to an unlinked file in spoolDir, never memory.
 * Resolves with the archive's top-level files (name -> content).
 */
export async function rewriteSaveArchive(extract: Extract, pack: Pack, choices: LayerChoices, spoolDir: string): Promise<Map<string, Buffer>> {
  const topLevel = new Map<string, Buffer>();
  for await (const entry of extract) {
    const { header } = entry;
    const dir = layerDirOf(header.name);
    const blob = header.type === 'file' ? ociBlobDigestOf(header.name) : undefined;
    if (dir !== undefined && header.type === 'file') {
      await rewriteLayer(entry, pack, dir, choices, spoolDir);
    } else if (blob !== undefined && choices.isLayerDiff(blob)) {
      const sent = !choices.hostHasDiff(blob);
      await (sent ? copyEntry(entry, pack) : emptyEntry(entry, pack));
      choices.written(blob.slice('sha256:'.length), sent, header.size ?? 0);
    } else if (!header.name.includes('/') && header.type === 'file' && (header.size ?? 0) <= TOP_LEVEL_FILE_LIMIT) {
      const content = await readAll(entry);
      topLevel.set(header.name, content);
      await writeEntry(pack, header, content);
    } else {
      await pipeline(entry, pack.entry(header));
    }
  }
  pack.finalize();
  return topLevel;
}

async function rewriteLayer(entry: Entry, pack: Pack, dir: string, choices: LayerChoices, spoolDir: string): Promise<void> {
  const size = entry.header.size ?? 0;
  const known = choices.hostHasDir(dir);
  if (known !== undefined) {
    await (known ? emptyEntry(entry, pack) : copyEntry(entry, pack));
    return choices.written(dir, !known, size);
  }
  const spool = await openSpool(spoolDir);
  try {
    const diffId = await spoolAndHash(entry, spool);
    choices.learned(dir, diffId);
    if (choices.hostHasDiff(diffId)) {
      await writeEntry(pack, emptiedHeader(entry.header), Buffer.alloc(0));
      return choices.written(dir, false, size);
    }
    await pipeline(spool.createReadStream({ start: 0 }), pack.entry(entry.header));
    return choices.written(dir, true, size);
  } finally {
    await spool.close(); // once its read stream closed it, a no-op
  }
}

/**
 * A new file in dir, unlinked as soon as it is open: written and read back through its
 * descriptor only, so that its bytes go with the process however it ends (a SIGKILL mid-push
 * leaves no 100 MB file behind in the temp directory).
 */
async function openSpool(dir: string): Promise<FileHandle> {
  const file = path.join(dir, `paas-push-${process.pid}-${randomBytes(8).toString('hex')}.tar`);
  const handle = await fs.open(file, 'wx+', 0o600);
  try {
    await fs.unlink(file);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** The entry as it is. */
function copyEntry(entry: Entry, pack: Pack): Promise<void> {
  return pipeline(entry, pack.entry(entry.header));
}

/** An empty file in the entry's place (the host has its bytes). */
async function emptyEntry(entry: Entry, pack: Pack): Promise<void> {
  await discard(entry);
  await writeEntry(pack, emptiedHeader(entry.header), Buffer.alloc(0));
}

/** The same header for an empty file (without PAX records: a PAX size would contradict it). */
function emptiedHeader(header: Header): Header {
  return { ...header, size: 0, pax: null };
}

/** Writes the entry to the spool while hashing it; resolves with its diff ID (sha256:<hex>). */
async function spoolAndHash(entry: Entry, spool: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of entry) {
    hash.update(chunk as Buffer);
    await spool.write(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

async function discard(entry: Entry): Promise<void> {
  for await (const _chunk of entry) { /* the host has these bytes */ }
}

async function readAll(entry: Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function writeEntry(pack: Pack, header: Header, content: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ ...header, size: content.length }, content, (error) => (error ? reject(error) : resolve()));
  });
}

/** Passes bytes through, counting them. */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}
