import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

/**
 * A 3-node Swarm cluster of sandbox hosts (two managers, whose nginx route, and a worker), a
 * front balancer (cluster:front) in front of the managers, an app of 3 replicas on it. The node
 * that is stopped is the worker: a sandbox can come back with another IP address, which a worker
 * survives (it dials the managers) and a manager does not (docs/cluster.md).
 */
const world = testWorld('swarm');
const app = 'spread';
const peer = 'peerapp';
const example = copyExample('node');
const peerExample = copyExample('node');
let nodes: TestHost[] = [];
let front: TestHost;
const ips = new Map<TestHost, string>();

interface ClusterAnswer {
  nodes: { id: string; hostname: string; role: string; state: string; availability: string; address: string; tasks: string[] }[];
  apps: { app: string; type: string; release: number; replicas: number; running: number }[];
}

function writeApp(dir: string, name: string, version: number, hosts: TestHost[], replicas: number): void {
  const server = path.join(dir, 'server.js');
  let text = readFileSync(server, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`);
  if (!text.includes("app.get('/call'")) {
    text = text.replace("app.get('/up', (_req, res) => res.send('ok\\n'));", [
      "app.get('/up', (_req, res) => (VERSION === 999 ? res.status(500).send('broken\\n') : res.send('ok\\n')));",
      // App-to-app on the cluster: the other app by its name on the overlay network.
      "app.get('/call', async (_req, res) => {",
      '  try { const answer = await fetch(`http://${process.env.PEER}.internal:${process.env.PORT}/`); res.send(`peer said: ${await answer.text()}`); }',
      '  catch (error) { res.status(502).send(`peer unreachable: ${error.message}\\n`); }',
      '});',
    ].join('\n'));
  }
  writeFileSync(server, text);
  writeFileSync(path.join(dir, 'paas.yml'), [
    `app: ${name}`,
    'engine: swarm',
    `hosts: [${hosts.map((h) => JSON.stringify(h.url)).join(', ')}]`,
    `processes: { web: ${replicas} }`,
    'healthcheck: { path: /up }',
    `env: { PEER: ${peer} }`,
    '',
  ].join('\n'));
}

const cluster = async (via: TestHost) => world.cliJson<ClusterAnswer[]>(['cluster', ...world.at(via)]).then((answers) => answers[0]!);
const version = async (host: TestHost) => /version (\d+)/.exec((await viaNginx(host, app)).body)?.[1];
const deploy = (dir: string, extra: Record<string, string> = {}) => world.cli(['deploy', dir, '--identity', nodes[0]!.keyPath, '--json'], extra);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  // The first host's key is the key of the others (one deploy key for the cluster).
  const first = await world.addHost('a');
  const [second, third, lb] = await Promise.all(['b', 'c', 'lb'].map((suffix) => world.addHost(suffix)));
  nodes = [first, second!, third!];
  front = lb!;
  for (const node of nodes) {
    const { stdout } = await execa('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', node.container]);
    ips.set(node, stdout.trim());
  }
}, 600_000);

afterAll(async () => {
  await world.cleanup();
  example.cleanup();
  peerExample.cleanup();
});

describe('a 3-node swarm', () => {
  it('cluster:init and cluster:join make one cluster of two managers and a worker; again, nothing changes; the front points at the managers', async () => {
    const [first, second, third] = nodes as [TestHost, TestHost, TestHost];
    const init = await world.cli(['cluster:init', ...world.at(first), '--advertise-addr', ips.get(first)!]);
    expect(init.exitCode, init.stderr).toBe(0);
    const again = await world.cli(['cluster:init', ...world.at(first)]);
    expect(again.stdout).toContain('was a manager of this cluster already: nothing changed');
    for (const [node, role] of [[second, 'manager'], [third, 'worker']] as const) {
      const join = await world.cli(['cluster:join', ...world.at(node), '--manager', first.url, '--role', role, '--advertise-addr', ips.get(node)!]);
      expect(join.exitCode, join.stderr).toBe(0);
      expect(join.stdout).toContain(`joined the cluster as a ${role}`);
    }
    const rejoin = await world.cli(['cluster:join', ...world.at(second), '--manager', first.url]);
    expect(rejoin.stdout).toContain('is in the cluster already');
    const view = await cluster(first);
    expect(view.nodes.map((n) => [n.role, n.state]).sort()).toEqual([['manager', 'ready'], ['manager', 'ready'], ['worker', 'ready']]);
    expect(view.nodes.map((n) => n.address).sort()).toEqual([...ips.values()].sort());
    expect((await cluster(third)).nodes).toEqual([]); // a worker tells only itself
    const applied = await world.cli(['cluster:front', ...world.at(front), '--node', ips.get(first)!, '--node', ips.get(second)!]);
    expect(applied.exitCode, applied.stderr).toBe(0);
  });

  it('an app of 3 replicas runs one task per node, and every node\'s nginx routes to it', async () => {
    writeApp(peerExample.dir, peer, 1, nodes, 1);
    writeFileSync(path.join(peerExample.dir, 'Procfile'), 'web: node server.js\nrelease: node -e "console.log(\'the release phase ran\')"\n');
    const peerDeploy = await deploy(peerExample.dir);
    expect(peerDeploy.exitCode, peerDeploy.stderr).toBe(0);
    expect(peerDeploy.stderr).toContain('the release phase ran');
    writeApp(example.dir, app, 1, nodes, 3);
    const result = await deploy(example.dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const view = await cluster(nodes[0]!);
    expect(view.nodes.map((n) => n.tasks.filter((t) => t === `${app}/web`).length)).toEqual([1, 1, 1]);
    // The managers' nginx route (a worker's cannot ask Swarm where tasks run); so does the front.
    for (const node of [nodes[0]!, nodes[1]!, front]) expect(await waitFor('routes on the managers', async () => ((await version(node)) === '1' ? true : undefined), 15_000)).toBe(true);
  }, 300_000);

  it('apps reach each other by name across nodes (the overlay network)', async () => {
    // web tasks on all three nodes call peerapp, whose one task runs on one of them.
    const answers = await Promise.all(Array.from({ length: 9 }, () => viaNginx(nodes[0]!, app, '/call')));
    expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));
    for (const answer of answers) expect(answer.body).toContain('peer said: Hello from the node example, version 1');
  });

  it('10 rolling updates under load: 0 failed requests', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${front.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version \d+\n$/, maxDurationMs: 900_000, requestTimeoutMs: 10_000 });
    try {
      for (let v = 2; v <= 11; v += 1) {
        writeApp(example.dir, app, v, nodes, 3);
        const result = await deploy(example.dir);
        expect(result.exitCode, result.stderr).toBe(0);
      }
    } finally {
      const report = await load.stop();
      console.log(`swarm: 10 rolling updates of 3 replicas under load: ${formatLoadReport(report)}`);
      expect(report.failed, formatLoadReport(report)).toBe(0);
      expect(report.ok).toBeGreaterThan(100);
    }
    expect(await version(nodes[1]!)).toBe('11');
  }, 900_000);

  it('a release whose health check fails is rolled back by Swarm, reported as failed with the log, and the old one keeps serving', async () => {
    writeApp(example.dir, app, 999, nodes, 3);
    const result = await deploy(example.dir);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/rolled the service back/);
    expect(result.stdout + result.stderr).toMatch(/listening on/);
    expect(await version(nodes[0]!)).toBe('11');
    const view = await cluster(nodes[0]!);
    expect(view.apps.find((a) => a.app === app)).toMatchObject({ release: 11, replicas: 3, running: 3 });
  }, 300_000);

  it('config:set makes a release with the new config var on every task; rollback runs an earlier release\'s image again; run, ps:scale, ps and logs', async () => {
    const set = await world.cli(['config:set', 'GREETING=hello swarm', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath], {}, example.dir);
    expect(set.exitCode, set.stderr).toBe(0);
    const answers = await Promise.all(Array.from({ length: 6 }, () => viaNginx(front, app, '/env/GREETING')));
    expect(answers.map((a) => a.body)).toEqual(Array(6).fill('hello swarm'));
    // paas run: a one-off container of the current release on the manager, with the config vars.
    const run = await world.cli(['run', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath, '--', 'node', '-e', 'console.log(6 * 7, process.env.GREETING)'], {}, example.dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('42 hello swarm');
    const atManager = ['--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath, '--json'];
    const back = await world.cli(['rollback', 'v10', ...atManager], {}, example.dir);
    expect(back.exitCode, back.stderr).toBe(0);
    const rolled = JSON.parse(back.stdout) as { release: number; rolledBackTo: number };
    expect(rolled.rolledBackTo).toBe(10);
    expect(await waitFor('v10\'s code on a manager', async () => ((await version(nodes[1]!)) === '10' ? true : undefined), 15_000)).toBe(true);
    const releases = JSON.parse((await world.cli(['releases', ...atManager], {}, example.dir)).stdout) as { current: number; releases: { version: number; description: string }[] };
    expect(releases.current).toBe(rolled.release);
    expect(releases.releases[0]).toMatchObject({ version: rolled.release, description: 'Rollback to v10' });

    // ps:scale changes the services' replicas (a release); ps lists the tasks and their nodes.
    const scaled = await world.cli(['ps:scale', 'web=2', ...atManager], {}, example.dir);
    expect(scaled.exitCode, scaled.stderr).toBe(0);
    expect((await cluster(nodes[0]!)).apps.find((a) => a.app === app)).toMatchObject({ replicas: 2, running: 2 });
    const ps = JSON.parse((await world.cli(['ps', ...atManager], {}, example.dir)).stdout) as { processes: { process: string; state: string; container: string }[] }[];
    expect(ps[0]!.processes.map((p) => p.state)).toEqual(['running', 'running']);
    for (const row of ps[0]!.processes) expect(row.container).toMatch(/^spread-web\.\d+ on swarm-[abc]-/);
    expect((await world.cli(['ps:scale', 'web=3', ...atManager], {}, example.dir)).exitCode).toBe(0);

    // logs: every task's lines, from every node, through the manager.
    const logs = await world.cli(['logs', '-n', '50', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath], {}, example.dir);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/web\.\d+.*listening on 8080/);
  }, 300_000);

  it('a node that stops: its task runs elsewhere, requests keep being answered, the next deploy works on two nodes, and the node comes back', async () => {
    const [first, second, third] = nodes as [TestHost, TestHost, TestHost];
    const load = startLoad({ url: `http://127.0.0.1:${front.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version \d+\n$/, maxDurationMs: 600_000, requestTimeoutMs: 10_000 });
    const stoppedAt = Date.now();
    let report;
    try {
      await execa('docker', ['stop', '--time', '1', third.container]);
      const movedAfter = await waitFor('3 tasks on the two nodes left', async () => {
        const view = await cluster(first);
        const running = view.nodes.filter((n) => n.state === 'ready').flatMap((n) => n.tasks).filter((t) => t === `${app}/web`).length;
        return running === 3 && view.nodes.some((n) => n.state === 'down') ? (Date.now() - stoppedAt) / 1000 : undefined;
      }, 120_000);
      console.log(`swarm: a stopped node's task ran on another node ${movedAfter.toFixed(1)} s after the stop`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      report = await load.stop();
    }
    console.log(`swarm: requests while a node stopped: ${formatLoadReport(report)}`);
    expect(report.failed, formatLoadReport(report)).toBe(0);

    writeApp(example.dir, app, 12, nodes, 3);
    const result = await deploy(example.dir, { PAAS_SSH_TIMEOUT: '3000' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('left out');
    expect(await version(second)).toBe('12');

    await execa('docker', ['start', third.container]);
    await waitFor('the node ready again', async () => ((await cluster(first)).nodes.every((n) => n.state === 'ready') ? true : undefined), 180_000);
    writeApp(example.dir, app, 13, nodes, 3);
    const back = await deploy(example.dir);
    expect(back.exitCode, back.stderr).toBe(0);
    // Swarm does not move tasks back by itself; the next update places one on the node again (spread).
    const view = await cluster(first);
    expect(view.nodes.find((n) => n.role === 'worker')!.tasks).toContain(`${app}/web`);
  }, 600_000);

  it('cluster:leave drains the worker (its task starts on the managers first) and the cluster forgets it', async () => {
    const [first, , third] = nodes as [TestHost, TestHost, TestHost];
    const left = await world.cli(['cluster:leave', ...world.at(third), '--manager', first.url]);
    expect(left.exitCode, left.stderr).toBe(0);
    expect(left.stdout).toContain('left the cluster');
    const view = await cluster(first);
    expect(view.nodes.map((n) => n.role).sort()).toEqual(['manager', 'manager']);
    await waitFor('3 tasks on the managers', async () => ((await cluster(first)).apps.find((a) => a.app === app)?.running === 3 ? true : undefined), 60_000);
    expect((await world.cli(['cluster:leave', ...world.at(third), '--manager', first.url])).stdout).toContain('was not in a cluster: nothing changed');
  }, 300_000);
});
