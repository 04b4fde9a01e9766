import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, paas } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

interface DeployJson {
  app: string;
  release: number;
  image: string;
  build: 'source' | 'image';
  bytesSent: number;
  urls: string[];
  hosts: { host: string; version: number; bytesSent: number; sourceBytes?: number; agent?: 'standby' | 'process'; pushes: { image: string; bytesSent: number; layersSkipped: number; layersTotal: number }[] }[];
  seconds: Record<string, number>;
}

const world = testWorld('deploy');
const app = 'shop';
const example = copyExample('node');
let host: TestHost;

/** The example with VERSION set: a one-line code change. */
function setVersion(version: number): void {
  const file = path.join(example.dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
}

const deploy = (...extra: string[]) => world.cli(['deploy', example.dir, '--app', app, ...world.at(host), ...extra]);
const deployJson = async () => {
  const result = await deploy('--json');
  expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
  return JSON.parse(result.stdout) as DeployJson;
};
const versionServed = async () => /version (\d+)/.exec((await viaNginx(host, app)).body)?.[1];
/** The standby agents' sockets on the host (see src/agent/standby.ts). */
const standbySockets = async () => (await execa('docker', ['exec', host.container, 'find', '/var/lib/paas/agent', '-name', 'standby-*.sock'])).stdout.split('\n').filter(Boolean);
async function waitForStandby(): Promise<void> {
  for (let i = 0; i < 100 && (await standbySockets()).length === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
  expect(await standbySockets()).toHaveLength(1);
}

beforeAll(async () => {
  host = await world.addHost('a');
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('paas deploy to a sandbox host', () => {
  it('deploys an example; its page answers through the host\'s nginx', async () => {
    const result = await deployJson();
    expect(result.release).toBe(1);
    expect(result.urls).toEqual([`http://${app}.localhost:${host.httpPort}/`]);
    // The first deploy pushes the dependency image (node_modules and the base layers), then the
    // host builds the source part from the app's files.
    expect(result.build).toBe('source');
    expect(result.hosts[0]!.pushes.map((p) => p.image)).toEqual([expect.stringMatching(new RegExp(`^paas/${app}:deps-[0-9a-f]{12}$`))]);
    expect(result.hosts[0]!.pushes[0]!.bytesSent).toBeGreaterThan(1_000_000);
    expect(result.hosts[0]!.sourceBytes).toBeGreaterThan(0);
    // No standby agent on a new host: this deploy started one, and leaves one for the next.
    expect(result.hosts[0]!.agent).toBe('process');
    const answer = await viaNginx(host, app);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('Hello from the node example, version 1\n');
    // Other host names get the default server, not the app.
    expect((await viaNginx(host, 'nope')).status).toBe(404);
  });

  it('zero downtime: 10 consecutive rollouts of changed code under constant load, 0 failed requests', async () => {
    const load = startLoad({
      url: `http://127.0.0.1:${host.httpPort}/`,
      hostHeader: `${app}.localhost`,
      expectBody: /^Hello from the node example, version \d+\n$/,
      maxDurationMs: 300_000,
    });
    const pushed: number[] = [];
    const agents: (string | undefined)[] = [];
    for (let version = 2; version <= 11; version += 1) {
      setVersion(version);
      // v2 is deployed by the standby agent v1 left; v3 finds its socket gone and starts an agent.
      if (version <= 3) await waitForStandby();
      if (version === 3) await execa('docker', ['exec', host.container, 'sh', '-c', 'rm -f /var/lib/paas/agent/standby-*.sock']);
      const result = await deployJson();
      agents.push(result.hosts[0]!.agent);
      expect(result.release).toBe(version);
      // The dependencies did not change: no image travels, only the source.
      expect(result.hosts[0]!.pushes).toEqual([]);
      pushed.push(result.bytesSent);
      expect(await versionServed()).toBe(String(version));
    }
    const report = await load.stop();
    console.log(`${formatLoadReport(report)}; bytes pushed per rollout: ${pushed.join(', ')}; agents: ${agents.join(', ')}`);
    expect(agents.slice(0, 2)).toEqual(['standby', 'process']);
    // Back to back, a deploy may come before the last one's standby listens: then it starts one.
    expect(agents.filter((a) => a === 'standby').length).toBeGreaterThanOrEqual(5);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.sent).toBeGreaterThan(2000);
    expect(report.keepAlive.sent).toBeGreaterThan(0);
    expect(report.newConnection.sent).toBeGreaterThan(0);
    expect(Object.keys(report.bodies).length).toBeGreaterThanOrEqual(10);
    // A one-line change moves kilobytes, not the image.
    for (const bytes of pushed) expect(bytes).toBeLessThan(100_000);
  });

  it('a release that fails its health check: non-zero exit with its log tail, old release keeps serving, 0 failed requests', async () => {
    const server = path.join(example.dir, 'server.js');
    const good = readFileSync(server, 'utf8');
    writeFileSync(server, `console.error('boom: DATABASE_URL is not set');\nprocess.exit(3);\n${good}`);
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version 11\n$/, maxDurationMs: 120_000 });
    try {
      const result = await deploy();
      expect(result.exitCode).toBe(11);
      expect(result.stderr).toMatch(/paas-shop\.web\.1\.v12 exited with code 3 (and was restarted )?before it became healthy/);
      expect(result.stderr).toContain('boom: DATABASE_URL is not set');
      expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    } finally {
      writeFileSync(server, good);
    }
    const report = await load.stop();
    console.log(formatLoadReport(report));
    expect(report.failed).toBe(0);
    expect(await versionServed()).toBe('11');
    const releases = await world.cliJson<{ current: number; releases: { version: number }[] }>(['releases', '--app', app, ...world.at(host)]);
    expect(releases.current).toBe(11);
    expect(releases.releases.map((r) => r.version)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('rollback: the previous version answers within seconds, with no build (no local engine at all)', async () => {
    const started = Date.now();
    const result = await world.cli(['rollback', '--app', app, ...world.at(host), '--json'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    const seconds = (Date.now() - started) / 1000;
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { release: number; rolledBackTo: number };
    expect(json).toMatchObject({ release: 12, rolledBackTo: 10 });
    expect(await versionServed()).toBe('10');
    console.log(`rollback to v10 answered after ${seconds.toFixed(1)} s`);
    // An explicit version, further back, still has its image (the last 5 are kept).
    const explicit = await world.cliJson<{ release: number }>(['rollback', 'v8', '--app', app, ...world.at(host)]);
    expect(explicit.release).toBe(13);
    expect(await versionServed()).toBe('8');
    // Older ones were pruned: refused, and nothing changes.
    const pruned = await world.cli(['rollback', 'v2', '--app', app, ...world.at(host)]);
    expect(pruned.exitCode).toBe(2);
    expect(pruned.stderr).toContain('is no longer on this host');
    expect(await versionServed()).toBe('8');
  });

  it('lock: a concurrent deploy of the same app fails at once, naming the holder', async () => {
    setVersion(14);
    // This release takes 5 s to start listening, so the first deploy surely holds the lock while
    // the second one asks for it (a warm deploy takes about 2 s otherwise).
    const server = path.join(example.dir, 'server.js');
    const fast = readFileSync(server, 'utf8');
    writeFileSync(server, `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);\n${fast}`);
    const first = deploy('--json');
    // Wait until the first deploy holds the app's lock on the host.
    const lockFile = `/run/paas/locks/${app}.holder`;
    const deadline = Date.now() + 60_000;
    while ((await execa('docker', ['exec', host.container, 'test', '-f', lockFile], { reject: false })).exitCode !== 0) {
      if (Date.now() > deadline) throw new Error('the first deploy never took the lock');
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = Date.now();
    const second = await deploy();
    expect(second.exitCode).toBe(10);
    expect(second.stderr).toMatch(new RegExp(`${app} is locked by \\S+@\\S+ \\(deploy from .+\\) since \\d{4}-\\d\\d-\\d\\dT`));
    expect(second.stderr).toContain('--wait');
    expect(Date.now() - started).toBeLessThan(10_000);
    const done = await first;
    writeFileSync(server, fast);
    expect(done.exitCode, done.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(done.stdout).release).toBe(14);
    expect(await versionServed()).toBe('14');
  });

  it('apps and apps:info describe what runs', async () => {
    // 11 deploys, 2 rollbacks, the deploy that held the lock: v14 (a failed deploy takes no number).
    const apps = await world.cliJson<{ apps: { app: string; current: number }[] }[]>(['apps', ...world.at(host)]);
    expect(apps[0]!.apps).toEqual([expect.objectContaining({ app, current: 14 })]);
    const info = await world.cliJson<{ current: number; containers: { name: string }[]; urls: string[] }[]>(['apps:info', '--app', app, ...world.at(host)]);
    expect(info[0]!.current).toBe(14);
    expect(info[0]!.urls).toEqual([`http://${app}.localhost:${host.httpPort}/`]);
    expect(info[0]!.containers.map((c) => c.name)).toContain(`paas-${app}.web.1.v14`);
  });

  it('an own Dockerfile without `# paas:source` is built here and pushed whole; with the line, only its source travels', async () => {
    const own = copyExample('dockerfile');
    try {
      const first = await world.cli(['deploy', own.dir, '--app', 'own', ...world.at(host), '--json']);
      expect(first.exitCode, first.stderr.slice(-2000)).toBe(0);
      const whole = JSON.parse(first.stdout) as DeployJson;
      expect(whole.build).toBe('image');
      expect(whole.hosts[0]!.pushes.map((p) => p.image)).toEqual([whole.image]);
      expect(first.stderr).toContain('the Dockerfile it has no `# paas:source` line');
      expect((await viaNginx(host, 'own')).body).toMatch(/^Hello from the dockerfile example/);

      const dockerfile = path.join(own.dir, 'Dockerfile');
      writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace('COPY server.js .', '# paas:source\nCOPY server.js .'));
      const server = path.join(own.dir, 'server.js');
      writeFileSync(server, readFileSync(server, 'utf8').replace('const VERSION = 1;', 'const VERSION = 99;'));
      const second = await world.cli(['deploy', own.dir, '--app', 'own', ...world.at(host), '--json']);
      expect(second.exitCode, second.stderr.slice(-2000)).toBe(0);
      const split = JSON.parse(second.stdout) as DeployJson;
      expect(split.build).toBe('source');
      expect(split.release).toBe(2);
      // Everything above the line is the base image the host has: only its small config travels.
      expect(split.hosts[0]!.bytesSent).toBeLessThan(100_000);
      expect((await viaNginx(host, 'own')).body).toBe('Hello from the dockerfile example, version 99\n');
    } finally {
      own.cleanup();
    }
  });

  it('needs a host: a clear error without one', async () => {
    const result = await paas(['deploy', example.dir, '--app', app], { env: world.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('no host to talk to');
  });
});
