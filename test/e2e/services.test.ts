import { execa } from 'execa';
import { cpSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, examplesDir, repoRoot, scratchDir } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';
import { failpoints } from './faults.js';
import { formatLoadReport, startLoad } from './load.js';

/**
 * Backing services on a real sandbox host, with real Postgres and Redis (the images of
 * scripts/base-images.sh): create, link (a release), writes under load through deploys and a
 * SIGKILL of the database, every acknowledged write kept; isolation; connect; unlink; destroy.
 */
const world = testWorld('services');
const app = 'ledger';
const scratch = scratchDir('paas-services-app-');
const appDir = path.join(scratch.dir, app);
let host: TestHost;

const onHost = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });
const cli = (...args: string[]) => world.cli([...args, ...world.at(host)]);
const post = (pathname: string): Promise<{ status: number; body: string }> => new Promise((resolve) => {
  const request = http.request({ host: '127.0.0.1', port: host.httpPort, path: pathname, method: 'POST', headers: { Host: `${app}.localhost` }, timeout: 5000, agent: false }, (response) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => { body += chunk; });
    response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
  });
  request.on('timeout', () => request.destroy(new Error('timeout')));
  request.on('error', (error) => resolve({ status: 0, body: error.message }));
  request.end();
});

/** POST /hits in a closed loop until stopped: every 200 is an acknowledged, committed row (its id). */
function startWriter() {
  const acknowledged: number[] = [];
  const failures: string[] = [];
  let stopping = false;
  const loop = (async () => {
    const deadline = Date.now() + 300_000;
    while (!stopping && Date.now() < deadline && acknowledged.length + failures.length < 100_000) {
      const answer = await post('/hits');
      if (answer.status === 200 && /^\d+$/.test(answer.body)) acknowledged.push(Number(answer.body));
      else failures.push(`${answer.status} ${answer.body.slice(0, 80)}`);
    }
  })();
  return { acknowledged, failures, stop: async () => { stopping = true; await loop; } };
}

/** psql through services:connect, stdin piped: its output. */
async function sql(query: string): Promise<string> {
  const result = await execa('node', [path.join(repoRoot, 'bin', 'run.js'), 'services:connect', 'db', ...world.at(host)], {
    input: `${query}\n`, env: { ...process.env, ...world.env }, reject: false, timeout: 60_000,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

/** How many of these ids the table has. */
async function countPresent(ids: number[]): Promise<number> {
  const out = await sql(`\\pset tuples_only on\nSELECT count(*) FROM hits WHERE id = ANY('{${ids.join(',')}}'::bigint[]);`);
  return Number(out.trim().split('\n').pop()!.trim());
}

const deploy = async (marker: string) => {
  writeFileSync(path.join(appDir, 'VERSION'), marker);
  const result = await world.cli(['deploy', appDir, '--app', app, ...world.at(host), '--json']);
  expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
};

beforeAll(async () => {
  const images = await execa('bash', [path.join(repoRoot, 'scripts', 'base-images.sh'), 'postgres:15-bookworm', 'redis:7-bookworm'], { reject: false });
  expect(images.exitCode, images.stderr).toBe(0);
  cpSync(path.join(examplesDir, 'node-postgres'), appDir, { recursive: true });
  host = await world.addHost('a');
  await deploy('0');
}, 600_000);
afterAll(async () => {
  await world.cleanup();
  scratch.cleanup();
});

describe('backing services', () => {
  it('creates postgres and redis: running, on their own network, no published port, password not in clear on the host', async () => {
    const db = await cli('services:create', 'postgres', 'db', '--json');
    expect(db.exitCode, db.stderr).toBe(0);
    const created = JSON.parse(db.stdout) as { state: string; url: string; container: string };
    expect(created).toMatchObject({ state: 'running', container: 'paas-svc-db' });
    expect(created.url).toBe('postgres://postgres:********@paas-svc-db:5432/db');
    const cache = await cli('services:create', 'redis', 'cache');
    expect(cache.exitCode, cache.stderr).toBe(0);
    expect(cache.stdout).toContain('redis 7 (redis:7-bookworm)');
    // Again: refused, nothing changes.
    const again = await cli('services:create', 'postgres', 'db');
    expect(again.stderr).toContain('this host has a service db already');
    const ports = await onHost('docker', 'inspect', '--format', '{{json .NetworkSettings.Ports}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}', 'paas-svc-db');
    expect(ports.stdout.trim()).toMatch(/^(\{\}|\{"5432\/tcp":null\}) paas-svc\.db unless-stopped$/);
    const info = await cli('services:info', 'db', '--reveal', '--json');
    const password = decodeURIComponent(/postgres:([^@]+)@/.exec((JSON.parse(info.stdout) as { url: string }).url)![1]!);
    expect(password.length).toBeGreaterThanOrEqual(24);
    const grep = await onHost('grep', '-r', '-l', '-F', password, '/var/lib/paas');
    expect(grep.stdout.trim()).toBe('');
    const list = await world.cliJson<{ services: { name: string; kind: string; state: string }[] }>(['services', ...world.at(host)]);
    expect(list.services.map((s) => [s.name, s.kind, s.state])).toEqual([['cache', 'redis', 'running'], ['db', 'postgres', 'running']]);
  });

  it('refuses bad input with a clear error', async () => {
    for (const [args, message] of [
      [['services:create', 'mysql', 'x'], 'Expected mysql to be one of'],
      [['services:create', 'postgres', 'Bad_Name'], 'is not a valid service name'],
      [['services:create', 'postgres', 'x', '--version', '9'], 'postgres "9" is not a version paas runs'],
      [['services:link', 'db', '--app', app, '--as', 'lower_url'], 'expected an upper-case name ending in _URL'],
      [['services:link', 'nope', '--app', app], 'this host has no service nope'],
      [['services:destroy', 'db', '--confirm', 'other'], 'does not match the service db'],
      [['services:info', '../x'], 'is not a valid service name'],
    ] as const) {
      const result = await cli(...args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stdout}`).not.toBe(0);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
  });

  it('links them to the app (a release each, zero failed requests): it writes to postgres and counts in redis', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from node-postgres/, maxDurationMs: 120_000 });
    try {
      const linked = await cli('services:link', 'db', '--app', app, '--json');
      expect(linked.exitCode, linked.stderr).toBe(0);
      expect(JSON.parse(linked.stdout)).toMatchObject({ service: 'db', as: 'DATABASE_URL', release: 2 });
      const redis = await cli('services:link', 'cache', '--app', app);
      expect(redis.exitCode, redis.stderr).toBe(0);
    } finally {
      const report = await load.stop();
      console.log(`services:link under load: ${formatLoadReport(report)}`);
      expect(report.failed).toBe(0);
    }
    // The release phase ran with DATABASE_URL (the migration made the table).
    expect(await post('/hits')).toMatchObject({ status: 200 });
    expect((await post('/visits')).body).toBe('1');
    expect((await post('/visits')).body).toBe('2');
    const ps = await cli('ps', '--app', app);
    expect(ps.stdout).toContain('services: cache (redis, running) as REDIS_URL, db (postgres, running) as DATABASE_URL');
    const config = await world.cliJson<{ vars: Record<string, string> }>(['config', '--app', app, ...world.at(host)]);
    expect(Object.keys(config.vars).sort()).toEqual(['DATABASE_URL', 'REDIS_URL']);
  });

  it('keeps every acknowledged write over 10 deploys under load', async () => {
    const writer = startWriter();
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^Hello from node-postgres/, maxDurationMs: 300_000 });
    try {
      for (let i = 1; i <= 10; i++) await deploy(`d${i}`);
    } finally {
      const report = await load.stop();
      await writer.stop();
      console.log(`10 deploys with a linked database: ${formatLoadReport(report)}; writes acknowledged ${writer.acknowledged.length}, failed ${writer.failures.length}`);
      expect(report.failed).toBe(0);
      expect(writer.failures).toEqual([]);
    }
    expect(writer.acknowledged.length).toBeGreaterThan(100);
    const present = await countPresent(writer.acknowledged);
    console.log(`acknowledged writes: ${writer.acknowledged.length}, present in the table: ${present}`);
    expect(present).toBe(writer.acknowledged.length);
  });

  it('SIGKILL of the postgres container during writes: it comes back by itself and every committed row is there', async () => {
    const writer = startWriter();
    await new Promise((r) => setTimeout(r, 1500));
    const killed = await onHost('docker', 'kill', '--signal', 'KILL', 'paas-svc-db');
    expect(killed.exitCode, killed.stderr).toBe(0);
    const started = Date.now();
    let back = 0;
    while (Date.now() - started < 60_000) {
      if ((await onHost('docker', 'exec', 'paas-svc-db', 'pg_isready', '--quiet', '--host', '127.0.0.1')).exitCode === 0) { back = Date.now() - started; break; }
      await new Promise((r) => setTimeout(r, 250));
    }
    // Writes go on once it is back.
    const before = writer.acknowledged.length;
    const deadline = Date.now() + 30_000;
    while (writer.acknowledged.length < before + 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await writer.stop();
    console.log(`postgres SIGKILLed: answering again after ${back} ms; writes acknowledged ${writer.acknowledged.length}, failed while it was down ${writer.failures.length}`);
    expect(back).toBeGreaterThan(0);
    expect(writer.acknowledged.length).toBeGreaterThan(before);
    expect(await countPresent(writer.acknowledged)).toBe(writer.acknowledged.length);
  });

  it('a host restart: the services come back with the engine, the app writes again, the rows are there', async () => {
    const before = Number((await post('/hits')).body);
    const restarted = await execa('docker', ['restart', '--time', '5', host.container], { reject: false });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const started = Date.now();
    let answer = await post('/hits');
    while (answer.status !== 200 && Date.now() - started < 180_000) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await post('/hits');
    }
    console.log(`host restart: the app wrote to postgres again after ${Date.now() - started} ms`);
    expect(answer.status).toBe(200);
    expect(Number(answer.body)).toBeGreaterThan(before);
    // Redis kept its count across the restart (its append-only file): 2 before, 3 now.
    expect((await post('/visits')).body).toBe('3');
    expect(await countPresent([before])).toBe(1);
  });

  it('is reachable only from linked apps: not from another app, nor from outside the host', async () => {
    const other = copyExample('node');
    try {
      const deployed = await world.cli(['deploy', other.dir, '--app', 'other', ...world.at(host)]);
      expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
      const probe = "require('net').connect(5432, 'paas-svc-db').on('connect', () => { console.log('reached'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(3); })";
      const fromOther = await world.cli(['run', '--app', 'other', ...world.at(host), '--', 'node', '-e', probe]);
      expect(fromOther.stdout.trim()).toBe('ENOTFOUND');
      const fromLinked = await world.cli(['run', '--app', app, ...world.at(host), '--', 'node', '-e', probe]);
      expect(fromLinked.stdout.trim()).toBe('reached');
      // Nothing listens for it on the host: no published port.
      const published = await onHost('docker', 'port', 'paas-svc-db');
      expect(published.stdout.trim()).toBe('');
    } finally {
      await world.cli(['apps:destroy', 'other', '--confirm', 'other', ...world.at(host)]);
      other.cleanup();
    }
  });

  it('services:connect runs psql and redis-cli with stdin piped', async () => {
    expect(await sql('SELECT 40 + 2 AS answer;')).toMatch(/\b42\b/);
    const redis = await execa('node', [path.join(repoRoot, 'bin', 'run.js'), 'services:connect', 'cache', ...world.at(host)], {
      input: 'GET visits\n', env: { ...process.env, ...world.env }, reject: false, timeout: 60_000,
    });
    expect(redis.exitCode, redis.stderr).toBe(0);
    expect(redis.stdout.trim()).toBe('3');
  });

  it('faults: an agent killed in the middle of services:create or services:link leaves a record that running it again finishes', async () => {
    await failpoints.arm(host, 'service-create', 'kill');
    try {
      const killed = await cli('services:create', 'redis', 'jobs');
      expect(killed.exitCode).not.toBe(0);
    } finally {
      await failpoints.disarm(host, 'service-create');
    }
    const half = await world.cliJson<{ services: { name: string; status: string }[] }>(['services', ...world.at(host)]);
    expect(half.services.find((s) => s.name === 'jobs')?.status).toBe('creating');
    const linkEarly = await cli('services:link', 'jobs', '--app', app, '--as', 'JOBS_URL');
    expect(linkEarly.stderr).toContain('the service jobs is not created yet');
    const finished = await cli('services:create', 'redis', 'jobs', '--json');
    expect(finished.exitCode, finished.stderr).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ status: 'created', state: 'running' });

    await failpoints.arm(host, 'service-link', 'kill');
    try {
      const killed = await cli('services:link', 'jobs', '--app', app, '--as', 'JOBS_URL');
      expect(killed.exitCode).not.toBe(0);
    } finally {
      await failpoints.disarm(host, 'service-link');
    }
    // The app still serves, without the var; the link says it is not finished.
    expect((await post('/hits')).status).toBe(200);
    const info = await world.cliJson<{ links: { app: string; as: string; status: string }[] }>(['services:info', 'jobs', ...world.at(host)]);
    expect(info.links).toEqual([{ app, as: 'JOBS_URL', status: 'linking' }]);
    const again = await cli('services:link', 'jobs', '--app', app, '--as', 'JOBS_URL');
    expect(again.exitCode, again.stderr).toBe(0);
    const unlinked = await cli('services:unlink', 'jobs', '--app', app);
    expect(unlinked.exitCode, unlinked.stderr).toBe(0);
    expect((await cli('services:destroy', 'jobs', '--confirm', 'jobs')).exitCode).toBe(0);
  });

  it('unlink removes the config var (a release); destroy is refused while linked, then removes the data', async () => {
    const refused = await cli('services:destroy', 'cache', '--confirm', 'cache');
    expect(refused.stderr).toContain('the service cache is linked to ledger');
    const unlinked = await cli('services:unlink', 'cache', '--app', app);
    expect(unlinked.exitCode, unlinked.stderr).toBe(0);
    const config = await world.cliJson<{ vars: Record<string, string> }>(['config', '--app', app, ...world.at(host)]);
    expect(Object.keys(config.vars)).toEqual(['DATABASE_URL']);
    expect((await post('/visits')).status).toBe(503);
    const destroyed = await cli('services:destroy', 'cache', '--confirm', 'cache');
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect((await onHost('docker', 'volume', 'ls', '--quiet', '--filter', 'label=paas.service=cache')).stdout.trim()).toBe('');
    // apps:destroy of a linked app unlinks it: the service can then go.
    expect((await cli('apps:destroy', app, '--confirm', app)).exitCode).toBe(0);
    const db = await cli('services:destroy', 'db', '--confirm', 'db');
    expect(db.exitCode, db.stderr).toBe(0);
    expect((await onHost('docker', 'ps', '--all', '--quiet', '--filter', 'label=paas.service')).stdout.trim()).toBe('');
  });
});
