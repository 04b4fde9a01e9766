// The S3 target against a real S3-compatible server: s3rver (Node, filesystem-backed) on
// 127.0.0.1 at a random port, started here and closed in afterAll, behind a gate that checks
// SigV4 signatures (s3rver itself does not: see sigv4-gate.ts).
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { S3Target, type S3TargetConfig } from '../../src/backup/targets/s3.js';
import { TargetError } from '../../src/backup/targets/target.js';
import { startSigV4Gate } from './sigv4-gate.js';

let server: { run(): Promise<AddressInfo>; close(): Promise<void> };
let gate: { port: number; close: () => Promise<void> };
let dir: string;
let config: S3TargetConfig;
const targets: S3Target[] = [];

function target(overrides: Partial<S3TargetConfig> = {}): S3Target {
  const t = new S3Target({ ...config, ...overrides });
  targets.push(t);
  return t;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-s3-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(dir, 'store'), configureBuckets: [{ name: 'backups' }] });
  const { port } = await server.run();
  gate = await startSigV4Gate(port, new Map([['S3RVER', 'S3RVER']]));
  config = {
    endpoint: `http://127.0.0.1:${gate.port}`,
    region: 'us-east-1',
    bucket: 'backups',
    prefix: 'host1/',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    connectTimeoutMs: 2000,
    idleTimeoutMs: 5000,
    partSizeBytes: 5 * 1024 * 1024,
  };
});

afterAll(async () => {
  for (const t of targets) t.close();
  await gate?.close();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TargetError) return error;
    throw error;
  }
  throw new Error('expected a TargetError');
}

describe('the S3 target', () => {
  it('puts, lists, gets (the same bytes) and removes; a small file and a multipart one', async () => {
    const t = target();
    const small = randomBytes(1234);
    const large = randomBytes(11 * 1024 * 1024 + 17); // three parts of 5 MiB
    await fs.writeFile(path.join(dir, 'small'), small);
    await fs.writeFile(path.join(dir, 'large'), large);
    await t.put('b-small', path.join(dir, 'small'));
    await t.put('b-large', path.join(dir, 'large'));
    // Another prefix is another target's.
    await target({ prefix: 'host2' }).put('b-other', path.join(dir, 'small'));

    const listed = await t.list();
    expect(listed.map(({ id, size }) => ({ id, size }))).toEqual([{ id: 'b-large', size: large.length }, { id: 'b-small', size: small.length }]);
    expect(Date.parse(listed[0]!.storedAt)).toBeGreaterThan(Date.now() - 60_000);

    await t.get('b-large', path.join(dir, 'large.back'));
    expect(sha(await fs.readFile(path.join(dir, 'large.back')))).toBe(sha(large));
    await t.get('b-small', path.join(dir, 'small.back'));
    expect((await fs.readFile(path.join(dir, 'small.back'))).equals(small)).toBe(true);

    await t.remove('b-small');
    expect((await t.list()).map((b) => b.id)).toEqual(['b-large']);
    expect((await target({ prefix: 'host2' }).list()).map((b) => b.id)).toEqual(['b-other']);
  });

  it('says "not found" for a backup or a bucket that is not there, and leaves no temp file', async () => {
    const t = target();
    const gone = await rejection(t.get('b-missing', path.join(dir, 'missing')));
    expect(gone.problem).toBe('not-found');
    expect(gone.message).toMatch(/^cannot download b-missing at s3:\/\/backups\/host1\/ at http:\/\/127\.0\.0\.1:\d+: there is no backup b-missing there$/);
    expect((await fs.readdir(dir)).filter((n) => n.startsWith('missing'))).toEqual([]);
    expect((await rejection(t.remove('b-missing'))).problem).toBe('not-found');
    const noBucket = await rejection(target({ bucket: 'nope' }).list());
    expect(noBucket.problem).toBe('not-found');
    expect(noBucket.message).toMatch(/the bucket nope does not exist/);
  });

  it('a wrong secret key is refused with a clear error that does not show it', async () => {
    const secret = 'wrong-secret-0123456789';
    await fs.writeFile(path.join(dir, 'f'), 'x');
    for (const attempt of [
      (t: S3Target) => t.list(),
      (t: S3Target) => t.put('b-x', path.join(dir, 'f')),
      (t: S3Target) => t.get('b-large', path.join(dir, 'g')),
    ]) {
      const error = await rejection(attempt(target({ secretAccessKey: secret })));
      expect(error.problem).toBe('auth');
      expect(error.message).toMatch(/the access key or secret key was refused \(SignatureDoesNotMatch\)/);
      expect(JSON.stringify({ m: error.message, h: error.hint, d: error.details, f: error.format() })).not.toContain(secret);
    }
    const unknownKey = await rejection(target({ accessKeyId: 'NOBODY' }).list());
    expect(unknownKey.message).toMatch(/refused \(InvalidAccessKeyId\)/);
  });

  it('an endpoint that does not answer is "unreachable", quickly', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const error = await rejection(target({ endpoint: `http://127.0.0.1:${port}` }).list());
    expect(error.problem).toBe('unreachable');
    expect(error.message).toMatch(/the endpoint is unreachable \(ECONNREFUSED\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
