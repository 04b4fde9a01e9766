import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./spool-child.ts', import.meta.url));
const SPOOL_MIB = 16;
const scratches: string[] = [];
afterEach(() => { for (const dir of scratches.splice(0)) rmSync(dir, { recursive: true, force: true }); });

/** The files under dir that process pid has open, with their sizes (a deleted file too: /proc reads it through the descriptor). */
function openFilesUnder(pid: number, dir: string): { link: string; size: number }[] {
  const fds = path.join('/proc', String(pid), 'fd');
  const files: { link: string; size: number }[] = [];
  for (const fd of readdirSync(fds)) {
    try {
      const link = readlinkSync(path.join(fds, fd));
      if (link.startsWith(`${dir}/`)) files.push({ link, size: statSync(path.join(fds, fd)).size });
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  return files;
}

/** What paas left in the temp directory (tsx keeps its own cache there too). */
const leftovers = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((name) => name.startsWith('paas-'));

describe('the push spool', () => {
  it('leaves nothing in the temp directory when the CLI is killed (SIGKILL) mid-spool', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'paas-spool-test-'));
    scratches.push(tmp);
    const push = spawn(process.execPath, ['--import', 'tsx', child], {
      env: { ...process.env, TMPDIR: tmp, SPOOL_MIB: String(SPOOL_MIB), CACHE_PATH: path.join(tmp, 'cache', 'layer-dirs.json') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    push.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = once(push, 'exit');
    let visibleMidSpool: string[] = [];
    try {
      // Mid-spool: the whole stalled part of the layer is in a file the push holds open.
      const deadline = Date.now() + 15_000;
      let spooled: { link: string; size: number }[] = [];
      while (Date.now() < deadline && !spooled.some((f) => f.size >= SPOOL_MIB * 1024 * 1024)) {
        expect(push.exitCode, stderr).toBeNull();
        await new Promise((r) => setTimeout(r, 100));
        spooled = openFilesUnder(push.pid!, tmp);
      }
      expect(spooled.map((f) => f.size), stderr).toContain(SPOOL_MIB * 1024 * 1024);
      visibleMidSpool = leftovers(tmp);
    } finally {
      push.kill('SIGKILL');
      await exited;
    }
    expect(leftovers(tmp)).toEqual([]);
    // Nothing of it could be seen in the temp directory even while it was being written.
    expect(visibleMidSpool).toEqual([]);
  });
});
