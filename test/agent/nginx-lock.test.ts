import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// state.ts reads PAAS_AGENT_ROOT when imported: set it first, import the modules dynamically.
let root: string;
let withNginxLock: typeof import('../../src/agent/nginx.js').withNginxLock;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-nginx-lock-'));
  vi.stubEnv('PAAS_AGENT_ROOT', root);
  ({ withNginxLock } = await import('../../src/agent/nginx.js'));
  await fs.mkdir(path.join(root, 'nginx'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fs.rm(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withNginxLock', () => {
  it('runs concurrent nginx changes one after the other, and removes its file', async () => {
    const events: string[] = [];
    const change = (name: string) => withNginxLock(async () => {
      events.push(`${name} start`);
      await sleep(150);
      events.push(`${name} end`);
      return name;
    });
    expect(await Promise.all([change('a'), change('b'), change('c')])).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace('start', 'end'));
    expect(events).toHaveLength(6);
    await expect(fs.access(path.join(root, 'nginx', 'apply.lock'))).rejects.toThrow();
  });

  it('takes over the lock of a dead agent; gives up after its wait with a clear error', async () => {
    const file = path.join(root, 'nginx', 'apply.lock');
    await fs.writeFile(file, '999999999');
    expect(await withNginxLock(async () => 'took over')).toBe('took over');
    await fs.writeFile(file, String(process.ppid));
    await expect(withNginxLock(async () => 'never', 300)).rejects.toThrow(`another nginx configuration change (pid ${process.ppid}) did not finish within 0.3 s`);
    await fs.rm(file);
  });
});
