import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { followProgress } from '../../src/docker/engine.js';
import { chainIds } from '../../src/push/layers.js';
import { pushImage, type ImageReceiver, type PushResult } from '../../src/push/thin.js';
import { sandboxDown, sandboxUp } from '../../src/sandbox/index.js';
import { SshConnection } from '../../src/ssh/client.js';
import { examplesDir, runId, scratchDir } from './helpers.js';

const docker = new Docker();
const home = scratchDir('paas-home-');
const sandbox = `push-${runId}`;
const repo = `paas-test-push-${runId}`;
const v1 = `${repo}:v1`;
const v2 = `${repo}:v2`;
let ssh: SshConnection;

/** A receiver that runs docker on the host directly (the product's receiver talks to its agent). */
function sshReceiver(connection: SshConnection): ImageReceiver {
  return {
    where: connection.where,
    async chainIds() {
      const listed = await connection.exec(['docker', 'image', 'ls', '-q', '--no-trunc']);
      if (listed.code !== 0) throw new Error(listed.stderr.trim());
      const ids = [...new Set(listed.stdout.split('\n').filter(Boolean))];
      if (ids.length === 0) return new Set();
      const inspected = await connection.exec(['docker', 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', ...ids]);
      if (inspected.code !== 0) throw new Error(inspected.stderr.trim());
      const layerLists = inspected.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[] | null);
      return new Set(layerLists.flatMap((layers) => chainIds(layers ?? [])));
    },
    async load(archive) {
      const stderr: Buffer[] = [];
      const code = await connection.execStream(['docker', 'load'], { stdin: archive as Readable, onStderr: (d) => stderr.push(d) });
      if (code !== 0) throw new Error(Buffer.concat(stderr).toString('utf8').trim() || `docker load exited with ${code}`);
    },
  };
}

async function onHost(argv: string[]): Promise<string> {
  const result = await ssh.exec(argv);
  expect(result.code, `${argv.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
}

/** The node example with VERSION = version, on node:20-bookworm-slim; only server.js changes between versions. */
async function buildApp(tag: string, version: number): Promise<void> {
  const pack = tarStream.pack();
  const source = (file: string) => readFileSync(path.join(examplesDir, 'node', file), 'utf8');
  pack.entry({ name: 'Dockerfile' }, 'FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY package.json ./\nCOPY server.js ./\nCMD ["node", "server.js"]\n');
  pack.entry({ name: 'package.json' }, source('package.json'));
  pack.entry({ name: 'server.js' }, source('server.js').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
  pack.finalize();
  const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true });
  const events = await followProgress(docker, stream, () => {});
  const failure = events.find((e) => e.error);
  if (failure) throw new Error(`building ${tag} failed: ${failure.error}`);
}

async function fullSaveBytes(tag: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of (await docker.getImage(tag).get()) as Readable) bytes += (chunk as Buffer).length;
  return bytes;
}

const versionOnHost = (tag: string) => onHost(['docker', 'run', '--rm', tag, 'grep', '-o', 'VERSION = [0-9]*', '/app/server.js']);
const log = (label: string, r: PushResult) =>
  console.log(`${label}: sent ${r.bytesSent} B${r.fullArchiveBytes ? ` (full archive ${r.fullArchiveBytes} B)` : ''}, layers ${r.layersSent} sent / ${r.layersSkipped} skipped of ${r.layersTotal}, ${r.durationMs} ms`);

beforeAll(async () => {
  vi.stubEnv('PAAS_HOME', home.dir);
  const info = await sandboxUp(docker, sandbox);
  const hostKey = info.hostKey.split(' ')[1];
  ssh = await SshConnection.connect({
    host: '127.0.0.1', port: info.sshPort, username: 'root', privateKey: readFileSync(info.keyPath),
    verifyHostKey: (key) => (key.toString('base64') === hostKey ? undefined : new PaasError('hostKey', 'not the sandbox\'s host key')),
  });
  await buildApp(v1, 1);
  await buildApp(v2, 2);
});

afterAll(async () => {
  ssh?.close();
  await sandboxDown(docker, sandbox).catch(() => {});
  for (const tag of [v2, v1]) await docker.getImage(tag).remove({ force: true }).catch(() => {});
  vi.unstubAllEnvs();
  home.cleanup();
});

describe('thin image push to a host without a registry', () => {
  it('sends every layer the first time; the image runs on the host', async () => {
    const lines: string[] = [];
    const result = await pushImage(docker, v1, sshReceiver(ssh), { onProgress: (l) => lines.push(l) });
    log('first push', result);
    expect(result).toMatchObject({ image: v1, fallback: false, layersSkipped: 0 });
    expect(result.layersSent).toBe(result.layersTotal);
    expect(lines[0]).toBe(`0 of ${result.layersTotal} layers already on the host`);
    expect(await onHost(['docker', 'run', '--rm', v1, 'node', '-e', 'console.log(1)'])).toBe('1');
    expect(await versionOnHost(v1)).toBe('VERSION = 1');
  });

  it('sends only the changed layer of the next version', async () => {
    const full = await fullSaveBytes(v2);
    const result = await pushImage(docker, v2, sshReceiver(ssh));
    log('second push', result);
    console.log(`full docker save of ${v2}: ${full} B`);
    expect(result.fallback).toBe(false);
    expect(result.layersSkipped).toBeGreaterThanOrEqual(result.layersTotal - 1);
    expect(result.bytesSent).toBeLessThan(full * 0.02);
    expect(await onHost(['docker', 'run', '--rm', v2, 'node', '-e', 'console.log(1)'])).toBe('1');
    expect(await versionOnHost(v2)).toBe('VERSION = 2');
  });

  it('falls back to the full archive when the host lost layers it claims to have', async () => {
    const receiver = sshReceiver(ssh);
    const stale = await receiver.chainIds();
    await onHost(['docker', 'rmi', '-f', v1, v2]);
    await onHost(['docker', 'image', 'prune', '-af']);
    expect((await receiver.chainIds()).size).toBe(0);
    const lying: ImageReceiver = { ...receiver, chainIds: async () => stale };
    const result = await pushImage(docker, v2, lying);
    log('fallback push', result);
    expect(result).toMatchObject({ fallback: true, layersSkipped: 0 });
    expect(result.fullArchiveBytes).toBeGreaterThan(0);
    expect(await versionOnHost(v2)).toBe('VERSION = 2');
  });
});
