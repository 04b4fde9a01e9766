/**
 * The fault suite: real faults at exact moments of a deploy, each under constant HTTP load
 * through the host's nginx. After each: the old release (or the new one, once switched) kept
 * answering with 0 failed requests, `nginx -t` passes, `releases` and `ps` agree with what nginx
 * serves, the app's lock is free, and the next deploy succeeds.
 *
 * Moments are the agent's failpoints (src/agent/failpoints.ts): `kill` makes the agent SIGKILL
 * itself there; `pause` holds it there while the test kills the CLI (SIGKILL) or cuts the SSH
 * connection, then lets it go on.
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';
import { cuttableProxy, failpoints, lockFree, onHost, trustAt, waitLockFree } from './faults.js';

const world = testWorld('faults');
const app = 'faulty';
const example = copyExample('node');
let host: TestHost;
let proxy: ReturnType<typeof cuttableProxy>;
let proxyUrl: string;
let version = 1;

function setVersion(next: number): void {
  const file = path.join(example.dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${next};`));
}

const deployArgs = (url = host.url) => ['deploy', example.dir, '--app', app, '--host', url, '--identity', host.keyPath];

/** The release of the container nginx routes a request to (the example answers its PAAS_RELEASE). */
async function releaseServed(): Promise<string> {
  return (await viaNginx(host, app, '/env/PAAS_RELEASE')).body.trim();
}

interface Releases { current?: number; releases: { version: number; status: string }[] }
interface Ps { current?: number; processes: { container: string; release: number; state: string }[] }

/** Everything the suite asserts after a fault, once the host is idle again. */
async function assertConsistent(label: string): Promise<number> {
  const waited = await waitLockFree(host, app);
  const nginxTest = await onHost(host, 'nginx', '-t');
  expect(nginxTest.exitCode, `${label}: nginx -t\n${nginxTest.stderr}`).toBe(0);
  // releases and ps come from the host after any agent has reconciled what a dead one left.
  const releases = await world.cliJson<Releases>(['releases', '--app', app, ...world.at(host)]);
  const current = releases.current!;
  expect(releases.releases.filter((r) => r.status === 'pending'), `${label}: no release left pending`).toEqual([]);
  expect(releases.releases.find((r) => r.version === current)?.status).toBe('active');
  const served = new Set<string>();
  for (let i = 0; i < 20; i += 1) served.add(await releaseServed());
  expect([...served], `${label}: nginx serves the current release only`).toEqual([`v${current}`]);
  // Old containers drain in the background: eventually only the current release's run.
  let ps: Ps | undefined;
  for (let i = 0; i < 100; i += 1) {
    ps = (await world.cliJson<Ps[]>(['ps', '--app', app, ...world.at(host)]))[0]!;
    if (ps.processes.every((p) => p.release === current)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(ps!.current, `${label}: ps and releases agree`).toBe(current);
  expect(ps!.processes.map((p) => [p.release, p.state]), `${label}: only the current release runs`).toEqual([[current, 'running']]);
  expect(await lockFree(host, app)).toBe(true);
  return waited;
}

/** A deploy that must succeed (the next deploy after a fault). */
async function deployOk(label: string): Promise<number> {
  version += 1;
  setVersion(version);
  const result = await world.cli([...deployArgs(), '--json']);
  expect(result.exitCode, `${label}: the next deploy\n${result.stderr.slice(-3000)}`).toBe(0);
  return (JSON.parse(result.stdout) as { release: number }).release;
}

const standbySockets = async () => (await onHost(host, 'find', '/var/lib/paas/agent', '-name', 'standby-*.sock')).stdout.split('\n').filter(Boolean);

/** Makes the next deploy take the given path: a standby agent waiting (the socket there), or a new agent process (no socket). */
async function usePath(via: 'standby' | 'process'): Promise<void> {
  if (via === 'process') {
    await onHost(host, 'sh', '-c', 'rm -f /var/lib/paas/agent/standby-*.sock');
    return;
  }
  if ((await standbySockets()).length === 0) {
    // A deploy leaves a standby behind it.
    await deployOk('a deploy that starts a standby');
    await assertConsistent('after the standby deploy');
  }
  for (let i = 0; i < 100 && (await standbySockets()).length === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
  expect(await standbySockets()).toHaveLength(1);
}

const POINTS = ['rollout-start', 'rollout-health', 'rollout-switched', 'drain-stop'] as const;
const rows: string[] = [];

beforeAll(async () => {
  host = await world.addHost('a');
  proxy = cuttableProxy(host.sshPort);
  const port = await proxy.listen();
  trustAt(world.env.PAAS_HOME!, port, host);
  proxyUrl = `ssh://root@127.0.0.1:${port}`;
  setVersion(version);
  const first = await world.cli([...deployArgs(), '--json']);
  expect(first.exitCode, first.stderr).toBe(0);
});
afterAll(async () => {
  if (rows.length) console.log(`fault suite:\n${rows.join('\n')}`);
  await proxy.close();
  await world.cleanup();
  example.cleanup();
});

/** Runs `fault` under load; then checks the host and deploys once more. */
async function underLoad(label: string, fault: () => Promise<string>): Promise<void> {
  const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from the node example, version \d+/ });
  let outcome: string;
  try {
    outcome = await fault();
    await assertConsistent(label);
    const next = await deployOk(label);
    expect(await releaseServed(), `${label}: the next deploy serves`).toBe(`v${next}`);
  } finally {
    const report = await load.stop();
    rows.push(`  ${label}: ${report.failed} failed of ${report.sent}`);
    expect(report.failed, `${label}: ${formatLoadReport(report)}`).toBe(0);
  }
  rows[rows.length - 1] += `; ${outcome}`;
}

describe('SIGKILL of the agent', () => {
  for (const via of ['standby', 'process'] as const) {
    for (const point of POINTS) {
      it(`${point}, ${via} path: the host settles by itself, the CLI says what serves`, async () => {
        await usePath(via);
        await underLoad(`agent killed at ${point} (${via})`, async () => {
          await failpoints.arm(host, point, 'kill');
          try {
            version += 1;
            setVersion(version);
            const result = await world.cli(deployArgs());
            if (point === 'drain-stop') {
              // The drain runs after the deploy has answered: the deploy succeeds; the next agent stops what the killed drain left.
              expect(result.exitCode, result.stderr.slice(-2000)).toBe(0);
              return 'deploy done, its drain killed';
            }
            expect(result.exitCode).not.toBe(0);
            expect(result.stderr).toMatch(/asked again, \S+ says: (v\d+ is live|v\d+ serves)/);
            return (/asked again, \S+ says: ([^\n]+)/.exec(result.stderr)?.[1] ?? '').slice(0, 80);
          } finally {
            await failpoints.disarm(host, point);
          }
        });
      });
    }
  }
});

describe('SIGKILL of the CLI, and an SSH cut, while the agent works', () => {
  for (const fault of ['cli-killed', 'ssh-cut'] as const) {
    for (const via of ['standby', 'process'] as const) {
      for (const point of POINTS.slice(0, 3)) {
        it(`${fault} at ${point}, ${via} path: the agent finishes or undoes its step, frees the lock`, async () => {
          await usePath(via);
          await underLoad(`${fault} at ${point} (${via})`, async () => {
            await failpoints.arm(host, point, 'pause');
            version += 1;
            setVersion(version);
            const cli = execa(process.execPath, [cliPath, ...deployArgs(fault === 'ssh-cut' ? proxyUrl : host.url)], {
              env: { ...world.env, NO_COLOR: '1' }, reject: false, stdin: 'ignore',
            });
            try {
              expect(await failpoints.reached(host, point), `${point} was never reached`).toBe(true);
              if (fault === 'cli-killed') cli.kill('SIGKILL');
              else expect(proxy.cut()).toBeGreaterThan(0);
            } finally {
              await failpoints.disarm(host, point);
            }
            const result = await cli;
            expect(result.exitCode).not.toBe(0);
            // The CLI whose connection broke asks the host again, on a new connection, what serves.
            if (fault === 'ssh-cut') expect(result.stderr).toMatch(/asked again, \S+ says: (v\d+ is live|v\d+ serves)|is still at work on it/);
            const waited = await waitLockFree(host, app);
            return `the agent went on alone for ${waited} ms`;
          });
        });
      }
    }
  }
});

describe('the host and its containers', () => {
  it('an app container that crashes (its process killed) comes back by itself; requests failed meanwhile are counted', async () => {
    const { current } = await world.cliJson<Releases>(['releases', '--app', app, ...world.at(host)]);
    const name = `paas-${app}.web.1.v${current}`;
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from the node example/ });
    const started = Date.now();
    const killed = await onHost(host, 'sh', '-c', 'kill -9 "$(docker inspect --format "{{.State.Pid}}" "$1")"', 'sh', name);
    expect(killed.exitCode, killed.stderr).toBe(0);
    let back = 0;
    while (Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 100));
      const restarts = (await onHost(host, 'docker', 'inspect', '--format', '{{.RestartCount}} {{.State.Running}}', name)).stdout.trim();
      if (restarts !== '0 true' && restarts.endsWith('true') && (await viaNginx(host, app)).status === 200) { back = Date.now() - started; break; }
    }
    await new Promise((r) => setTimeout(r, 500));
    const report = await load.stop();
    rows.push(`  web container's process killed: back and answering after ${back} ms; ${report.failed} of ${report.sent} requests failed while it was down`);
    console.log(`container crash: back after ${back} ms, ${formatLoadReport(report)}`);
    expect(back).toBeGreaterThan(0);
    expect(await releaseServed()).toBe(`v${current}`);
    await assertConsistent('after a container crash');
  });

  /**
   * A change to the web container made outside paas, under load: how long until nginx answers
   * from the current release again, and how many requests failed. The host service's reason is
   * in `paas logs -p paas`.
   */
  async function outsideChange(label: string, change: (name: string) => Promise<void>, says: RegExp): Promise<number> {
    const { current } = await world.cliJson<Releases>(['releases', '--app', app, ...world.at(host)]);
    const ps = (await world.cliJson<Ps[]>(['ps', '--app', app, ...world.at(host)]))[0]!;
    const name = ps.processes.find((p) => p.release === current)!.container;
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from the node example/ });
    const started = Date.now();
    await change(name);
    // First the outage nginx sees (the container is gone from its port), then the answer again.
    let down = false;
    while (!down && Date.now() - started < 3000) down = (await viaNginx(host, app)).status !== 200;
    expect(down, `${label}: nginx saw the web container stop`).toBe(true);
    let back = 0;
    while (Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 50));
      if ((await viaNginx(host, app)).status === 200) { back = Date.now() - started; break; }
    }
    await new Promise((r) => setTimeout(r, 500));
    const report = await load.stop();
    rows.push(`  ${label}: back and routed after ${back} ms (goal <= 5000); ${report.failed} of ${report.sent} requests failed meanwhile`);
    console.log(`${label}: back after ${back} ms, ${formatLoadReport(report)}`);
    expect(back, `${label}: the app answers again`).toBeGreaterThan(0);
    expect(await releaseServed()).toBe(`v${current}`);
    const logs = await world.cli(['logs', '--app', app, '-p', 'paas', '-n', '20', ...world.at(host)]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(says);
    await assertConsistent(`after ${label}`);
    return back;
  }

  it('docker kill of the only web container: the host service starts it again and nginx routes to it', async () => {
    await outsideChange('docker kill of the web container', async (name) => {
      const killed = await onHost(host, 'docker', 'kill', name);
      expect(killed.exitCode, killed.stderr).toBe(0);
    }, /web\.1 \(paas-faulty\.web\.1\.v\d+\) was exited outside paas; the host service started it again/);
  });

  it('docker stop of the web container: started again the same way', async () => {
    await outsideChange('docker stop of the web container', async (name) => {
      const stopped = await onHost(host, 'docker', 'stop', '--time', '1', name);
      expect(stopped.exitCode, stopped.stderr).toBe(0);
    }, /was exited outside paas; the host service started it again/);
  });

  it('docker rm -f of the web container: the host service starts web again by a rolling restart', async () => {
    await outsideChange('docker rm -f of the web container', async (name) => {
      const removed = await onHost(host, 'docker', 'rm', '-f', name);
      expect(removed.exitCode, removed.stderr).toBe(0);
    }, /web\.1 of v\d+ is gone \(removed outside paas\); the host service restarts web/);
  });

  it('two deploys of one app at once: one is refused at once naming the holder, the other goes live; 0 failed requests', async () => {
    await underLoad('two deploys of one app at once', async () => {
      version += 1;
      setVersion(version);
      const [a, b] = await Promise.all([world.cli(deployArgs()), world.cli(deployArgs())]);
      const codes = [a.exitCode, b.exitCode].sort();
      expect(codes).toEqual([0, 10]);
      const refused = a.exitCode === 10 ? a : b;
      expect(refused.stderr).toMatch(new RegExp(`${app} is locked by \\S+@\\S+ \\(deploy from .+\\) since \\d{4}-`));
      return 'one refused (exit 10), one live';
    });
  });

  it('two apps deployed at once: both go live; the first keeps serving with 0 failed requests', async () => {
    const other = copyExample('static');
    const deployOther = () => world.cli(['deploy', other.dir, '--app', 'other', ...world.at(host)]);
    try {
      // Its first deploy adds its names to nginx's sites table (no reload).
      expect((await deployOther()).exitCode).toBe(0);
      await underLoad('two apps deployed at once', async () => {
        version += 1;
        setVersion(version);
        writeFileSync(path.join(other.dir, 'index.html'), `<p>other ${version}</p>\n`);
        const [a, b] = await Promise.all([world.cli(deployArgs()), deployOther()]);
        expect(a.exitCode, a.stderr.slice(-2000)).toBe(0);
        expect(b.exitCode, b.stderr.slice(-2000)).toBe(0);
        expect((await viaNginx(host, 'other')).status).toBe(200);
        return 'both live';
      });
    } finally {
      await world.cli(['apps:destroy', 'other', '--confirm', 'other', ...world.at(host)]);
      other.cleanup();
    }
  });

  it('a host restart: apps answer again with no paas command; the next deploy works', async () => {
    const before = { ssh: host.sshPort, http: host.httpPort };
    const started = Date.now();
    const restarted = await execa('docker', ['restart', '--time', '5', host.container], { reject: false });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    let answered = 0;
    while (Date.now() - started < 180_000) {
      const answer = await viaNginx(host, app);
      if (answer.status === 200 && /Hello from the node example/.test(answer.body)) { answered = Date.now() - started; break; }
      await new Promise((r) => setTimeout(r, 250));
    }
    rows.push(`  host restart: the app answered again ${answered} ms after \`docker restart\` of the host, with no paas command`);
    console.log(`host restart: the app answers again after ${answered} ms`);
    expect(answered).toBeGreaterThan(0);
    // The sandbox kept its published ports (paas sandbox:up says the same).
    const info = await world.cliJson<{ sshPort: number; httpPort: number }>(['sandbox:up', host.name]);
    expect({ ssh: info.sshPort, http: info.httpPort }).toEqual(before);
    await assertConsistent('after a host restart');
    await deployOk('after a host restart');
    await assertConsistent('after a host restart and a deploy');
  });

  it('an agent upgrade: the host service hands over to the agent its launcher names, and keeps the formation', async () => {
    const launcherFile = '/var/lib/paas/bin/paas-service';
    const launcher = (await onHost(host, 'cat', launcherFile)).stdout;
    const current = /'(\/var\/lib\/paas\/agent\/agent-[0-9a-f]+\.mjs)'/.exec(launcher)?.[1];
    expect(current, launcher).toBeDefined();
    const next = '/var/lib/paas/agent/agent-00000000000000ff.mjs';
    const services = async () => (await onHost(host, 'ps', '-eo', 'args')).stdout.split('\n').filter((line) => / service( --supervised)?$/.test(line));
    const handedTo = async (file: string) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const now = await services();
        if (now.length === 1 && now[0]!.includes(`${file} service`)) return Date.now();
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`the service did not hand over to ${file}: ${JSON.stringify(await services())}`);
    };
    expect((await onHost(host, 'cp', current!, next)).exitCode).toBe(0);
    const write = (text: string) => onHost(host, 'sh', '-c', 'printf "%s" "$1" > "$2.tmp" && chmod 755 "$2.tmp" && mv "$2.tmp" "$2"', 'sh', text, launcherFile);
    try {
      const started = Date.now();
      expect((await write(launcher.replace(current!, next))).exitCode).toBe(0);
      const took = (await handedTo(next)) - started;
      rows.push(`  agent upgrade: the host service ran the new agent ${took} ms after its launcher changed`);
      console.log(`agent upgrade: handed over in ${took} ms`);
      await outsideChange('docker kill after an agent upgrade', async (name) => {
        expect((await onHost(host, 'docker', 'kill', name)).exitCode).toBe(0);
      }, /was exited outside paas; the host service started it again/);
    } finally {
      await write(launcher);
      await handedTo(current!);
      await onHost(host, 'rm', '-f', next);
    }
  });

  it('after a host restart the host service runs again: a killed web container comes back', async () => {
    await outsideChange('docker kill after a host restart', async (name) => {
      expect((await onHost(host, 'docker', 'kill', name)).exitCode).toBe(0);
    }, /was exited outside paas; the host service started it again/);
  });
});

describe('a full disk', () => {
  const diskApp = 'fulldisk';
  let disk: TestHost;
  const diskExample = copyExample('node');
  const at = () => ['--app', diskApp, '--host', disk.url, '--identity', disk.keyPath];

  beforeAll(async () => {
    // A host whose /var/lib/paas is a small filesystem of its own (a tmpfs), so that the test can fill it.
    const name = `faults-disk-${Date.now().toString(36)}`.slice(0, 31);
    const sandbox = await world.cliJson<TestHost>(['sandbox:up', name, '--identity', host.keyPath]);
    disk = { ...sandbox, name };
    world.hosts.push(disk);
    expect((await onHost(disk, 'mkdir', '-p', '/var/lib/paas')).exitCode).toBe(0);
    expect((await onHost(disk, 'mount', '-t', 'tmpfs', '-o', 'size=48m,mode=711', 'tmpfs', '/var/lib/paas')).exitCode).toBe(0);
    expect((await world.cli(['host:setup', '--host', disk.url, '--identity', disk.keyPath, '--public-port', String(disk.httpPort)])).exitCode).toBe(0);
    const first = await world.cli(['deploy', diskExample.dir, ...at()]);
    expect(first.exitCode, first.stderr.slice(-2000)).toBe(0);
    expect((await world.cli(['config:set', 'GREETING=before', ...at()])).exitCode).toBe(0);
  });
  afterAll(() => diskExample.cleanup());

  const fill = () => onHost(disk, 'sh', '-c', 'dd if=/dev/zero of=/var/lib/paas/filler bs=64k 2>/dev/null; sync; true');
  const free = () => onHost(disk, 'rm', '-f', '/var/lib/paas/filler');

  it('a deploy and a config:set on a full disk: a clear error naming the path, nothing corrupted, the old release serving; both work once space is freed', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${disk.httpPort}/`, hostHeader: `${diskApp}.localhost`, expectBody: /^Hello from the node example/ });
    try {
      const before = await world.cliJson<Releases>(['releases', ...at()]);
      await fill();
      const file = path.join(diskExample.dir, 'server.js');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, 'const VERSION = 2;'));
      const deploy = await world.cli(['deploy', diskExample.dir, ...at()]);
      expect(deploy.exitCode, deploy.stderr.slice(-2000)).toBe(12);
      expect(deploy.stderr).toMatch(/the disk of \/var\/lib\/paas\/\S+ is full: cannot write \/var\/lib\/paas\/\S+/);
      expect(deploy.stderr).toMatch(/free space on the host \(at least [\d.]+ [KM]B; see `df -h \/var\/lib\/paas/);
      // Reads work on a full disk: they write nothing.
      const shown = await world.cli(['config', '--reveal', '--json', ...at()]);
      expect(shown.exitCode, shown.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(shown.stdout))).toContain('"GREETING":"before"');
      const set = await world.cli(['config:set', 'GREETING=after', ...at()]);
      expect(set.exitCode, set.stderr.slice(-2000)).toBe(12);
      expect(set.stderr).toMatch(/the disk of \/var\/lib\/paas\/\S+ is full/);
      // Nothing corrupted, nothing left over.
      const after = await world.cliJson<Releases>(['releases', ...at()]);
      expect(after).toEqual(before);
      const leftovers = await onHost(disk, 'sh', '-c', 'find /var/lib/paas -name "*.tmp"; ls -A /var/lib/paas/builds /var/lib/paas/intents');
      expect(leftovers.stdout.split('\n').filter((l) => l && !l.endsWith(':'))).toEqual([]);
      const snapshots = (await onHost(disk, 'ls', `/var/lib/paas/apps/${diskApp}/config`)).stdout.split('\n').filter(Boolean);
      expect(snapshots.sort()).toEqual(before.releases.map((r) => `v${r.version}.enc`).sort());
      expect((await onHost(disk, 'nginx', '-t')).exitCode).toBe(0);
      expect((await viaNginx(disk, diskApp, '/env/GREETING')).body).toBe('before');
      await free();
      const deployed = await world.cli(['deploy', diskExample.dir, ...at()]);
      expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
      expect((await world.cli(['config:set', 'GREETING=after', ...at()])).exitCode).toBe(0);
      expect((await viaNginx(disk, diskApp, '/env/GREETING')).body).toBe('after');
    } finally {
      await free();
      const report = await load.stop();
      rows.push(`  disk full during a deploy and a config:set: ${report.failed} failed of ${report.sent}; exit 12 naming the path, nothing left over`);
      expect(report.failed, formatLoadReport(report)).toBe(0);
    }
  });
});
