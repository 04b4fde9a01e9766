/**
 * The same 3-replica deploy of the node example on the single-host engine (one sandbox host) and
 * on the swarm engine (a 3-node cluster of sandbox hosts), cold and warm, in one run. Also the
 * requests failed during warm deploys under load (through the host's nginx / a manager's nginx).
 * Prints a table; never fails on time.
 *   npm run bench:swarm        (needs: npm run setup)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { copyExample } from '../test/e2e/helpers.js';
import { testWorld, type TestHost } from '../test/e2e/hosts.js';
import { startLoad, type LoadReport } from '../test/e2e/load.js';

const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 3);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);

const world = testWorld('bswarm');
const single = copyExample('node');
const swarm = copyExample('node');

function writeApp(dir: string, app: string, version: number, engine: 'single' | 'swarm', hosts: TestHost[]): void {
  const file = path.join(dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
  writeFileSync(path.join(dir, 'paas.yml'), `app: ${app}\nengine: ${engine}\nhosts: [${hosts.map((h) => JSON.stringify(h.url)).join(', ')}]\nprocesses: { web: 3 }\nhealthcheck: { path: /up }\n`);
}

interface Row { cold: number; warm: number; bytesWarm: number; load: LoadReport }

async function measure(dir: string, app: string, engine: 'single' | 'swarm', hosts: TestHost[], via: TestHost): Promise<Row> {
  const deploy = async () => {
    const started = Date.now();
    const result = await world.cli(['deploy', dir, '--identity', hosts[0]!.keyPath, '--json']);
    if (result.exitCode !== 0) throw new Error(result.stdout.slice(-2000) + result.stderr.slice(-2000));
    return { ms: Date.now() - started, bytes: (JSON.parse(result.stdout) as { bytesSent: number }).bytesSent };
  };
  writeApp(dir, app, 1, engine, hosts);
  const cold = await deploy();
  const load = startLoad({ url: `http://127.0.0.1:${via.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /Hello from the node example/, maxDurationMs: 600_000, requestTimeoutMs: 10_000 });
  const warm: { ms: number; bytes: number }[] = [];
  for (let v = 2; v < 2 + WARM_RUNS; v += 1) {
    writeApp(dir, app, v, engine, hosts);
    warm.push(await deploy());
  }
  return { cold: cold.ms, warm: median(warm.map((w) => w.ms)), bytesWarm: median(warm.map((w) => w.bytes)), load: await load.stop() };
}

async function main(): Promise<void> {
  const first = await world.addHost('s1');
  const [second, third, alone] = await Promise.all(['s2', 's3', 'one'].map((suffix) => world.addHost(suffix)));
  const nodes = [first, second!, third!];
  const ip = async (host: TestHost) => (await execa('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', host.container])).stdout.trim();
  const at = (host: TestHost) => ['--host', host.url, '--identity', first.keyPath];
  await world.cli(['cluster:init', ...at(first), '--advertise-addr', await ip(first)]);
  for (const node of nodes.slice(1)) await world.cli(['cluster:join', ...at(node), '--manager', first.url, '--advertise-addr', await ip(node)]);

  const rows: [string, Row][] = [
    ['single-host engine (1 host, 3 containers)', await measure(single.dir, 'bsingle', 'single', [alone!], alone!)],
    ['swarm engine (3 nodes, 3 tasks)', await measure(swarm.dir, 'bswarm', 'swarm', nodes, first)],
  ];
  console.log(`\n3-replica deploy of the node example (warm: median of ${WARM_RUNS}, a one-line change; load during the warm deploys)\n`);
  console.log('| engine | cold deploy | warm deploy | sent warm | failed requests during warm deploys |');
  console.log('|---|---|---|---|---|');
  for (const [name, row] of rows) {
    console.log(`| ${name} | ${s(row.cold)} | ${s(row.warm)} | ${mb(row.bytesWarm)} | ${row.load.failed} of ${row.load.sent} |`);
  }
}

main().finally(async () => {
  await world.cleanup();
  single.cleanup();
  swarm.cleanup();
}).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
