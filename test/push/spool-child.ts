/*
 * A push that stalls mid-spool, for test/push/spool.test.ts: the image has two layers, the host
 * reports having one, and the first layer directory is unknown, so its layer.tar is spooled to
 * the temp directory to be hashed. Its save stream sends SPOOL_MIB MiB of that layer and never
 * ends; the test kills this process with SIGKILL there. Run with `node --import tsx`.
 */
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import { chainIds } from '../../src/push/layers.js';
import { pushImage, type ImageReceiver } from '../../src/push/thin.js';

const MIB = 1024 * 1024;
const spoolMib = Number(process.env.SPOOL_MIB ?? 16);
const diffIds = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`];

const docker = {
  getImage: () => ({
    inspect: async () => ({ RootFS: { Type: 'layers', Layers: diffIds } }),
    get: async () => {
      const pack = tarStream.pack();
      pack.entry({ name: 'dir0/', type: 'directory' });
      const layer = pack.entry({ name: 'dir0/layer.tar', size: 4 * spoolMib * MIB });
      for (let i = 0; i < spoolMib; i += 1) layer.write(Buffer.alloc(MIB, i));
      return pack;
    },
  }),
} as unknown as Docker;

const receiver: ImageReceiver = {
  chainIds: async () => new Set([chainIds(diffIds)[0]!]),
  load: (archive) => new Promise(() => { archive.resume(); }),
};

// The stalled streams hold no handle open: this keeps the process alive until it is killed.
setInterval(() => {}, 60_000);
await pushImage(docker, 'app:1', receiver, { cachePath: process.env.CACHE_PATH! });
