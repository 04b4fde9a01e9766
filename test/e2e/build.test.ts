import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { simpleGit } from 'simple-git';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, examplesDir, paasJson, runId, waitForHttp } from './helpers.js';

interface BuildJson {
  app: string;
  stack: string;
  image: string;
  tags: string[];
  imageId: string;
  sizeBytes: number;
  layers: number;
  layerIds: string[];
  steps: { instruction: string; cached: boolean }[];
  cachedSteps: number;
  durationMs: number;
}

const docker = new Docker();
const images: string[] = [];
const containers: Docker.Container[] = [];

afterAll(async () => {
  for (const container of containers) await container.remove({ force: true }).catch(() => {});
  for (const image of images) await docker.getImage(image).remove({ force: true }).catch(() => {});
});

async function build(dir: string, tag: string): Promise<BuildJson> {
  const result = await paasJson<BuildJson>(['build', dir, '--tag', tag]);
  images.push(...result.tags);
  return result;
}

/** Runs the image as the platform will: PORT from its label, published on 127.0.0.1 only. */
async function runImage(image: string): Promise<string> {
  const info = await docker.getImage(image).inspect();
  const port = info.Config.Labels['paas.port'];
  const container = await docker.createContainer({
    Image: image,
    Env: [`PORT=${port}`],
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  containers.push(container);
  await container.start();
  const hostPort = (await container.inspect()).NetworkSettings.Ports[`${port}/tcp`]![0]!.HostPort;
  return `http://127.0.0.1:${hostPort}/`;
}

describe('every example builds, runs and answers with its name', () => {
  const cases = [
    { example: 'node', stack: 'node' },
    { example: 'python', stack: 'python' },
    { example: 'go', stack: 'go' },
    { example: 'static', stack: 'static' },
    { example: 'dockerfile', stack: 'dockerfile' },
  ];
  for (const { example, stack } of cases) {
    it(`${example}`, async () => {
      const result = await build(path.join(examplesDir, example), `paas-test/${example}:${runId}`);
      expect(result.stack).toBe(stack);
      expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(result.layers).toBeGreaterThan(0);
      expect(result.sizeBytes).toBeGreaterThan(0);
      const labels = (await docker.getImage(result.image).inspect()).Config.Labels;
      expect(labels['paas.app']).toBe(result.app);
      expect(labels['paas.stack']).toBe(stack);
      expect(JSON.parse(labels['paas.processes']!)).toHaveProperty('web');

      const url = await runImage(result.image);
      const answer = await waitForHttp(url);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain(`Hello from the ${example} example, version 1`);
    });
  }
});

describe('git', () => {
  it('a build in a clean repository is tagged and labelled with its commit', async () => {
    const app = copyExample('static');
    try {
      const git = simpleGit(app.dir);
      await git.init();
      await git.addConfig('user.email', 'test@example.com').addConfig('user.name', 'paas test');
      await git.add('.').commit('v1');
      const commit = (await git.revparse(['HEAD'])).trim();
      const result = await paasJson<BuildJson>(['build', app.dir]);
      images.push(...result.tags);
      expect(result.image).toBe(`paas/static:${commit.slice(0, 12)}`);
      expect(result.tags).toEqual([result.image, 'paas/static:latest']);
      const labels = (await docker.getImage(result.image).inspect()).Config.Labels;
      expect(labels['paas.commit']).toBe(commit);
      expect(labels['org.opencontainers.image.revision']).toBe(commit);

      // Uncommitted changes: the tag no longer claims to be that commit.
      writeFileSync(path.join(app.dir, 'index.html'), 'changed\n');
      const dirty = await paasJson<BuildJson>(['build', app.dir]);
      images.push(...dirty.tags);
      expect(dirty.image).toMatch(/^paas\/static:build-\d{8}-\d{6}$/);
    } finally {
      app.cleanup();
    }
  });
});

describe('layer reuse', () => {
  it('a code-only change rebuilds reusing the dependency layer', async () => {
    const app = copyExample('node');
    try {
      const first = await build(app.dir, `paas-test/reuse:${runId}-1`);
      const server = path.join(app.dir, 'server.js');
      // Unique per run: the engine's build cache remembers sources built by earlier runs.
      writeFileSync(server, readFileSync(server, 'utf8').replace('const VERSION = 1;', `const VERSION = 2; // run ${runId}-${Date.now()}`));
      const second = await build(app.dir, `paas-test/reuse:${runId}-2`);

      const install = (r: BuildJson) => r.steps.findIndex((s) => s.instruction.startsWith('RUN npm ci'));
      const copySource = (r: BuildJson) => r.steps.findIndex((s) => s.instruction.startsWith('COPY . .'));
      expect(install(second)).toBeGreaterThan(0);
      expect(second.steps[install(second)]!.cached).toBe(true);
      expect(second.steps[copySource(second)]!.cached).toBe(false);
      // The layers up to and including node_modules are the very same; only the source layer differs.
      const sourceLayer = second.layerIds.length - 1;
      expect(second.layerIds.slice(0, sourceLayer)).toEqual(first.layerIds.slice(0, sourceLayer));
      expect(second.layerIds[sourceLayer]).not.toBe(first.layerIds[sourceLayer]);
      expect(second.imageId).not.toBe(first.imageId);

      const answer = await waitForHttp(await runImage(second.image));
      expect(answer.body).toContain('version 2');
    } finally {
      app.cleanup();
    }
  });
});
