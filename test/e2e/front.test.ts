/**
 * The front balancer (cluster:front) on real sandboxes: a front host and two nodes, each node a
 * paas host with the app deployed; clients reach the app through the front only, and one node
 * stopped under load costs no failed request (passive checks, the next node tried).
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

interface FrontView { host: string; front: boolean; nodes: string[]; changed: boolean; options?: { connectTimeout: number; failTimeout: number } }

const world = testWorld('front');
const app = 'web';
const example = copyExample('static');
let front: TestHost;
let one: TestHost;
let two: TestHost;
const ips: string[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bridgeIp = async (host: TestHost) => (await execa('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', host.container])).stdout.trim();
const frontCli = (args: string[]) => world.cli(['cluster:front', ...world.at(front), ...args]);
const frontJson = (args: string[]) => world.cliJson<FrontView[]>(['cluster:front', ...world.at(front), ...args, '--json']);
const inside = (host: TestHost, ...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

function setBody(text: string): void {
  const file = path.join(example.dir, 'index.html');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/<p>[^<]*<\/p>/, `<p>${text}</p>`));
}

/** GET through the front with the app's Host header; the status and body. */
function viaFront(): Promise<{ status: number; body: string }> {
  return viaNginx(front, app);
}

async function untilNodeServes(host: TestHost, body: string, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await viaNginx(host, app);
    if (answer.status === 200 && answer.body.includes(body)) return true;
    await sleep(500);
  }
  return false;
}

beforeAll(async () => {
  [front, one, two] = await Promise.all([world.addHost('lb'), world.addHost('n1'), world.addHost('n2')]);
  for (const [host, text] of [[one, 'served by node one'], [two, 'served by node two']] as const) {
    setBody(text);
    const deployed = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
    expect(deployed.exitCode, deployed.stderr).toBe(0);
  }
  ips.push(await bridgeIp(one), await bridgeIp(two));
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('a front balancer in front of two nodes', () => {
  it('refuses bad node addresses before reaching the host', async () => {
    for (const bad of ['1.2.3.4;', '1.2.3.4\ninclude /etc/passwd', '10.0.0.2:99999']) {
      const result = await frontCli(['--node', bad]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('invalid node address');
    }
    const twice = await frontCli(['--node', '10.0.0.2', '--node', '10.0.0.2:80']);
    expect(twice.stderr).toContain('the node 10.0.0.2:80 is given twice');
  });

  it('refuses a host that serves apps', async () => {
    const result = await world.cli(['cluster:front', ...world.at(one), '--node', ips[1]!]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`this host serves apps (${app}): a front balancer needs a dedicated host`);
    expect(await untilNodeServes(one, 'served by node one', 5000)).toBe(true);
  });

  it('sends each request to a node, by its Host header; the same nodes again change nothing', async () => {
    const [applied] = await frontJson(ips.flatMap((ip) => ['--node', ip]));
    expect(applied).toMatchObject({ front: true, nodes: ips.map((ip) => `${ip}:80`), changed: true, options: { connectTimeout: 1, failTimeout: 10 } });
    const bodies = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const answer = await viaFront();
      expect(answer.status, answer.body).toBe(200);
      bodies.add(/served by node \w+/.exec(answer.body)?.[0] ?? answer.body);
    }
    expect([...bodies].sort()).toEqual(['served by node one', 'served by node two']);
    // An unknown name: the node's own 404 comes back through the front.
    const unknown = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port: front.httpPort, path: '/', headers: { Host: 'nobody.localhost' }, agent: false }, (response) => { response.resume(); resolve(response.statusCode ?? 0); })
        .on('error', () => resolve(0));
    });
    expect(unknown).toBe(404);

    const pid = (await inside(front, 'cat', '/run/nginx.pid')).stdout.trim();
    const workers = (await inside(front, 'pgrep', '-P', pid)).stdout;
    const [again] = await frontJson(ips.flatMap((ip) => ['--node', ip]));
    expect(again).toMatchObject({ changed: false, nodes: applied!.nodes });
    expect((await inside(front, 'pgrep', '-P', pid)).stdout).toBe(workers); // no reload: the same workers
    const [shown] = await frontJson([]);
    expect(shown).toMatchObject({ front: true, nodes: applied!.nodes, changed: false });
    const human = await frontCli(ips.flatMap((ip) => ['--node', ip]));
    expect(human.stdout).toContain('front balancer on port 80 (unchanged, no reload)');
  });

  it('a deploy to the front is refused', async () => {
    const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(front)]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('this host is a front balancer (cluster:front): it serves no apps');
  });

  it('host:setup again keeps the front', async () => {
    const setup = await world.cli(['host:setup', ...world.at(front), '--public-port', String(front.httpPort)]);
    expect(setup.exitCode, setup.stderr).toBe(0);
    const answer = await viaFront();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/served by node (one|two)/);
  });

  it('a node stopped under load: its requests go to the other node, none fails', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${front.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /served by node (one|two)/, requestTimeoutMs: 10_000 });
    await sleep(3000);
    const stoppedAt = Date.now();
    await execa('docker', ['stop', '-t', '5', one.container]);
    const stopTook = Date.now() - stoppedAt;
    await sleep(15_000);
    const report = await load.stop();
    console.log(`front, node one stopped (docker stop took ${stopTook} ms): ${formatLoadReport(report)}`);
    expect(report.sent).toBeGreaterThan(200);
    expect((await viaFront()).body).toContain('served by node two');
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
  });

  it('the node started again serves through the front again', async () => {
    await execa('docker', ['start', one.container]);
    expect(await untilNodeServes(one, 'served by node one')).toBe(true);
    const ip = await bridgeIp(one);
    if (ip !== ips[0]) {
      // The engine gave it another address: the full node list again.
      ips[0] = ip;
      const [applied] = await frontJson(ips.flatMap((address) => ['--node', address]));
      expect(applied!.changed).toBe(true);
    }
    // Back once its fail_timeout (10 s) is over.
    const deadline = Date.now() + 30_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      const answer = await viaFront();
      expect(answer.status).toBe(200);
      seen = answer.body.includes('served by node one');
      if (!seen) await sleep(250);
    }
    expect(seen).toBe(true);
  });
});
