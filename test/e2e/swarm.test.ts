import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, copyExample, repoRoot } from './helpers.js';
import { failpoints, onHost } from './faults.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';
import { request } from '../nginx/harness.js';

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
      // A linked service, by the name in its URL: the TCP connection opens (from any node).
      "app.get('/tcp', (_req, res) => {",
      "  const url = new URL(process.env.REDIS_URL ?? 'redis://none:1');",
      "  const socket = require('node:net').connect(Number(url.port), url.hostname, () => { socket.destroy(); res.send(`open ${url.hostname}\\n`); });",
      "  socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));",
      "  socket.on('error', (error) => res.status(502).send(`closed: ${error.message}\\n`));",
      '});',
      "app.get('/call', async (_req, res) => {",
      '  try { const answer = await fetch(`http://${process.env.PEER}.internal:${process.env.PORT}/`); res.send(`peer said: ${await answer.text()}`); }',
      '  catch (error) { res.status(502).send(`peer unreachable: ${error.message}\\n`); }',
      '});',
    ].join('\n'));
  }
  writeFileSync(server, text);
  // A scheduled task (it runs on the first manager) that calls the other app by name.
  writeFileSync(path.join(dir, 'cron.js'), `fetch('http://${peer}.internal:8080/').then((r) => r.text()).then((t) => console.log('cron peer:', t.trim()));\n`);
  writeFileSync(path.join(dir, 'paas.yml'), [
    `app: ${name}`,
    'engine: swarm',
    `hosts: [${hosts.map((h) => JSON.stringify(h.url)).join(', ')}]`,
    `processes: { web: ${replicas} }`,
    'healthcheck: { path: /up }',
    `env: { PEER: ${peer} }`,
    'cron: { callpeer: { schedule: "@yearly", command: node cron.js } }',
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
    // A one-off is on the cluster's overlay network: it reaches the other app by name.
    const called = await world.cli(['run', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath, '--', 'node', '-e', `fetch('http://${peer}.internal:8080/').then((r) => r.text()).then((t) => console.log('peer:', t))`], {}, example.dir);
    expect(called.exitCode, called.stderr).toBe(0);
    expect(called.stdout).toContain('peer: Hello from the node example, version 1');
    // So is a scheduled task's run, on the first manager; its output is in logs -p cron.
    const cron = await world.cli(['cron:run', 'callpeer', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath], {}, example.dir);
    expect(cron.exitCode, cron.stderr).toBe(0);
    expect(await waitFor('the cron run\'s output', async () => {
      const lines = await world.cli(['logs', '-p', 'cron', '-n', '20', '--app', app, '--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath], {}, example.dir);
      return /cron\.callpeer.*cron peer: Hello from the node example, version 1/.test(lines.stdout) ? true : undefined;
    }, 30_000)).toBe(true);
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

  it('kill -9 of the manager\'s agent during a service update and before it, and a killed CLI: the host settles each release by itself; ps:restart and logs --follow; 0 failed requests', async () => {
    const manager = nodes[0]!;
    const atManager = ['--app', app, '--host', manager.url, '--identity', manager.keyPath];
    const onManager = async (script: string) => (await onHost(manager, 'sh', '-c', script)).stdout;
    const stateOf = async () => JSON.parse(await onManager(`cat /var/lib/paas/apps/${app}/state.json`)) as { current: number; releases: { version: number }[] };
    const settled = (what: string) => waitFor(what, async () => ((await onManager(`ls /var/lib/paas/intents/${app}.json 2>/dev/null`)) === '' ? true : undefined), 120_000);
    const serviceRelease = async () => Number(await onManager(`docker service inspect --format '{{index .Spec.Labels "paas.release"}}' ${app}-web`));
    const load = startLoad({ url: `http://127.0.0.1:${front.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version \d+\n$/, maxDurationMs: 900_000, requestTimeoutMs: 10_000 });
    try {
      // Killed once Swarm completed the web service's update, before the agent recorded it: the
      // host service records it with no paas command.
      const before = await stateOf();
      await failpoints.arm(manager, 'swarm-service-applied', 'kill');
      writeApp(example.dir, app, 20, nodes, 3);
      const killed = await deploy(example.dir);
      await failpoints.disarm(manager, 'swarm-service-applied');
      expect(killed.exitCode).not.toBe(0);
      await settled('the killed release settled');
      const finished = await stateOf();
      console.log(`swarm: agent killed after the service update: v${finished.current} recorded by the host service (was v${before.current})`);
      expect(finished.current).toBeGreaterThan(before.current);
      expect(await serviceRelease()).toBe(finished.current);
      // Settled by the host service, or first by the killed deploy's CLI asking the host again (its outcome question reconciles under the lock).
      const byService = (await onManager('cat /var/lib/paas/log/service.log')).includes(`finished v${finished.current} on the cluster that an agent left`);
      console.log(`swarm: the release the agent left was settled by ${byService ? 'the host service' : 'the CLI asking the host again'}`);
      expect(await version(manager)).toBe('20');

      // Killed after its intent, before any service changed: undone, the release before serves.
      await failpoints.arm(manager, 'swarm-intent-written', 'kill');
      writeApp(example.dir, app, 21, nodes, 3);
      expect((await deploy(example.dir)).exitCode).not.toBe(0);
      await failpoints.disarm(manager, 'swarm-intent-written');
      await settled('the undone release settled');
      expect((await stateOf()).current).toBe(finished.current);
      expect(await serviceRelease()).toBe(finished.current);
      expect(await onManager(`ls /var/lib/paas/apps/${app}/config`)).not.toContain(`v${finished.current + 1}.enc`);
      expect(await onManager(`docker config ls --format '{{.Name}}'`)).not.toContain(`${app}-release-v${finished.current + 1}`);
      expect(await version(manager)).toBe('20');

      // The CLI killed (its SSH connection gone) while the agent waits for Swarm: the release lands anyway.
      await failpoints.arm(manager, 'swarm-service-applied', 'pause');
      writeApp(example.dir, app, 22, nodes, 3);
      const cli = execa(process.execPath, [cliPath, 'deploy', example.dir, '--identity', manager.keyPath], { env: { ...world.env, NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
      try {
        expect(await failpoints.reached(manager, 'swarm-service-applied', 300_000)).toBe(true);
        cli.kill('SIGKILL');
      } finally {
        await failpoints.disarm(manager, 'swarm-service-applied');
      }
      await cli;
      await settled('the release of the killed CLI settled');
      expect(await waitFor('v22 recorded', async () => ((await stateOf()).current > finished.current ? true : undefined), 60_000)).toBe(true);
      expect(await version(manager)).toBe('22');

      // logs --follow picks up the fresh tasks of a ps:restart (new containers, on any node).
      const follow = execa(process.execPath, [cliPath, 'logs', '--follow', '-n', '0', ...atManager], { env: { ...world.env, NO_COLOR: '1' }, reject: false, stdin: 'pipe', cwd: example.dir });
      let followed = '';
      follow.stdout!.on('data', (chunk: Buffer) => { followed += chunk.toString(); });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const restartedAt = Date.now();
      const restart = await world.cli(['ps:restart', ...atManager], {}, example.dir);
      expect(restart.exitCode, restart.stderr).toBe(0);
      const ps = JSON.parse((await world.cli(['ps', ...atManager, '--json'], {}, example.dir)).stdout) as { processes: { uptimeSeconds?: number }[] }[];
      expect(ps[0]!.processes).toHaveLength(3);
      for (const row of ps[0]!.processes) expect(row.uptimeSeconds!).toBeLessThanOrEqual(Math.ceil((Date.now() - restartedAt) / 1000));
      await waitFor('the fresh tasks\' lines in logs --follow', async () => ((followed.match(/web\.\d+.*listening on 8080/g) ?? []).length >= 3 ? true : undefined), 20_000);
      follow.kill('SIGTERM');
      await follow;
      expect(await waitFor('no `docker service logs` left on the manager', async () => ((await onManager('ps -eo args | grep -c "[s]ervice logs"')).trim() === '0' ? true : undefined), 15_000)).toBe(true);
    } finally {
      const report = await load.stop();
      console.log(`swarm: two agent kills, a killed CLI, a ps:restart: ${formatLoadReport(report)}`);
      expect(report.failed, formatLoadReport(report)).toBe(0);
    }
  }, 900_000);

  it('a full disk on the first manager: the deploy fails saying so before any service changes, the release before serves; once space is freed it deploys', async () => {
    const manager = nodes[0]!;
    const dir = `/var/lib/paas/apps/${app}`;
    const sh = async (script: string) => onHost(manager, 'sh', '-c', script);
    const stateOf = async () => (await sh(`cat ${dir}/state.json`)).stdout;
    const serviceRelease = async () => (await sh(`docker service inspect --format '{{index .Spec.Labels "paas.release"}}' ${app}-web`)).stdout.trim();
    // The app's directory on a small filesystem of its own (a tmpfs holding a copy of it), so that the test can fill it.
    const mounted = await sh(`mkdir -p /run/e2e-disk && mount -t tmpfs -o size=4m,mode=700 tmpfs /run/e2e-disk && cp -a ${dir}/. /run/e2e-disk/ && mount --bind /run/e2e-disk ${dir}`);
    expect(mounted.exitCode, mounted.stderr).toBe(0);
    const load = startLoad({ url: `http://127.0.0.1:${front.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version \d+\n$/, maxDurationMs: 600_000, requestTimeoutMs: 10_000 });
    try {
      const [before, serving] = [await stateOf(), await serviceRelease()];
      await sh(`dd if=/dev/zero of=${dir}/filler bs=64k 2>/dev/null; sync; true`);
      writeApp(example.dir, app, 30, nodes, 3);
      const full = await deploy(example.dir);
      expect(full.exitCode).toBe(12);
      expect(full.stdout + full.stderr).toMatch(/the disk of \/var\/lib\/paas\/\S+ is full/);
      expect(await stateOf()).toBe(before);
      expect(await serviceRelease()).toBe(serving);
      expect((await sh(`ls /var/lib/paas/intents; docker config ls --format '{{.Name}}' | grep -c "release-v${Number(serving) + 1}$"`)).stdout.trim()).toBe('0');
      expect(await version(manager)).toBe('22');
      await sh(`rm -f ${dir}/filler`);
      const freed = await deploy(example.dir);
      expect(freed.exitCode, freed.stderr).toBe(0);
      expect(await waitFor('v30 on the front', async () => ((await version(front)) === '30' ? true : undefined), 15_000)).toBe(true);
    } finally {
      const report = await load.stop();
      console.log(`swarm: a full disk on the first manager, then a deploy: ${formatLoadReport(report)}`);
      // The app's directory back on the host's disk, with what the deploy after the full disk wrote.
      const restored = await sh(`rm -f ${dir}/filler; umount -l ${dir} && cp -a /run/e2e-disk/. ${dir}/ && umount -l /run/e2e-disk`);
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(report.failed, formatLoadReport(report)).toBe(0);
    }
  }, 300_000);

  it('a service linked to a cluster app joins the overlay: the tasks on every node reach it by name', async () => {
    const atFirst = ['--host', nodes[0]!.url, '--identity', nodes[0]!.keyPath];
    const images = await execa('bash', [path.join(repoRoot, 'scripts', 'base-images.sh'), 'redis:7-bookworm'], { reject: false });
    expect(images.exitCode, images.stderr).toBe(0);
    const created = await world.cli(['services:create', 'redis', 'cache', ...atFirst]);
    expect(created.exitCode, created.stderr).toBe(0);
    const linked = await world.cli(['services:link', 'cache', '--app', app, ...atFirst]);
    expect(linked.exitCode, linked.stderr).toBe(0);
    // Three tasks, one per node at first; nine calls reach every one of them.
    const answers = await Promise.all(Array.from({ length: 9 }, () => viaNginx(nodes[0]!, app, '/tcp')));
    expect(answers.map((a) => a.body)).toEqual(Array(9).fill('open paas-svc-cache\n'));
    const unlinked = await world.cli(['services:unlink', 'cache', '--app', app, ...atFirst]);
    expect(unlinked.exitCode, unlinked.stderr).toBe(0);
    const networks = (await onHost(nodes[0]!, 'docker', 'inspect', '--format', '{{json .NetworkSettings.Networks}}', 'paas-svc-cache')).stdout;
    expect(networks).toContain('paas-svc.cache'); // its own network stays
    expect(networks).not.toContain('paas-internal');
    expect((await world.cli(['services:destroy', 'cache', '--confirm', 'cache', ...atFirst])).exitCode).toBe(0);
  }, 300_000);

  it('domains:add and certs:add through the managers serve a cluster app at a new name, over HTTPS too, with no reload; another app claiming the name is refused before anything changes', async () => {
    const managers = [nodes[0]!, nodes[1]!];
    const name = 'www.spread-e2e.test';
    const added = await world.cli(['domains:add', name, '--app', app, ...world.at(...managers)]);
    expect(added.exitCode, added.stderr).toBe(0);
    for (const manager of managers) {
      expect(await waitFor(`${name} on ${manager.name}`, async () => (/version 30/.test((await request(manager.httpPort, name, '/')).body) ? true : undefined), 10_000)).toBe(true);
    }
    // certs:add through the managers: each serves it over HTTPS, no reload.
    const [certFile, keyFile] = [path.join(world.dir, 'www.crt'), path.join(world.dir, 'www.key')];
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', `subjectAltName=DNS:${name}`, '-keyout', keyFile, '-out', certFile]);
    const ca = readFileSync(certFile, 'utf8');
    const pid = async (manager: TestHost) => (await onHost(manager, 'cat', '/run/nginx.pid')).stdout;
    const pids = await Promise.all(managers.map(pid));
    const certified = await world.cli(['certs:add', '--cert', certFile, '--key', keyFile, '--app', app, ...world.at(...managers)]);
    expect(certified.exitCode, certified.stderr).toBe(0);
    for (const manager of managers) {
      expect(await waitFor(`HTTPS for ${name} on ${manager.name}`, async () => {
        const answer = await request(manager.httpsPort, name, '/', { tls: { ca } }).catch(() => undefined);
        return answer && /version 30/.test(answer.body) ? true : undefined;
      }, 10_000)).toBe(true);
    }
    expect(await Promise.all(managers.map(pid))).toEqual(pids);
    expect((await world.cli(['certs:remove', '--app', app, ...world.at(...managers)])).exitCode).toBe(0);
    const peerRelease = async () => (await onHost(nodes[0]!, 'docker', 'service', 'inspect', '--format', '{{index .Spec.Labels "paas.release"}}', `${peer}-web`)).stdout.trim();
    const before = await peerRelease();
    const config = path.join(peerExample.dir, 'paas.yml');
    const original = readFileSync(config, 'utf8');
    writeFileSync(config, `${original}domains: [${name}]\n`);
    try {
      const refused = await deploy(peerExample.dir);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stdout + refused.stderr).toContain(name);
      expect(refused.stdout + refused.stderr).toContain(app);
    } finally {
      writeFileSync(config, original);
    }
    expect(await peerRelease()).toBe(before);
    const removed = await world.cli(['domains:remove', name, '--app', app, ...world.at(...managers)]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    for (const manager of managers) {
      expect(await waitFor(`${name} gone from ${manager.name}`, async () => ((await request(manager.httpPort, name, '/')).status === 404 ? true : undefined), 10_000)).toBe(true);
    }
  }, 300_000);

  it('another manager stands in for the first: it reads the release history from the cluster, refuses a deploy that would lose the config vars, and goes on numbering', async () => {
    const [first, second, third] = nodes as [TestHost, TestHost, TestHost];
    const atSecond = ['--app', app, '--host', second.url, '--identity', second.keyPath, '--json'];
    // (rollback v10 brought back v10's config vars: none.)
    const before = await world.cli(['config:set', 'GREETING=kept by the first', '--app', app, '--host', first.url, '--identity', first.keyPath], {}, example.dir);
    expect(before.exitCode, before.stderr).toBe(0);
    const kept = JSON.parse((await world.cli(['releases', '--app', app, '--host', first.url, '--identity', first.keyPath, '--json'], {}, example.dir)).stdout) as { current: number; releases: { version: number }[] };
    const standIn = JSON.parse((await world.cli(['releases', ...atSecond], {}, example.dir)).stdout) as { current: number; releases: { version: number; image: string }[] };
    expect(standIn.current).toBe(kept.current);
    expect(standIn.releases.map((r) => r.version)).toEqual(kept.releases.map((r) => r.version));
    const order = [second, first, third];
    writeApp(example.dir, app, 23, order, 3);
    const refused = await deploy(example.dir);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/stands in for the one that kept spread's releases, and does not have its config vars GREETING/);
    expect(await version(second)).toBe('30');
    const set = await world.cli(['config:set', 'GREETING=hello again', ...atSecond], {}, example.dir);
    expect(set.exitCode, set.stderr).toBe(0);
    const result = await deploy(example.dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const after = JSON.parse((await world.cli(['releases', ...atSecond], {}, example.dir)).stdout) as { current: number };
    expect(after.current).toBe(kept.current + 2);
    expect(await waitFor('v23 on the front', async () => ((await version(front)) === '23' ? true : undefined), 15_000)).toBe(true);
    expect((await viaNginx(front, app, '/env/GREETING')).body).toBe('hello again');
    writeApp(example.dir, app, 23, nodes, 3);
  }, 300_000);

  it('apps:destroy of a cluster app removes its services, their tasks on every node, its secrets and release records', async () => {
    const destroyed = await world.cli(['apps:destroy', peer, '--confirm', peer, ...world.at(...nodes)]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain(`the cluster service(s) ${peer}-web`);
    const manager = nodes[0]!;
    for (const kind of ['service', 'secret', 'config']) {
      expect((await onHost(manager, 'docker', kind, 'ls', '--format', '{{.Name}}')).stdout).not.toContain(peer);
    }
    for (const node of nodes) {
      await waitFor(`no ${peer} container on ${node.name}`, async () => ((await onHost(node, 'docker', 'ps', '-aq', '--filter', `label=paas.app=${peer}`)).stdout.trim() === '' ? true : undefined), 60_000);
      expect((await onHost(node, 'docker', 'images', '-q', `paas/${peer}`)).stdout.trim()).toBe('');
    }
    expect((await viaNginx(nodes[1]!, peer)).status).toBe(404);
    expect(await version(nodes[1]!)).toBe('23');
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
