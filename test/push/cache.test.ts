import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LayerDirCache, defaultLayerDirCachePath } from '../../src/push/cache.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'paas-cache-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

describe('LayerDirCache', () => {
  it('lives under PAAS_HOME by default', () => {
    vi.stubEnv('PAAS_HOME', '/tmp/somewhere');
    expect(defaultLayerDirCachePath()).toBe(path.join('/tmp/somewhere', 'cache', 'layer-dirs.json'));
  });

  it('remembers what it learned across loads, creating its directory', async () => {
    const file = path.join(scratch(), 'nested', 'layer-dirs.json');
    const cache = await LayerDirCache.load(file);
    expect(cache.lookup('d1')).toBeUndefined();
    cache.learn('d1', 'sha256:1');
    cache.learn('d2', 'sha256:2');
    await cache.save();
    const again = await LayerDirCache.load(file);
    expect(again.lookup('d1')).toBe('sha256:1');
    expect(again.lookup('d2')).toBe('sha256:2');
    expect(again.size).toBe(2);
  });

  it('keeps only the newest entries (learning again makes an entry new)', async () => {
    const file = path.join(scratch(), 'layer-dirs.json');
    const cache = await LayerDirCache.load(file, 3);
    for (const n of [1, 2, 3]) cache.learn(`d${n}`, `sha256:${n}`);
    cache.learn('d1', 'sha256:1');
    cache.learn('d4', 'sha256:4');
    expect(cache.size).toBe(3);
    expect(cache.lookup('d2')).toBeUndefined();
    expect(['d1', 'd3', 'd4'].map((d) => cache.lookup(d))).toEqual(['sha256:1', 'sha256:3', 'sha256:4']);
    await cache.save();
    expect((JSON.parse(readFileSync(file, 'utf8')) as { dirs: unknown[] }).dirs).toEqual([['d3', 'sha256:3'], ['d1', 'sha256:1'], ['d4', 'sha256:4']]);
    // A file longer than the limit (written with a higher one) is trimmed on load.
    expect((await LayerDirCache.load(file, 2)).lookup('d3')).toBeUndefined();
  });

  it('treats a corrupt file as empty and replaces it on save', async () => {
    const file = path.join(scratch(), 'layer-dirs.json');
    for (const content of ['{not json', '[1,2]', '{"dirs": [["ok", "sha256:ok"], [1, 2], "x"]}']) {
      writeFileSync(file, content);
      const cache = await LayerDirCache.load(file);
      expect(cache.lookup('1')).toBeUndefined();
      expect(cache.size).toBe(content.includes('"ok"') ? 1 : 0);
    }
    const cache = await LayerDirCache.load(file);
    cache.learn('d', 'sha256:d');
    await cache.save();
    expect((await LayerDirCache.load(file)).lookup('d')).toBe('sha256:d');
  });
});
