/**
 * Unpacking a tree the agent is handed (a pushed revision from `git archive`, or the source
 * archive of `paas deploy`) into a directory of its own, as root, without trusting any of it:
 * no absolute paths, no `..`, no devices, fifos or hard links, no owners or setuid bits, no
 * entry written through a link, no link that leads out of the tree (those are dropped, and
 * named), and bounded in entries and bytes. Files the agent writes next to a build (the
 * Dockerfile, the image ID) live outside this directory; see build.ts.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream, { type Header } from 'tar-stream';
import { PaasError } from '../errors.js';
import { quote } from '../config/validators.js';
import { formatBytes } from '../ui/format.js';
import { writeError } from './state.js';

export interface TreeLimits {
  /** Bytes of all files together. */
  maxBytes: number;
  /** Entries (files, directories, links). */
  maxEntries: number;
}

export const TREE_LIMITS: TreeLimits = { maxBytes: 2 * 1024 ** 3, maxEntries: 200_000 };
const MAX_PATH = 4096;
const MAX_SEGMENT = 255;
const MAX_CAPTURED = 1024 * 1024;

export type EntryDecision =
  | { action: 'write'; name: string; kind: 'file' | 'directory'; mode: number }
  | { action: 'link'; name: string; target: string }
  | { action: 'capture'; name: string }
  | { action: 'skip'; name: string }
  | { action: 'drop'; name: string; reason: string }
  | { action: 'refuse'; name: string; reason: string };

export interface TreeRules {
  /** Regular files read into memory instead of written (at most 1 MB each). */
  capture?: readonly string[];
  /** Entries neither written nor captured, with everything under them (paas's own `.paas/`). */
  skip?: readonly string[];
}

/** `./a//b/` → `a/b`; undefined for a name that is absolute, climbs out, or is not a clean path. */
export function cleanEntryName(raw: string): string | undefined {
  if (raw.startsWith('/') || raw.includes('\0') || raw.includes('\\')) return undefined;
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..' || Buffer.byteLength(s) > MAX_SEGMENT)) return undefined;
  const name = segments.join('/');
  return Buffer.byteLength(name) > MAX_PATH ? undefined : name;
}

/** Where a link at `name` pointing at `target` leads, inside the tree; undefined when it leads out. */
export function linkTargetInside(name: string, target: string): string | undefined {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return undefined;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
  if (resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/')) return undefined;
  return resolved;
}

const under = (name: string, prefix: string) => name === prefix || name.startsWith(`${prefix}/`);

/** What to do with one archive entry. Pure: the header decides (the writer still checks the disk). */
export function decideEntry(header: Pick<Header, 'name'> & Partial<Pick<Header, 'type' | 'mode' | 'linkname'>>, rules: TreeRules = {}): EntryDecision {
  const name = cleanEntryName(header.name);
  const shown = quote(header.name, 120);
  if (name === undefined) return { action: 'refuse', name: header.name, reason: `${shown} is an absolute path, climbs out with "..", or is not a plain path` };
  if (name === '') return { action: 'skip', name };
  if (rules.capture?.includes(name)) {
    return header.type === 'file' || header.type === 'contiguous-file'
      ? { action: 'capture', name }
      : { action: 'refuse', name, reason: `${shown} must be a regular file` };
  }
  if (rules.skip?.some((prefix) => under(name, prefix))) return { action: 'skip', name };
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      // Only the owner's execute bit is kept (as git does): no setuid, setgid, sticky or group/other writes.
      return { action: 'write', name, kind: 'file', mode: ((header.mode ?? 0o644) & 0o100) ? 0o755 : 0o644 };
    case 'directory':
      return { action: 'write', name, kind: 'directory', mode: 0o755 };
    case 'symlink': {
      const target = header.linkname ?? '';
      if (linkTargetInside(name, target) === undefined) return { action: 'drop', name, reason: `${shown} is a link to ${quote(target, 120)}, outside the app` };
      return { action: 'link', name, target };
    }
    case 'link':
      return { action: 'refuse', name, reason: `${shown} is a hard link: only files, directories and symbolic links can be deployed` };
    case 'character-device':
    case 'block-device':
      return { action: 'refuse', name, reason: `${shown} is a device file: only files, directories and symbolic links can be deployed` };
    case 'fifo':
      return { action: 'refuse', name, reason: `${shown} is a named pipe: only files, directories and symbolic links can be deployed` };
    default:
      return { action: 'refuse', name, reason: `${shown} has the unsupported type ${String(header.type)}` };
  }
}

export interface ExtractedTree {
  captured: Map<string, Buffer>;
  /** Links left out because they lead outside the tree. */
  dropped: string[];
  files: number;
  bytes: number;
}

function refused(reason: string, what: string, hint: string): PaasError {
  return new PaasError('usage', `the ${what} was refused: ${reason}`, { hint });
}

/** Counts the bytes that flow through, and fails the stream beyond `max`. */
function byteLimit(max: number, onOver: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > max) return done(onOver());
      done(null, chunk);
    },
  });
}

/** mkdir -p below root that never goes through a link (each part must be a real directory). */
async function ensureDir(root: string, relative: string): Promise<void> {
  let at = root;
  for (const part of relative.split('/').filter(Boolean)) {
    at = path.join(at, part);
    const stat = await fs.lstat(at).catch(() => undefined);
    if (stat?.isDirectory()) continue;
    if (stat) throw new PaasError('usage', `the tree was refused: ${quote(path.relative(root, at))} is not a directory, but entries lie under it`, { hint: 'check the files of the app' });
    await fs.mkdir(at, { mode: 0o755 });
  }
}

/**
 * Unpacks a tar stream (gzip'd or not) into `root` (an empty directory of the agent's) by the
 * rules above. `what` names the tree in messages ("pushed revision", "source archive").
 * Refuses the whole tree (and the caller removes `root`) on the first entry it cannot take.
 */
export async function extractTree(input: Readable, root: string, options: TreeRules & { what: string; limits?: TreeLimits }): Promise<ExtractedTree> {
  const limits = options.limits ?? TREE_LIMITS;
  const hint = 'remove the entry from the app (or add it to .dockerignore), then deploy again';
  const result: ExtractedTree = { captured: new Map(), dropped: [], files: 0, bytes: 0 };
  const links: string[] = [];
  const extract = tarStream.extract();
  let entries = 0;
  const tooBig = () => refused(`it holds more than ${formatBytes(limits.maxBytes)}`, options.what, 'keep large files out of the app (.dockerignore) or serve them from elsewhere');
  const reading = (async () => {
    for await (const entry of extract) {
      entries += 1;
      if (entries > limits.maxEntries) throw refused(`it holds more than ${limits.maxEntries} entries`, options.what, 'keep generated files out of the app (.dockerignore)');
      const decision = decideEntry(entry.header, options);
      const size = entry.header.size ?? 0;
      if (decision.action === 'refuse') throw refused(decision.reason, options.what, hint);
      if (decision.action === 'capture') {
        if (size > MAX_CAPTURED) throw refused(`${quote(decision.name)} is larger than ${formatBytes(MAX_CAPTURED)}`, options.what, hint);
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        result.captured.set(decision.name, Buffer.concat(chunks));
        continue;
      }
      if (decision.action !== 'write' || decision.kind !== 'file') entry.resume();
      if (decision.action === 'skip') continue;
      if (decision.action === 'drop') {
        result.dropped.push(decision.name);
        continue;
      }
      const target = path.join(root, decision.name);
      await ensureDir(root, path.posix.dirname(decision.name) === '.' ? '' : path.posix.dirname(decision.name));
      if (decision.action === 'link') {
        await fs.symlink(decision.target, target).catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? refused(`${quote(decision.name)} appears twice`, options.what, hint) : writeError(error, target);
        });
        links.push(decision.name);
        continue;
      }
      if (decision.kind === 'directory') {
        await ensureDir(root, decision.name);
        continue;
      }
      result.bytes += size;
      if (result.bytes > limits.maxBytes) throw tooBig();
      // O_EXCL|O_NOFOLLOW: never through a link, never over an entry written before.
      const handle = await fs.open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, decision.mode)
        .catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? refused(`${quote(decision.name)} appears twice`, options.what, hint) : writeError(error, target, size);
        });
      try {
        await pipeline(entry, handle.createWriteStream());
      } catch (error) {
        throw writeError(error, target, size);
      } finally {
        await handle.close().catch(() => {});
      }
      result.files += 1;
    }
  })();
  // Gzip is recognised by its magic bytes; what it unpacks to is bounded by the limit below.
  const head = await peek(input, 2);
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const tarBytes = limits.maxBytes + limits.maxEntries * 1024 + 1024 * 1024;
  try {
    await Promise.all([
      gzip ? pipeline(input, createGunzip(), byteLimit(tarBytes, tooBig), extract) : pipeline(input, byteLimit(tarBytes, tooBig), extract),
      reading,
    ]);
  } catch (error) {
    extract.destroy();
    input.destroy();
    if (error instanceof PaasError) throw error;
    const message = (error as Error).message;
    if ((error as NodeJS.ErrnoException).code?.startsWith('Z_') || /unexpected end|invalid tar|header/i.test(message)) {
      throw refused(`it is not a valid tar archive (${message})`, options.what, 'send it again');
    }
    throw error;
  }
  // Links were checked by their text; a chain of them can still lead out (a link through a link).
  // Now that the whole tree exists, every link is resolved for real and dropped if it does.
  const realRoot = await fs.realpath(root);
  for (const name of links) {
    const real = await fs.realpath(path.join(root, name)).catch(() => undefined);
    if (real !== undefined && real !== realRoot && !real.startsWith(`${realRoot}/`)) {
      await fs.rm(path.join(root, name));
      result.dropped.push(name);
    }
  }
  return result;
}

/** Reads the first `count` bytes of a stream and puts them back. */
async function peek(stream: Readable, count: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= count) done();
    };
    const done = () => {
      stream.off('data', onData);
      stream.off('end', done);
      stream.off('error', onError);
      stream.pause();
      if (buffered.length) stream.unshift(buffered);
      resolve(buffered.subarray(0, count));
    };
    const onError = (error: Error) => { stream.off('data', onData); reject(error); };
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('error', onError);
  });
}
