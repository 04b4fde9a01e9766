import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

interface PsJson {
  host: string;
  current?: number;
  formation: Record<string, number>;
  processes: { process: string; type: string; release: number; generation: number; state: string; container: string; memoryLimitBytes?: number; cpuLimit?: number; memoryBytes?: number; cpuPercent?: number; uptimeSeconds?: number }[];
}

const world = testWorld('ps');
const app = 'procs';
const example = copyExample('node');
let host: TestHost;

const ps = async () => (await world.cliJson<PsJson[]>(['ps', '--app', app, ...world.at(host)]))[0]!;
/** Running containers of the current release, by process (web.1, ...). */
const running = async () => {
  const answer = await ps();
  return answer.processes.filter((p) => p.release === answer.current && p.state === 'running').map((p) => p.process).sort();
};
const onHost = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

/** Polls until `check` passes (old containers drain in the background after a rollout). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    value = await read();
  }
  return value;
}

/** Names of the app's containers that docker on the host runs. */
const hostContainers = async () => (await onHost('docker', 'ps', '--filter', `label=paas.app=${app}`, '--format', '{{.Names}}')).stdout.split('\n').filter(Boolean).sort();

beforeAll(async () => {
  // The node example with a worker process and limits for web.
  writeFileSync(path.join(example.dir, 'Procfile'), 'web: node server.js\nworker: node worker.js\n');
  writeFileSync(path.join(example.dir, 'worker.js'), "setInterval(() => console.log('tick'), 200);\nprocess.on('SIGTERM', () => process.exit(0));\n");
  writeFileSync(path.join(example.dir, 'paas.yml'), 'processes:\n  web: { replicas: 1, memory: 256m, cpus: 0.5 }\n  worker: 1\n');
  host = await world.addHost('a');
  const deployed = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host), '--json']);
  expect(deployed.exitCode, deployed.stderr.slice(-3000)).toBe(0);
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('process types: ps, ps:scale, ps:restart, logs', () => {
  it('ps lists web.1 and worker.1 with state, release, uptime, CPU, memory and the limits of paas.yml', async () => {
    const answer = await ps();
    console.log(JSON.stringify(answer.processes));
    expect(answer.current).toBe(1);
    expect(answer.formation).toEqual({ web: 1, worker: 1 });
    const web = answer.processes.find((p) => p.process === 'web.1')!;
    expect(web).toMatchObject({ type: 'web', release: 1, state: 'running', memoryLimitBytes: 268435456, cpuLimit: 0.5 });
    expect(web.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(web.memoryBytes).toBeGreaterThan(1_000_000);
    expect(typeof web.cpuPercent).toBe('number');
    const worker = answer.processes.find((p) => p.process === 'worker.1')!;
    expect(worker).toMatchObject({ type: 'worker', state: 'running' });
    expect(worker.memoryLimitBytes).toBeUndefined();
    // The limits are docker's own, on the host.
    const inspect = await onHost('docker', 'inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', `paas-${app}.web.1.v1`);
    expect(inspect.stdout.trim()).toBe('268435456 500000000');
    const table = await world.cli(['ps', '--app', app, ...world.at(host)]);
    expect(table.exitCode, table.stderr).toBe(0);
    console.log(table.stdout);
    expect(table.stdout).toMatch(/^PROCESS +STATE +RELEASE +UPTIME +CPU +MEMORY +CPUS$/m);
    expect(table.stdout).toMatch(/^web\.1 +running +v1 +\S+ +[\d.]+% +[\d.]+[KMG]iB \/ 256MiB +0\.5$/m);
    expect(table.stdout).toMatch(/^worker\.1 +running +v1 /m);
  });

  it('ps:scale refuses unknown types and bad counts, changing nothing', async () => {
    const typo = await world.cli(['ps:scale', 'wrker=2', '--app', app, ...world.at(host)]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('unknown process type "wrker" (did you mean worker?); the app runs: web, worker');
    const many = await world.cli(['ps:scale', 'web=101', '--app', app, ...world.at(host)]);
    expect(many.exitCode).toBe(2);
    expect(many.stderr).toContain('web=101: at most 100 replicas per host');
    const hostile = await world.cli(['ps:scale', 'web=1;touch /tmp/x', '--app', app, ...world.at(host)]);
    expect(hostile.exitCode).toBe(2);
    expect(hostile.stderr).toContain('is not TYPE=COUNT');
    expect((await ps()).current).toBe(1);
    expect((await onHost('test', '-e', `/var/lib/paas/apps/${app}/formation.json`)).exitCode).not.toBe(0);
  });

  it('ps:scale web=3: a new release, three web replicas answer through nginx', async () => {
    const scaled = await world.cliJson<{ release: number; formation: Record<string, number> }>(['ps:scale', 'web=3', '--app', app, ...world.at(host)]);
    expect(scaled).toMatchObject({ release: 2, formation: { web: 3, worker: 1 } });
    expect(await eventually(running, (r) => r.length === 4)).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
    const answered = new Set<string>();
    for (let i = 0; i < 30; i += 1) {
      const { status, body } = await viaNginx(host, app, '/whoami');
      expect(status).toBe(200);
      answered.add(body.trim());
    }
    console.log(`replicas that answered 30 requests: ${[...answered].join(', ')}`);
    expect(answered.size).toBe(3);
    // Same image: no build, and the limits carry over.
    const releases = await world.cliJson<{ releases: { version: number; image: string; description: string }[] }>(['releases', '--app', app, ...world.at(host)]);
    const [v2, v1] = releases.releases;
    expect(v2).toMatchObject({ version: 2, description: 'Scale web=3', image: v1!.image });
    expect((await onHost('docker', 'inspect', '--format', '{{.HostConfig.Memory}}', `paas-${app}.web.3.v2`)).stdout.trim()).toBe('268435456');
  });

  it('logs -n: lines of every replica, prefixed, in time order', async () => {
    const result = await world.cli(['logs', '-n', '400', '--app', app, ...world.at(host)]);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    const prefixes = new Set(lines.map((l) => /^(\S+) +\| /.exec(l)?.[1]));
    console.log(`logs -n 400: ${lines.length} lines from ${[...prefixes].join(', ')}`);
    expect([...prefixes].sort()).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
    for (const web of ['web.1', 'web.2', 'web.3']) expect(lines).toContain(`${web}    | node example v1 listening on 8080`);
    expect(lines).toContain('worker.1 | tick');
    expect(lines.length).toBeLessThanOrEqual(400);
    const three = await world.cli(['logs', '-n', '3', '--app', app, ...world.at(host)]);
    expect(three.stdout.split('\n').filter(Boolean)).toHaveLength(3);
    // -p and --json: only that process, with docker's timestamps, sorted.
    const worker = await world.cliJson<{ lines: { process: string; time: string; text: string }[] }>(['logs', '-n', '5', '-p', 'worker', '--app', app, ...world.at(host)]);
    expect(worker.lines.map((l) => [l.process, l.text])).toEqual(Array(5).fill(['worker.1', 'tick']));
    expect([...worker.lines.map((l) => l.time)].sort()).toEqual(worker.lines.map((l) => l.time));
    const bad = await world.cli(['logs', '-p', 'web;id', '--app', app, ...world.at(host)]);
    expect(bad.exitCode).toBe(2);
  });

  it('logs -f streams until Ctrl-C, and the host keeps no `docker logs` process', async () => {
    const child = execa(process.execPath, [cliPath, 'logs', '-f', '-n', '1', '--app', app, ...world.at(host)], { env: { ...world.env, NO_COLOR: '1' }, reject: false });
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tick within 30 s: ${seen}`)), 30_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if ((seen.match(/worker\.1 \| tick/g) ?? []).length >= 5) { clearTimeout(timer); resolve(); }
      });
    });
    // Processes on the host whose command line starts with `docker logs` (no pgrep needed).
    const followers = async () => (await onHost('sh', '-c', 'for p in /proc/[0-9]*; do tr "\\000" " " < $p/cmdline 2>/dev/null; echo; done'))
      .stdout.split('\n').filter((line) => line.startsWith('docker logs')).length;
    expect(await followers()).toBeGreaterThan(0);
    child.kill('SIGINT');
    const done = await child;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await eventually(followers, (n) => n === 0, 10_000)).toBe(0);
    console.log(`logs -f: ${seen.split('\n').length} lines before Ctrl-C; no docker logs left on the host`);
  });

  it('ps:restart under constant load: 0 failed requests, fresh web containers of the same release, no new release', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from the node example, version 1\n$/, maxDurationMs: 120_000 });
    const workerBefore = (await onHost('docker', 'inspect', '--format', '{{.State.StartedAt}}', `paas-${app}.worker.1.v2`)).stdout.trim();
    await new Promise((r) => setTimeout(r, 1000));
    const result = await world.cli(['ps:restart', '--app', app, ...world.at(host), '--json']);
    await new Promise((r) => setTimeout(r, 2000));
    const report = await load.stop();
    console.log(`ps:restart: ${formatLoadReport(report)}`);
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.sent).toBeGreaterThan(200);
    expect(await eventually(hostContainers, (names) => names.length === 4)).toEqual([
      `paas-${app}.web.1.v2.r1`, `paas-${app}.web.2.v2.r1`, `paas-${app}.web.3.v2.r1`, `paas-${app}.worker.1.v2`,
    ]);
    const workerAfter = (await onHost('docker', 'inspect', '--format', '{{.State.StartedAt}}', `paas-${app}.worker.1.v2`)).stdout.trim();
    expect(workerAfter).not.toBe(workerBefore);
    expect((await ps()).current).toBe(2);
    // Only one type, and an unknown one is refused.
    expect((await world.cli(['ps:restart', 'web', '--app', app, ...world.at(host)])).exitCode).toBe(0);
    expect(await eventually(hostContainers, (names) => names.length === 4)).toContain(`paas-${app}.web.2.v2.r2`);
    const unknown = await world.cli(['ps:restart', 'wroker', '--app', app, ...world.at(host)]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown process type "wroker"');
  });

  it('ps:scale worker=0 stops the worker', async () => {
    const scaled = await world.cliJson<{ release: number }>(['ps:scale', 'worker=0', '--app', app, ...world.at(host)]);
    expect(scaled.release).toBe(3);
    // The old release's web containers drain in the background: wait for them to go too.
    expect(await eventually(hostContainers, (names) => !names.some((n) => n.includes('.worker.') || n.includes('.v2')))).toEqual([
      `paas-${app}.web.1.v3`, `paas-${app}.web.2.v3`, `paas-${app}.web.3.v3`,
    ]);
    expect(await running()).toEqual(['web.1', 'web.2', 'web.3']);
  });

  it('a deploy after scaling keeps web=3 worker=0, whatever paas.yml says; so does a rollback', async () => {
    const deployed = await world.cliJson<{ release: number }>(['deploy', example.dir, '--app', app, ...world.at(host)]);
    expect(deployed.release).toBe(4);
    expect(await running()).toEqual(['web.1', 'web.2', 'web.3']);
    expect((await ps()).formation).toEqual({ web: 3, worker: 0 });
    const rolled = await world.cliJson<{ release: number }>(['rollback', 'v1', '--app', app, ...world.at(host)]);
    expect(rolled.release).toBe(5);
    expect(await running()).toEqual(['web.1', 'web.2', 'web.3']);
  });

  it('a worker that exits soon after it starts fails the deploy with its log tail; the current release stays', async () => {
    const scaled = await world.cliJson<{ release: number }>(['ps:scale', 'worker=1', '--app', app, ...world.at(host)]);
    expect(scaled.release).toBe(6);
    const workerFile = path.join(example.dir, 'worker.js');
    const good = readFileSync(workerFile, 'utf8');
    // Up at first (a check of "running" alone would pass it), gone half a second later.
    writeFileSync(workerFile, "console.error('worker: REDIS_URL is not set');\nsetTimeout(() => process.exit(2), 500);\n");
    try {
      const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
      expect(result.exitCode, result.stderr.slice(-2000)).toBe(11);
      expect(result.stderr).toMatch(/paas-procs\.worker\.1\.v7 exited with code 2 (and was restarted )?before it became healthy/);
      expect(result.stderr).toContain('worker: REDIS_URL is not set');
    } finally {
      writeFileSync(workerFile, good);
    }
    expect((await ps()).current).toBe(6);
    expect(await eventually(running, (names) => names.length === 4)).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
    expect((await viaNginx(host, app)).status).toBe(200);
  });

  it('a worker container removed outside paas (docker rm -f) is created again by the host service, with a line in logs -p paas', async () => {
    const removed = await onHost('docker', 'rm', '-f', `paas-${app}.worker.1.v6`);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const started = Date.now();
    const names = await eventually(hostContainers, (now) => now.includes(`paas-${app}.worker.1.v6`), 20_000);
    console.log(`worker removed with docker rm -f: running again after ${Date.now() - started} ms`);
    expect(names).toContain(`paas-${app}.worker.1.v6`);
    expect(await eventually(running, (now) => now.includes('worker.1'))).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
    const logs = await world.cli(['logs', '--app', app, '-p', 'paas', ...world.at(host)]);
    expect(logs.stdout).toMatch(/worker\.1 of v6 was gone \(removed outside paas\); the host service started paas-procs\.worker\.1\.v6 again/);
  });
});
