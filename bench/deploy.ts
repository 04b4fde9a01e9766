/**
 * paas deploy vs a naive script, in the same run, each on a fresh sandbox host. Prints a table;
 * never fails on time. The naive script ships the same image the way people do without paas:
 *   docker save IMAGE | ssh host docker load; ssh host docker rm -f app; docker run -d ... IMAGE
 * behind a fixed nginx upstream. Both apps are the node example; a warm deploy is a one-line
 * change. Load: the test suite's generator (keep-alive and new connections) through nginx.
 *   npm run bench:deploy        (needs: npm run setup)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { copyExample } from '../test/e2e/helpers.js';
import { testWorld, viaNginx, type TestHost } from '../test/e2e/hosts.js';
import { startLoad, type LoadReport } from '../test/e2e/load.js';

const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 3);
/**
 * Quiet time before each timed warm deploy, for both: the previous paas deploy drains its old
 * containers in the background on the host, and the sandbox host shares this machine's CPUs with
 * the CLI, which a real host does not.
 */
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 3000);
const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
const LOADED_RUNS = Number(process.env.BENCH_LOADED_RUNS ?? 5);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await work();
  return { ms: Date.now() - started, value };
}

const world = testWorld('bench');
const example = copyExample('node');
function setVersion(version: number): void {
  const file = path.join(example.dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
}
async function loadDuring(host: TestHost, app: string, work: () => Promise<void>): Promise<LoadReport> {
  const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /Hello from the node example/, maxDurationMs: 600_000 });
  await new Promise((r) => setTimeout(r, 500));
  await work();
  return load.stop();
}

interface Row { cold: number; warm: number; bytesWarm: number; switchMs: number; rollback: number; load: LoadReport }

async function ours(host: TestHost): Promise<Row> {
  const app = 'ours';
  const deploy = async () => {
    const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host), '--json']);
    if (result.exitCode !== 0) throw new Error(result.stderr.slice(-2000));
    return JSON.parse(result.stdout) as { bytesSent: number; hosts: { rollout: { switchMs: number } }[] };
  };
  setVersion(1);
  const cold = await timed(deploy);
  const warm: number[] = [];
  const bytes: number[] = [];
  const switches: number[] = [];
  let version = 1;
  for (let i = 0; i < WARM_RUNS; i += 1) {
    setVersion(++version);
    await pause();
    const run = await timed(deploy);
    warm.push(run.ms);
    bytes.push(run.value.bytesSent);
    switches.push(run.value.hosts[0]!.rollout.switchMs);
  }
  const load = await loadDuring(host, app, async () => {
    for (let i = 0; i < LOADED_RUNS; i += 1) {
      setVersion(++version);
      await deploy();
    }
  });
  await pause();
  const rollback = await timed(async () => {
    const result = await world.cli(['rollback', '--app', app, ...world.at(host)]);
    if (result.exitCode !== 0) throw new Error(result.stderr);
  });
  if (!(await viaNginx(host, app)).body.includes(`version ${version - 1}`)) throw new Error('rollback did not serve the previous version');
  return { cold: cold.ms, warm: median(warm), bytesWarm: median(bytes), switchMs: median(switches), rollback: rollback.ms, load };
}

async function naive(host: TestHost): Promise<Row & { fullSave: number }> {
  const app = 'naive';
  const ssh = ['ssh', '-i', host.keyPath, '-p', String(host.sshPort), '-o', `UserKnownHostsFile=${path.join(world.env.PAAS_HOME!, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${host.user}@127.0.0.1`];
  // As a sudo user the script runs its commands through sudo, as people do.
  const asRoot = (command: string) => (host.user === 'root' ? command : `sudo sh -c '${command.replace(/'/g, "'\\''")}'`);
  const onHost = (command: string) => execa(ssh[0]!, [...ssh.slice(1), asRoot(command)]);
  // A fixed upstream, as a hand-written setup would have it.
  await onHost(`printf '%s\\n' 'server { listen 80; server_name ${app}.localhost; location / { proxy_pass http://127.0.0.1:18080; } }' > /etc/nginx/conf.d/naive.conf && rm -f /etc/nginx/sites-enabled/default && nginx -s reload`);
  const images: string[] = [];
  let fullSave = 0;
  const deploy = async (version: number) => {
    const image = `bench-naive/app:${version}`;
    images.push(image);
    const build = await world.cli(['build', example.dir, '--tag', image, '--json']);
    if (build.exitCode !== 0) throw new Error(build.stderr);
    await ship(image);
    await restart(image);
  };
  const ship = async (image: string) => {
    await execa('docker', ['save', image], { buffer: false }).pipe(ssh[0]!, [...ssh.slice(1), asRoot('docker load')]);
  };
  const saveSize = async (image: string) => {
    let bytes = 0;
    const save = execa('docker', ['save', image], { buffer: false });
    save.stdout!.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    await save;
    return bytes;
  };
  const restart = (image: string) => onHost(`docker rm -f ${app} >/dev/null 2>&1; docker run -d --name ${app} -e PORT=8080 -p 127.0.0.1:18080:8080 ${image}`);
  let version = 1;
  setVersion(version);
  const cold = await timed(() => deploy(version));
  fullSave = await saveSize(images[0]!);
  const warm: number[] = [];
  for (let i = 0; i < WARM_RUNS; i += 1) {
    setVersion(++version);
    await pause();
    warm.push((await timed(() => deploy(version))).ms);
  }
  const load = await loadDuring(host, app, async () => {
    for (let i = 0; i < LOADED_RUNS; i += 1) {
      setVersion(++version);
      await deploy(version);
    }
  });
  await pause();
  const rollback = await timed(() => restart(`bench-naive/app:${version - 1}`));
  await execa('docker', ['rmi', '-f', ...images], { reject: false });
  return { cold: cold.ms, warm: median(warm), bytesWarm: fullSave, fullSave, switchMs: NaN, rollback: rollback.ms, load };
}

/** The kinds of host (docs/host.md), each as `paas sandbox:up` makes it; BENCH_FLAVOURS picks some (comma-separated labels). */
const FLAVOURS: Record<string, string[]> = {
  bookworm: [],
  'bookworm-sudo': ['--user', 'admin'],
  trixie: ['--flavour', 'trixie'],
  'trixie-containerd': ['--flavour', 'trixie', '--containerd-store'],
};
const chosen = (process.env.BENCH_FLAVOURS ?? Object.keys(FLAVOURS).join(',')).split(',').filter((label) => {
  if (FLAVOURS[label]) return true;
  throw new Error(`BENCH_FLAVOURS: unknown flavour ${label} (one of ${Object.keys(FLAVOURS).join(', ')})`);
});

try {
  const summary: string[] = [];
  for (const label of chosen) {
    const ourHost = await world.addHost(`ours-${label}`, FLAVOURS[label]);
    const naiveHost = await world.addHost(`naive-${label}`, FLAVOURS[label]);
    const a = await ours(ourHost);
    const b = await naive(naiveHost);
    const failed = (r: LoadReport) => `${r.failed} of ${r.sent}`;
    const at100Mbit = (bytes: number) => `${((bytes * 8) / 100e6).toFixed(2)} s`;
    console.log(`\n### ${label}: deploy of examples/node to a sandbox host over loopback (medians of ${WARM_RUNS} warm deploys, each after ${PAUSE_MS / 1000} s of quiet; failures counted during ${LOADED_RUNS} more, back to back)\n`);
    console.log('| | paas | naive script | paas / naive |');
    console.log('|---|---|---|---|');
    console.log(`| cold deploy (empty host) | ${s(a.cold)} | ${s(b.cold)} | ${(a.cold / b.cold).toFixed(2)}x |`);
    console.log(`| warm deploy (one-line change) | ${s(a.warm)} | ${s(b.warm)} | ${(a.warm / b.warm).toFixed(2)}x |`);
    console.log(`| bytes sent, warm | ${mb(a.bytesWarm)} | ${mb(b.fullSave)} (full docker save) | ${((100 * a.bytesWarm) / b.fullSave).toFixed(3)}% |`);
    console.log(`| warm transfer at 100 Mbit/s (computed from the bytes, not measured) | ${at100Mbit(a.bytesWarm)} | ${at100Mbit(b.fullSave)} | |`);
    console.log(`| switch time (healthy -> nginx routes the new release) | ${a.switchMs} ms | stop old, start new | |`);
    console.log(`| rollback | ${s(a.rollback)} | ${s(b.rollback)} (restart the previous image) | |`);
    console.log(`| failed requests during ${LOADED_RUNS} deploys under load | ${failed(a.load)} | ${failed(b.load)} | |`);
    console.log(`\nload: paas ${a.load.requestsPerSecond.toFixed(0)} req/s, naive ${b.load.requestsPerSecond.toFixed(0)} req/s; naive failures: ${JSON.stringify(b.load.byStatus)}`);
    summary.push(`| ${label} | ${s(a.cold)} / ${s(b.cold)} | ${s(a.warm)} / ${s(b.warm)} | ${mb(a.bytesWarm)} / ${mb(b.fullSave)} | ${s(a.rollback)} / ${s(b.rollback)} | ${failed(a.load)} / ${failed(b.load)} |`);
    // Stopped, not removed: the world's first host's key logs in to every host it makes.
    for (const host of [ourHost, naiveHost]) await execa('docker', ['stop', '--time', '5', host.container], { reject: false });
  }
  console.log('\n### Every flavour (paas / naive script)\n');
  console.log('| host | cold | warm | bytes sent, warm | rollback | failed requests under load |');
  console.log('|---|---|---|---|---|---|');
  for (const row of summary) console.log(row);
} finally {
  await world.cleanup();
  example.cleanup();
}
