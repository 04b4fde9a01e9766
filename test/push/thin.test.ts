import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { LayerDirCache } from '../../src/push/cache.js';
import { chainIds } from '../../src/push/layers.js';
import { pushImage, type ImageReceiver } from '../../src/push/thin.js';

const sha = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A fake image: layer contents, their diff IDs, and the `docker save` archive of it (legacy format, lexical order). */
function fakeImage(contents: Buffer[], dirs = contents.map((_, i) => `dir${i}`)) {
  const diffIds = contents.map((c) => sha(c));
  const configName = `${'c'.repeat(64)}.json`;
  const entries: { header: tarStream.Header | { name: string; type: 'symlink'; linkname: string }; body?: Buffer }[] = [];
  const firstDirOf = new Map<string, string>();
  contents.forEach((content, i) => {
    const dir = dirs[i]!;
    entries.push({ header: { name: `${dir}/`, type: 'directory' } as tarStream.Header });
    entries.push({ header: { name: `${dir}/VERSION` } as tarStream.Header, body: Buffer.from('1.0') });
    entries.push({ header: { name: `${dir}/json` } as tarStream.Header, body: Buffer.from(JSON.stringify({ id: dir })) });
    const first = firstDirOf.get(diffIds[i]!);
    if (first) entries.push({ header: { name: `${dir}/layer.tar`, type: 'symlink', linkname: `../${first}/layer.tar` } });
    else entries.push({ header: { name: `${dir}/layer.tar` } as tarStream.Header, body: content });
    if (!first) firstDirOf.set(diffIds[i]!, dir);
  });
  entries.push({ header: { name: configName } as tarStream.Header, body: Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } })) });
  entries.push({ header: { name: 'manifest.json' } as tarStream.Header, body: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['app:1'], Layers: dirs.map((d) => `${d}/layer.tar`) }])) });
  entries.push({ header: { name: 'repositories' } as tarStream.Header, body: Buffer.from('{}') });
  const save = (): Readable => {
    const pack = tarStream.pack();
    for (const { header, body } of entries) pack.entry(header, body ?? Buffer.alloc(0));
    pack.finalize();
    return pack as unknown as Readable;
  };
  const docker = {
    getImage: (name: string) => ({
      inspect: async () => {
        if (name !== 'app:1') throw Object.assign(new Error('no such image'), { statusCode: 404 });
        return { RootFS: { Type: 'layers', Layers: diffIds } };
      },
      get: async () => save(),
    }),
  } as unknown as Docker;
  return { diffIds, chains: chainIds(diffIds), dirs, docker };
}

/** The same image as Docker Engine 25+ saves it: the OCI layout, each uncompressed layer a blob named by its diff ID. */
function fakeOciImage(layerContents: Buffer[]) {
  const diffIds = layerContents.map((c) => sha(c));
  const blob = (body: Buffer) => ({ name: `blobs/sha256/${sha(body).slice('sha256:'.length)}`, body });
  const config = blob(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } })));
  const layers = [...new Set(diffIds)].map((_, i) => blob(layerContents[diffIds.indexOf([...new Set(diffIds)][i]!)]!));
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: sha(config.body) }, layers: diffIds.map((digest) => ({ digest })) })));
  const entries = [
    { name: 'blobs/', type: 'directory' as const }, { name: 'blobs/sha256/', type: 'directory' as const },
    ...[...layers, config, manifest].sort((a, b) => a.name.localeCompare(b.name)),
    { name: 'index.json', body: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: sha(manifest.body) }] })) },
    { name: 'manifest.json', body: Buffer.from(JSON.stringify([{ Config: config.name, RepoTags: ['app:1'], Layers: diffIds.map((d) => `blobs/sha256/${d.slice(7)}`) }])) },
    { name: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
  ];
  const docker = {
    getImage: () => ({
      inspect: async () => ({ RootFS: { Type: 'layers', Layers: diffIds } }),
      get: async () => {
        const pack = tarStream.pack();
        for (const entry of entries) pack.entry({ name: entry.name, type: 'type' in entry ? entry.type : 'file' }, 'body' in entry ? entry.body : Buffer.alloc(0));
        pack.finalize();
        return pack as unknown as Readable;
      },
    }),
  } as unknown as Docker;
  return { diffIds, chains: chainIds(diffIds), docker, configName: config.name };
}

interface Received { name: string; type: string; size: number; digest: string }

/** Reads every archive it is sent; claims the chains `reported`; fails a load like docker 20.10 would when an emptied layer's chain is not in `real`. */
function fakeReceiver(reported: string[], real: string[] = reported, diffIds: string[] = []) {
  const loads: Received[][] = [];
  const receiver: ImageReceiver & { loads: Received[][] } = {
    loads,
    where: 'root@fake:22',
    chainIds: async () => new Set(reported),
    load: async (archive) => {
      const received: Received[] = [];
      const extract = tarStream.extract();
      const reading = pipeline(archive as Readable, createGunzip(), extract);
      for await (const entry of extract) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        received.push({ name: entry.header.name, type: entry.header.type, size: entry.header.size, digest: sha(Buffer.concat(chunks)) });
      }
      await reading;
      loads.push(received);
      const chains = chainIds(diffIds);
      const layers = received.filter((e) => e.name.endsWith('/layer.tar') && e.type === 'file');
      layers.forEach((layer, i) => {
        if (layer.size === 0 && !real.includes(chains[i]!)) throw new Error(`open /var/lib/docker/tmp/x/layer.tar: invalid diffID for layer ${i}`);
      });
    },
  };
  return receiver;
}

const layerSizes = (received: Received[]) => received.filter((e) => e.name.endsWith('/layer.tar')).map((e) => e.size);

const scratch: string[] = [];
function cachePath(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'paas-pushcache-test-'));
  scratch.push(dir);
  return path.join(dir, 'layer-dirs.json');
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const contents = [Buffer.alloc(300_000, 1), Buffer.alloc(200_000, 2), Buffer.from('app code v1')];

describe('pushImage', () => {
  it('sends every layer to a host that has none, and learns the layer directories', async () => {
    const image = fakeImage(contents);
    const receiver = fakeReceiver([]);
    const cacheFile = cachePath();
    const lines: string[] = [];
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cacheFile, onProgress: (l) => lines.push(l) });
    expect(result).toMatchObject({ image: 'app:1', layersTotal: 3, layersSent: 3, layersSkipped: 0, fallback: false, skippedEntirely: false });
    expect(result.bytesSent).toBeGreaterThan(0);
    const [received] = receiver.loads;
    expect(layerSizes(received!)).toEqual(contents.map((c) => c.length));
    expect(received!.map((e) => e.name)).toContain('manifest.json');
    expect(received!.filter((e) => e.name.endsWith('layer.tar')).map((e) => e.digest)).toEqual(image.diffIds);
    expect(lines[0]).toBe('0 of 3 layers already on the host');
    const cache = await LayerDirCache.load(cacheFile);
    expect(image.dirs.map((d) => cache.lookup(d))).toEqual(image.diffIds);
  });

  it('empties the layers the host has, hashing unknown directories (and learning them)', async () => {
    const image = fakeImage(contents);
    const receiver = fakeReceiver(image.chains.slice(0, 2), undefined, image.diffIds);
    const cacheFile = cachePath();
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cacheFile });
    expect(result).toMatchObject({ layersSent: 1, layersSkipped: 2, fallback: false, skippedEntirely: false });
    expect(layerSizes(receiver.loads[0]!)).toEqual([0, 0, contents[2]!.length]);
    expect((await LayerDirCache.load(cacheFile)).lookup('dir1')).toBe(image.diffIds[1]);
  });

  it('decides from the cache when it knows a directory, and sends a layer whose diff ID repeats', async () => {
    const repeated = [contents[0]!, contents[1]!, contents[0]!, contents[2]!];
    const image = fakeImage(repeated);
    const cacheFile = cachePath();
    const cache = await LayerDirCache.load(cacheFile);
    image.dirs.forEach((dir, i) => cache.learn(dir, image.diffIds[i]!));
    await cache.save();
    const receiver = fakeReceiver(image.chains.slice(0, 3), undefined, image.diffIds);
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cacheFile });
    // dir0 holds a diff ID that occurs twice: ambiguous, so sent; dir2 is a symlink to it.
    const layers = receiver.loads[0]!.filter((e) => e.name.endsWith('/layer.tar'));
    expect(layers.map((e) => [e.type, e.size])).toEqual([['file', contents[0]!.length], ['file', 0], ['symlink', 0], ['file', contents[2]!.length]]);
    expect(result).toMatchObject({ layersSkipped: 1, layersSent: 3 });
  });

  it('sends only configs when the host has every layer', async () => {
    const image = fakeImage(contents);
    const receiver = fakeReceiver(image.chains, undefined, image.diffIds);
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath() });
    expect(result).toMatchObject({ layersSent: 0, layersSkipped: 3, skippedEntirely: true });
    expect(layerSizes(receiver.loads[0]!)).toEqual([0, 0, 0]);
  });

  it('falls back to the full archive once when the host lacks a layer it reported', async () => {
    const image = fakeImage(contents);
    const receiver = fakeReceiver(image.chains, [], image.diffIds);
    const lines: string[] = [];
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath(), onProgress: (l) => lines.push(l) });
    expect(result).toMatchObject({ fallback: true, layersSent: 3, layersSkipped: 0 });
    expect(receiver.loads).toHaveLength(2);
    expect(layerSizes(receiver.loads[1]!)).toEqual(contents.map((c) => c.length));
    expect(result.fullArchiveBytes).toBeGreaterThan(0);
    expect(result.bytesSent).toBeGreaterThan(result.fullArchiveBytes!);
    expect(lines.some((l) => l.includes('invalid diffID') && l.includes('sending the whole image'))).toBe(true);
  });

  it('reports a failed load without retrying when nothing was emptied', async () => {
    const image = fakeImage(contents);
    const receiver: ImageReceiver = { where: 'root@fake:22', chainIds: async () => new Set(), load: async (archive) => { (archive as Readable).resume(); throw new Error('no space left on device'); } };
    const error = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaasError);
    expect((error as PaasError).kind).toBe('ssh');
    expect((error as PaasError).where).toBe('root@fake:22');
    expect((error as PaasError).message).toContain('no space left on device');
  });

  it('stops the local side when the receiver fails early, without hanging', async () => {
    const image = fakeImage([Buffer.alloc(5_000_000, 7), ...contents]);
    const receiver: ImageReceiver = { chainIds: async () => new Set(), load: async () => { throw new PaasError('ssh', 'the SSH connection was lost'); } };
    const error = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath(), compressionLevel: 0 }).catch((e: unknown) => e);
    expect((error as PaasError).message).toBe('the SSH connection was lost');
  });

  it('reports a broken local save as a docker error, stops the receiver and leaves no spool files', async () => {
    const before = readdirSync(os.tmpdir()).filter((n) => n.startsWith('paas-push-')).length;
    const image = fakeImage(contents);
    const broken = {
      getImage: (name: string) => ({
        inspect: () => image.docker.getImage(name).inspect(),
        get: async () => Readable.from((async function* () {
          yield Buffer.alloc(512, 'x'); // not a tar header
          throw new Error('unexpected EOF from the engine');
        })()),
      }),
    } as unknown as Docker;
    let receiverSaw: unknown;
    const receiver: ImageReceiver = {
      chainIds: async () => new Set(image.chains.slice(0, 1)),
      load: async (archive) => {
        try { for await (const _chunk of archive as Readable) { /* read */ } } catch (error) { receiverSaw = error; throw error; }
      },
    };
    const error = await pushImage(broken, 'app:1', receiver, { cachePath: cachePath() }).catch((e: unknown) => e);
    expect((error as PaasError).kind).toBe('docker');
    expect(receiverSaw).toBeInstanceOf(Error);
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith('paas-push-')).length).toBe(before);
  });

  it('says when the image is not on the local engine', async () => {
    const image = fakeImage(contents);
    const error = await pushImage(image.docker, 'missing:1', fakeReceiver([]), { cachePath: cachePath() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaasError);
    expect((error as PaasError).kind).toBe('docker');
  });

  it('wraps a failing host listing as an ssh error', async () => {
    const image = fakeImage(contents);
    const receiver: ImageReceiver = { chainIds: async () => { throw new Error('permission denied on /var/run/docker.sock'); }, load: async () => {} };
    const error = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath() }).catch((e: unknown) => e);
    expect((error as PaasError).kind).toBe('ssh');
    expect((error as PaasError).message).toContain('permission denied');
  });

  it('the OCI layout of Docker Engine 25+: empties the layer blobs the host has, by their digest alone; sends configs and the rest whole', async () => {
    const image = fakeOciImage(contents);
    const receiver = fakeReceiver(image.chains.slice(0, 2));
    const lines: string[] = [];
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath(), onProgress: (l) => lines.push(l) });
    expect(result).toMatchObject({ layersTotal: 3, layersSent: 1, layersSkipped: 2, fallback: false });
    const blobs = new Map(receiver.loads[0]!.filter((e) => e.name.startsWith('blobs/sha256/') && e.type === 'file').map((e) => [e.name, e.size]));
    expect(image.diffIds.map((d) => blobs.get(`blobs/sha256/${d.slice(7)}`))).toEqual([0, 0, contents[2]!.length]);
    expect(blobs.get(image.configName)).toBeGreaterThan(0);
    expect(receiver.loads[0]!.map((e) => e.name)).toEqual(expect.arrayContaining(['index.json', 'manifest.json', 'oci-layout']));
    expect(lines.filter((l) => l.startsWith('layer ') && l.endsWith('already on the host'))).toHaveLength(2);
    expect(lines).toContain(`layer ${image.diffIds[2]!.slice(7, 19)} (11 B): sent`);
  });

  it('the OCI layout to a host with none of the layers: every blob whole', async () => {
    const image = fakeOciImage(contents);
    const receiver = fakeReceiver([]);
    const result = await pushImage(image.docker, 'app:1', receiver, { cachePath: cachePath() });
    expect(result).toMatchObject({ layersSent: 3, layersSkipped: 0 });
    const sizes = receiver.loads[0]!.filter((e) => image.diffIds.some((d) => e.name === `blobs/sha256/${d.slice(7)}`)).map((e) => e.size).sort((a, b) => a - b);
    expect(sizes).toEqual(contents.map((c) => c.length).sort((a, b) => a - b));
  });
});
