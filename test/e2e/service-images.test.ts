// The backing services' images on the local Docker Engine: postgres:15-bookworm and
// redis:7-bookworm (pulled, or built from Debian packages by scripts/base-images.sh), used the
// way paas will use them: a server in a network with a volume and a generated password, clients
// in other containers of the same image, a crash and a restart, backups.
import { execa } from 'execa';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runId } from './helpers.js';

const POSTGRES = 'postgres:15-bookworm';
const REDIS = 'redis:7-bookworm';
const prefix = `paas-svc-${runId}`;
const network = `${prefix}-net`;
const password = `pw-${runId}-${Math.random().toString(36).slice(2)}`;

// Everything this file makes, by name, for afterAll.
const containers = new Set<string>();
const volumes = new Set<string>();
let networkMade = false;
let serial = 0;

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The docker CLI. Secrets are given as `env` and named with `-e NAME` only: their values reach
 * the containers through the CLI's environment, never its argv.
 */
async function docker(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const result = await execa('docker', args, {
    reject: false,
    input: options.input ?? '',
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function ok(args: string[], options: Parameters<typeof docker>[1] = {}): Promise<string> {
  const result = await docker(args, options);
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
  return result.stdout.trim();
}

function named(kind: string): string {
  const name = `${prefix}-${kind}-${++serial}`;
  containers.add(name);
  return name;
}

function volume(kind: string): string {
  const name = `${prefix}-${kind}`;
  volumes.add(name);
  return name;
}

function envArgs(env: Record<string, string>): string[] {
  return Object.keys(env).flatMap((key) => ['-e', key]);
}

/** A server container in the test's network. */
async function server(kind: string, image: string, options: { env?: Record<string, string>; volume?: string; mount?: string; command?: string[] }): Promise<string> {
  const name = named(kind);
  const env = options.env ?? {};
  const mount = options.volume ? ['-v', `${options.volume}:${options.mount}`] : [];
  await ok(['run', '-d', '--name', name, '--network', network, ...envArgs(env), ...mount, image, ...(options.command ?? [])], { env });
  return name;
}

/** A one-off client container in the test's network, removed when it exits. */
function client(image: string, env: Record<string, string>, command: string[], input?: string): Promise<Run> {
  return docker(['run', '--rm', '-i', '--name', named('client'), '--network', network, ...envArgs(env), image, ...command], { env, input });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

/** pg_isready over TCP (the entrypoint's initialization server listens on its socket only). */
function postgresReady(container: string): Promise<void> {
  return waitFor(`${container} accepting connections`, async () =>
    (await docker(['exec', container, 'pg_isready', '-h', '127.0.0.1', '-p', '5432', '-q'])).exitCode === 0);
}

/** psql over TCP from another container of the image, the password in PGPASSWORD. */
function psql(host: string, sql: string, options: { password?: string; db?: string; user?: string } = {}): Promise<Run> {
  return client(POSTGRES, { PGPASSWORD: options.password ?? password }, [
    'psql', '-h', host, '-U', options.user ?? 'postgres', '-d', options.db ?? 'postgres', '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-t', '-A',
  ], sql);
}

beforeAll(async () => {
  // Idempotent: seconds when the images are there; a build from Debian packages (~40 s) when not.
  await execa('bash', [path.join(repoRoot, 'scripts', 'base-images.sh'), POSTGRES, REDIS], { stdio: 'inherit', timeout: 900_000 });
  await ok(['network', 'create', network]);
  networkMade = true;
}, 900_000);

afterAll(async () => {
  for (const name of containers) await docker(['rm', '-f', '-v', name]);
  for (const name of volumes) await docker(['volume', 'rm', '-f', name]);
  if (networkMade) await docker(['network', 'rm', network]);
});

describe('postgres:15-bookworm', () => {
  const data = volume('pgdata');
  let db = '';

  it('initializes an empty volume, takes the password over TCP, refuses a wrong one, keeps committed rows across a SIGKILL', async () => {
    db = await server('pg', POSTGRES, {
      env: { POSTGRES_PASSWORD: password, POSTGRES_DB: 'shop' }, volume: data, mount: '/var/lib/postgresql/data',
      command: ['postgres', '-c', 'fsync=on'],
    });
    await postgresReady(db);

    // The server runs as postgres (999:999), as PID 1, with the extra arguments.
    expect(await ok(['exec', db, 'sh', '-c', 'id -u postgres; id -g postgres; stat -c %u:%a "$PGDATA"'])).toBe('999\n999\n999:700');
    expect(await ok(['exec', db, 'grep', '^Uid:', '/proc/1/status'])).toMatch(/^Uid:\s+999\s/);
    expect(await ok(['exec', db, 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'])).toBe('postgres -c fsync=on');
    expect(await ok(['exec', db, 'sh', '-c', 'for b in postgres psql pg_dump pg_restore pg_isready; do command -v $b; done']))
      .toBe(['postgres', 'psql', 'pg_dump', 'pg_restore', 'pg_isready'].map((b) => `/usr/lib/postgresql/15/bin/${b}`).join('\n'));

    const created = await psql(db, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two'); SELECT count(*) FROM items;", { db: 'shop' });
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('2');
    const settings = await psql(db, "SELECT current_setting('listen_addresses'), current_setting('fsync'), (SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres');");
    expect(settings.stdout.trim()).toBe('*|on|t');

    const wrong = await psql(db, 'SELECT 1;', { password: 'not-the-password' });
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed for user "postgres"');

    await ok(['kill', '--signal', 'KILL', db]);
    await waitFor('stopped', async () => (await ok(['inspect', '--format', '{{.State.Running}}', db])) === 'false');
    await ok(['start', db]);
    await postgresReady(db);
    const logs = (await docker(['logs', db])).stderr;
    expect(logs).toContain('appears to contain a database; skipping initialization');
    expect(logs).toContain('database system was not properly shut down; automatic recovery in progress');
    const after = await psql(db, "SELECT string_agg(name, ',' ORDER BY id) FROM items;", { db: 'shop' });
    expect(after.stderr).toBe('');
    expect(after.stdout.trim()).toBe('one,two');
  });

  it('pg_dump -Fc, then pg_restore into a fresh server', async () => {
    expect(db).not.toBe('');
    const dump = await execa('docker', ['exec', db, 'pg_dump', '-U', 'postgres', '-Fc', 'shop'], { encoding: 'buffer', reject: false });
    expect(dump.exitCode, Buffer.from(dump.stderr).toString()).toBe(0);
    const archive = Buffer.from(dump.stdout);
    expect(archive.subarray(0, 5).toString('latin1')).toBe('PGDMP');

    // POSTGRES_DB defaults to the user's name.
    const fresh = await server('pg-restore', POSTGRES, { env: { POSTGRES_PASSWORD: password, POSTGRES_USER: 'app' } });
    await postgresReady(fresh);
    const restore = await execa('docker', ['exec', '-i', fresh, 'pg_restore', '-U', 'app', '-d', 'app', '--no-owner', '--exit-on-error'], { input: archive, reject: false });
    expect(restore.exitCode, String(restore.stderr)).toBe(0);
    const rows = await psql(fresh, "SELECT string_agg(name, ',' ORDER BY id) FROM items;", { user: 'app', db: 'app' });
    expect(rows.stderr).toBe('');
    expect(rows.stdout.trim()).toBe('one,two');
  });

  it('with no POSTGRES_PASSWORD exits non-zero and says what to set', async () => {
    const run = await docker(['run', '--rm', '--name', named('pg-nopw'), POSTGRES]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('Database is uninitialized and superuser password is not specified');
    expect(run.stderr).toContain('You must specify POSTGRES_PASSWORD to a non-empty value');
    expect(run.stderr).toContain('POSTGRES_HOST_AUTH_METHOD=trust');
  });
});

describe('redis:7-bookworm', () => {
  const data = volume('redisdata');
  const auth = { REDISCLI_AUTH: password };

  it('requires the password, BGSAVEs to /data/dump.rdb, and a new container on the volume loads it', async () => {
    // `--requirepass` on the server's command line, as the official image is used.
    const first = await server('redis', REDIS, { volume: data, mount: '/data', command: ['redis-server', '--requirepass', password, '--appendonly', 'no'] });
    const cli = (host: string, args: string[], env: Record<string, string> = auth) => client(REDIS, env, ['redis-cli', '-h', host, ...args]);
    await waitFor('redis answering', async () => (await cli(first, ['ping'])).stdout.trim() === 'PONG');

    expect((await cli(first, ['set', 'greeting', 'hello'])).stdout.trim()).toBe('OK');
    expect((await cli(first, ['get', 'greeting'])).stdout.trim()).toBe('hello');
    const anonymous = await cli(first, ['get', 'greeting'], {});
    expect(anonymous.stdout + anonymous.stderr).toContain('NOAUTH Authentication required');
    expect((await cli(first, ['config', 'get', 'protected-mode'])).stdout.trim().split('\n')).toEqual(['protected-mode', 'no']);

    expect((await cli(first, ['bgsave'])).stdout).toContain('Background saving started');
    await waitFor('BGSAVE done', async () => {
      const info = (await cli(first, ['info', 'persistence'])).stdout;
      return /rdb_bgsave_in_progress:0/.test(info) && /rdb_last_bgsave_status:ok/.test(info) && /rdb_changes_since_last_save:0/.test(info);
    });
    expect(await ok(['exec', first, 'stat', '-c', '%U:%G', '/data/dump.rdb'])).toBe('redis:redis');
    expect(await ok(['exec', first, 'grep', '^Uid:', '/proc/1/status'])).toMatch(/^Uid:\s+999\s/);

    await ok(['rm', '-f', first]);
    const second = await server('redis-2', REDIS, { volume: data, mount: '/data', command: ['redis-server', '--requirepass', password] });
    await waitFor('second redis answering', async () => (await cli(second, ['ping'])).stdout.trim() === 'PONG');
    expect((await cli(second, ['get', 'greeting'])).stdout.trim()).toBe('hello');
  });
});
