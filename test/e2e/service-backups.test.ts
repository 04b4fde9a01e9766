import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBackupKey } from '../../src/backup/keys.js';
import { repoRoot, scratchDir } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';

/**
 * Backups of real Postgres and Redis services on a sandbox host: backup, destroy, create and
 * restore give back the same data (a checksum of the table), through --download / --from and
 * --to too; tampered and wrong-key backups are refused before any data changes; a full disk
 * fails the backup and keeps the older ones; the host backs up on a schedule by itself.
 */
const world = testWorld('backups');
const scratch = scratchDir('paas-backups-');
let host: TestHost;

const onHost = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });
const cli = (...args: string[]) => world.cli([...args, ...world.at(host)]);
const cliOk = async (...args: string[]) => {
  const result = await cli(...args);
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr.slice(-2000)}`).toBe(0);
  return result;
};

/** A client of a service through services:connect, stdin piped; its output. */
async function client(service: string, input: string): Promise<string> {
  const result = await execa('node', [path.join(repoRoot, 'bin', 'run.js'), 'services:connect', service, ...world.at(host)], {
    input, env: { ...process.env, ...world.env }, reject: false, timeout: 120_000,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}
const psql = (service: string, query: string) => client(service, `\\pset tuples_only on\n${query}\n`).then((out) => out.trim());
const checksum = (service: string) => psql(service, "SELECT count(*) || ':' || md5(string_agg(id || '=' || v, ',' ORDER BY id)) FROM t;");
const createDb = (name: string) => cliOk('services:create', 'postgres', name);
const newestBackup = async (name: string) => (await world.cliJson<{ backups: { id: string; size: number }[] }>(['services:backups', name, ...world.at(host)])).backups[0]!;

let atBackup = '';

beforeAll(async () => {
  const images = await execa('bash', [path.join(repoRoot, 'scripts', 'base-images.sh'), 'postgres:15-bookworm', 'redis:7-bookworm'], { reject: false });
  expect(images.exitCode, images.stderr).toBe(0);
  host = await world.addHost('a');
  await createDb('db');
  await psql('db', "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;");
  atBackup = await checksum('db');
  expect(atBackup).toMatch(/^20000:[0-9a-f]{32}$/);
}, 600_000);
afterAll(async () => {
  await world.cleanup();
  scratch.cleanup();
});

describe('service backups', () => {
  it('backup -> services:destroy -> services:create + restore gives back the same table', async () => {
    const backup = JSON.parse((await cliOk('services:backup', 'db', '--json')).stdout) as { id: string; size: number; plainSize: number };
    expect(backup.size).toBeGreaterThan(backup.plainSize);
    const listed = await world.cli(['services:backups', 'db', ...world.at(host)]);
    expect(listed.stdout).toContain(backup.id);
    expect(listed.stdout).toMatch(/postgres 15 +[\d.]+ [KM]i?B/);
    // Encrypted at rest: a pg_dump custom-format file starts with "PGDMP" (its table data is
    // compressed, so looking for a row's text would prove nothing); no backup file holds it.
    const raw = await onHost('sh', '-c', 'cat /var/lib/paas/backups/db/*.backup | grep -c -a PGDMP || true');
    expect(raw.stdout.trim()).toBe('0');
    expect((await onHost('docker', 'exec', 'paas-svc-db', 'sh', '-c', 'pg_dump --format custom -U postgres -d db | head -c 5')).stdout).toBe('PGDMP');
    await cliOk('services:destroy', 'db', '--confirm', 'db');
    // Backups outlive the service.
    expect((await world.cliJson<{ exists: boolean; backups: unknown[] }>(['services:backups', 'db', ...world.at(host)]))).toMatchObject({ exists: false, backups: [{ id: backup.id }] });
    await createDb('db');
    expect(await psql('db', "SELECT to_regclass('t') IS NULL;")).toBe('t');
    await cliOk('services:restore', 'db');
    expect(await checksum('db')).toBe(atBackup);
  });

  it('the same through --download and --from, and into another service with --to', async () => {
    const file = path.join(scratch.dir, 'db.backup');
    await cliOk('services:backup', 'db', '--download', file);
    expect(statSync(file).size).toBeGreaterThan(1000);
    await cliOk('services:destroy', 'db', '--confirm', 'db');
    await createDb('db');
    await cliOk('services:restore', 'db', '--from', file);
    expect(await checksum('db')).toBe(atBackup);
    await createDb('copy');
    await cliOk('services:restore', 'db', '--to', 'copy');
    expect(await checksum('copy')).toBe(atBackup);
    await cliOk('services:destroy', 'copy', '--confirm', 'copy');
  });

  it('refuses a tampered backup and one made with another key, before any data changes', async () => {
    const file = path.join(scratch.dir, 'db.backup');
    await psql('db', "INSERT INTO t VALUES (0, 'marker');");
    const marked = await checksum('db');
    const bytes = readFileSync(file);
    const tampered = path.join(scratch.dir, 'tampered.backup');
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(tampered, bytes);
    const refused = await cli('services:restore', 'db', '--from', tampered);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('does not decrypt or verify');
    const otherKey = await world.cli(['services:restore', 'db', '--from', file, ...world.at(host)], { PAAS_BACKUP_KEY: exportBackupKey(randomBytes(32)) });
    expect(otherKey.exitCode).not.toBe(0);
    expect(otherKey.stderr).toContain('does not decrypt or verify');
    const truncated = path.join(scratch.dir, 'truncated.backup');
    writeFileSync(truncated, readFileSync(file).subarray(0, 2000));
    expect((await cli('services:restore', 'db', '--from', truncated)).stderr).toContain('does not decrypt or verify');
    expect(await checksum('db')).toBe(marked);
    // The host's own key, exported, restores it (as it would on a new host).
    const { key } = await world.cliJson<{ key: string }>(['services:backups:key', ...world.at(host)]);
    expect(key).toMatch(/^paasbk1-/);
    const withKey = await world.cli(['services:restore', 'db', '--from', file, ...world.at(host)], { PAAS_BACKUP_KEY: key });
    expect(withKey.exitCode, withKey.stderr).toBe(0);
    expect(await checksum('db')).toBe(atBackup);
  });

  it('a full disk during a backup: it fails saying so, the service serves, the older backups are intact', async () => {
    // A 1 MiB file system for the backups of a service "small", made and filled by the test.
    await createDb('small');
    const dir = '/var/lib/paas/backups/small';
    expect((await onHost('sh', '-c', `mkdir -p ${dir} && mount -t tmpfs -o size=1m tmpfs ${dir}`)).exitCode).toBe(0);
    try {
      await psql('small', 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, \'one\');');
      const first = JSON.parse((await cliOk('services:backup', 'small', '--json')).stdout) as { id: string };
      // About 2.5 MB that does not compress much (pg_dump's custom format compresses).
      await psql('small', "INSERT INTO t SELECT g, (SELECT string_agg(md5(random()::text || s || g), '') FROM generate_series(1, 40) s) FROM generate_series(2, 4001) g;");
      const full = await cli('services:backup', 'small');
      expect(full.exitCode).not.toBe(0);
      expect(full.stderr).toMatch(/is full/);
      const list = await world.cliJson<{ backups: { id: string }[]; unreadable: string[] }>(['services:backups', 'small', ...world.at(host)]);
      expect(list.backups.map((b) => b.id)).toEqual([first.id]);
      expect(list.unreadable).toEqual([]);
      expect(await psql('small', 'SELECT count(*) FROM t;')).toBe('4001');
    } finally {
      await onHost('umount', dir);
    }
    await cliOk('services:destroy', 'small', '--confirm', 'small');
  });

  it('off-host copies: over SSH to a second sandbox host and to an S3-compatible server; destroy, create and restore from each', async () => {
    // The SSH target: another sandbox (a container this test made), reached on its bridge address.
    const target = await world.addHost('b');
    const targetIp = (await execa('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', target.container])).stdout.trim().split(' ')[0]!;
    // Pinned to another host's key: the target is refused as the wrong host.
    const wrongPin = await cliOk('services:backups:target', 'db', `ssh://root@${targetIp}:22/var/backups/paas-db`, '--host-key', host.hostKey.trim());
    expect(wrongPin.stdout).toMatch(/not reachable yet: .*host key/i);
    const ssh = await cliOk('services:backups:target', 'db', `ssh://root@${targetIp}:22/var/backups/paas-db`, '--host-key', target.hostKey.trim());
    const publicKey = /^(ssh-ed25519 \S+.*)$/m.exec(ssh.stdout)![1]!;
    const authorized = await execa('docker', ['exec', '-i', target.container, 'sh', '-c', 'cat >> /root/.ssh/authorized_keys'], { input: `${publicKey}\n`, reject: false });
    expect(authorized.exitCode, authorized.stderr).toBe(0);
    // The S3 target: s3rver from this checkout's node_modules, in a container of the node base image.
    const s3 = `paas-test-s3-${process.pid}`;
    const started = await execa('docker', ['run', '-d', '--name', s3, '--volume', `${path.join(repoRoot, 'node_modules')}:/app/node_modules:ro`, 'node:20-bookworm-slim', 'node', '-e',
      "const S3rver = require('/app/node_modules/s3rver'); new S3rver({ port: 4568, address: '0.0.0.0', silent: true, directory: '/tmp/s3', configureBuckets: [{ name: 'backups' }] }).run().then(() => console.log('ready'));"], { reject: false });
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const s3Ip = (await execa('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', s3])).stdout.trim().split(' ')[0]!;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(await execa('docker', ['logs', s3], { reject: false })).stdout.includes('ready')) await new Promise((r) => setTimeout(r, 200));
      const s3Set = await world.cli(['services:backups:target', 'db', 's3://backups/paas/db', '--endpoint', `http://${s3Ip}:4568`, '--path-style', ...world.at(host)], {
        PAAS_S3_ACCESS_KEY_ID: 'S3RVER', PAAS_S3_SECRET_ACCESS_KEY: 'S3RVER',
      });
      expect(s3Set.exitCode, s3Set.stderr).toBe(0);
      expect(s3Set.stdout).toContain('(ok: 0 backup(s) there)');
      // The credentials are not in clear on the host.
      expect((await onHost('grep', '-r', '-l', '-F', 'S3RVER', '/var/lib/paas')).stdout.trim()).toBe('');
      const backup = JSON.parse((await cliOk('services:backup', 'db', '--json')).stdout) as { id: string; copies: { target: string; ok: boolean; error?: string }[] };
      expect(backup.copies.map((c) => [c.ok, c.error])).toEqual([[true, undefined], [true, undefined]]);
      expect((await execa('docker', ['exec', target.container, 'ls', '/var/backups/paas-db'])).stdout).toContain(`${backup.id}.backup`);
      for (const kind of ['ssh', 's3']) {
        await cliOk('services:destroy', 'db', '--confirm', 'db');
        await onHost('sh', '-c', 'rm -f /var/lib/paas/backups/db/*.backup');
        await createDb('db');
        const restored = await cliOk('services:restore', 'db', '--from-target', kind);
        expect(restored.stdout, kind).toContain(`restored backup ${backup.id}`);
        expect(await checksum('db'), kind).toBe(atBackup);
      }
      // A target that fails: the backup is made, kept, and the failure said.
      await execa('docker', ['stop', '--time', '1', s3]);
      const degraded = await cliOk('services:backup', 'db', '--json');
      const copies = (JSON.parse(degraded.stdout) as { copies: { ok: boolean; error?: string }[] }).copies;
      expect(copies.map((c) => c.ok).sort()).toEqual([false, true]);
    } finally {
      await execa('docker', ['rm', '-f', s3], { reject: false });
    }
    await cliOk('services:backups:target', 'db', 's3', '--remove');
  });

  it('redis: BGSAVE snapshot, restore after the data changed', async () => {
    await cliOk('services:create', 'redis', 'cache');
    expect(await client('cache', 'SET greeting hello\nRPUSH list a b c\n')).toContain('OK');
    await cliOk('services:backup', 'cache');
    await client('cache', 'FLUSHALL\nSET other 1\n');
    await cliOk('services:restore', 'cache');
    expect((await client('cache', 'GET greeting\nLRANGE list 0 -1\nEXISTS other\n')).trim().split('\n')).toEqual(['hello', 'a', 'b', 'c', '0']);
    // A postgres backup does not go into redis.
    const db = await newestBackup('db');
    const wrongKind = await cli('services:restore', 'db', db.id, '--to', 'cache');
    expect(wrongKind.stderr).toContain('is a postgres backup; cache is a redis service');
  });

  it('the host backs up on a schedule by itself, with no paas command', async () => {
    const before = (await world.cliJson<{ backups: unknown[] }>(['services:backups', 'cache', ...world.at(host)])).backups.length;
    const set = await cliOk('services:backups:schedule', 'cache', '* * * * *', '--keep', 'last=2');
    expect(set.stdout).toContain('keeping last=2');
    const bad = await cli('services:backups:schedule', 'cache', '61 * * * *');
    expect(bad.exitCode).not.toBe(0);
    const badKeep = await cli('services:backups:schedule', 'cache', '@daily', '--keep', 'daly=3');
    expect(badKeep.stderr).toContain('daly');
    const deadline = Date.now() + 150_000;
    let count = before;
    while (Date.now() < deadline && count <= before) {
      await new Promise((r) => setTimeout(r, 3000));
      count = (await world.cliJson<{ backups: unknown[] }>(['services:backups', 'cache', ...world.at(host)])).backups.length;
    }
    console.log(`scheduled backups: ${before} before, ${count} after waiting`);
    expect(count).toBeGreaterThan(before);
    // Retention last=2 applies after each scheduled run.
    expect(count).toBeLessThanOrEqual(Math.max(2, before + 1));
    await cliOk('services:backups:schedule', 'cache', '--off');
    // Backups are kept by services:destroy unless --backups.
    await cliOk('services:destroy', 'cache', '--confirm', 'cache', '--backups');
    expect(await world.cliJson<{ exists: boolean; backups: unknown[] }>(['services:backups', 'cache', ...world.at(host)])).toMatchObject({ exists: false, backups: [] });
  });
});
