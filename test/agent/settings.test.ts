import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';

// state.ts reads PAAS_AGENT_ROOT when imported: set it first, import the modules dynamically.
let root: string;
let settings: typeof import('../../src/agent/settings.js');

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-agent-settings-'));
  vi.stubEnv('PAAS_AGENT_ROOT', root);
  settings = await import('../../src/agent/settings.js');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the app\'s settings file', () => {
  it('reads { domains: [] } when there is none; writes atomically, 0600', async () => {
    expect(await settings.readSettings('shop')).toEqual({ domains: [] });
    await settings.writeSettings('shop', { domains: ['www.example.com'], balance: 'ip_hash' });
    const file = path.join(root, 'apps', 'shop', 'settings.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await settings.readSettings('shop')).toEqual({ domains: ['www.example.com'], balance: 'ip_hash' });
  });

  it('refuses to write or read a hostile name (a tampered file never reaches nginx)', async () => {
    await expect(settings.writeSettings('shop', { domains: ['x.example.com;\n}'] })).rejects.toThrow(PaasError);
    await fs.writeFile(path.join(root, 'apps', 'shop', 'settings.json'), JSON.stringify({ domains: ['evil.com; }'] }));
    const error = await settings.readSettings('shop').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaasError);
    expect((error as PaasError).message).toBe('the app\'s settings file is invalid');
    expect((error as PaasError).details).toEqual(['domains: "evil.com; }" is not a valid hostname: ";" is not allowed (only letters, digits, dashes and dots)']);
  });

  it('paths are built from validated app names only', () => {
    expect(settings.certsDir('shop')).toBe(path.join(root, 'certs', 'shop'));
    expect(() => settings.certsDir('../etc')).toThrow('is not a valid app name');
  });
});
