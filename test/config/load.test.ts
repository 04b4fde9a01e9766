import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { PaasError } from '../../src/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'paas-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectionOf(promise: Promise<unknown>): Promise<PaasError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof PaasError)) throw new Error(`expected a PaasError, got ${String(error)}`);
  return error;
}

describe('loadConfig', () => {
  it('returns {} when the app has no paas.yml', async () => {
    expect(await loadConfig(dir)).toEqual({});
  });

  it('reads paas.yml, recording its absolute path', async () => {
    await writeFile(path.join(dir, 'paas.yml'), 'app: shop\n');
    expect(await loadConfig(dir)).toEqual({ file: path.join(dir, 'paas.yml'), app: 'shop' });
  });

  it('falls back to paas.yaml, and prefers paas.yml when both exist', async () => {
    await writeFile(path.join(dir, 'paas.yaml'), 'app: from-yaml\n');
    expect(await loadConfig(dir)).toEqual({ file: path.join(dir, 'paas.yaml'), app: 'from-yaml' });
    await writeFile(path.join(dir, 'paas.yml'), 'app: from-yml\n');
    expect(await loadConfig(dir)).toEqual({ file: path.join(dir, 'paas.yml'), app: 'from-yml' });
  });

  it('reads an explicit file, relative to the app directory or absolute', async () => {
    await mkdir(path.join(dir, 'deploy'));
    const file = path.join(dir, 'deploy', 'staging.yml');
    await writeFile(file, 'app: shop-staging\n');
    expect(await loadConfig(dir, { file: 'deploy/staging.yml' })).toEqual({ file, app: 'shop-staging' });
    expect(await loadConfig('/', { file })).toEqual({ file, app: 'shop-staging' });
  });

  it('fails, naming the file, when an explicit file does not exist (even if paas.yml does)', async () => {
    await writeFile(path.join(dir, 'paas.yml'), 'app: shop\n');
    const error = await rejectionOf(loadConfig(dir, { file: 'staging.yml' }));
    expect(error.kind).toBe('config');
    expect(error.message).toBe('config file staging.yml does not exist');
    expect(error.where).toBe(path.join(dir, 'staging.yml'));
  });

  it('fails when paas.yml is a directory', async () => {
    await mkdir(path.join(dir, 'paas.yml'));
    const error = await rejectionOf(loadConfig(dir));
    expect(error.kind).toBe('config');
    expect(error.message).toBe('paas.yml is a directory, expected a file');
    expect(error.where).toBe(path.join(dir, 'paas.yml'));
  });

  it('reports problems with the absolute path as where and the file name in each detail', async () => {
    await writeFile(path.join(dir, 'paas.yaml'), 'app: shop\nport: web\n');
    const error = await rejectionOf(loadConfig(dir));
    expect(error.message).toBe('paas.yaml has 1 problem');
    expect(error.where).toBe(path.join(dir, 'paas.yaml'));
    expect(error.details).toEqual(['paas.yaml:2:7 port: expected a whole number between 1 and 65535, got "web"']);
  });

  it('refuses a paas.yml larger than 64 KiB before parsing it', async () => {
    await writeFile(path.join(dir, 'paas.yml'), `env:\n${Array.from({ length: 7000 }, (_, i) => `  K${i}: v\n`).join('')}`);
    const started = Date.now();
    const error = await rejectionOf(loadConfig(dir));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.kind).toBe('config');
    expect(error.message).toMatch(/^paas\.yml is \d+ bytes long, at most 65536 are allowed$/);
    expect(error.where).toBe(path.join(dir, 'paas.yml'));
  });
});
