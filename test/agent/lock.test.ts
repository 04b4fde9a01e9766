import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';

// src/agent/state.ts reads PAAS_AGENT_ROOT when it is imported: point it at a temp dir first,
// then import the lock (and state) modules dynamically.
let root: string;
let acquireLock: typeof import('../../src/agent/lock.js').acquireLock;
let lockFile: (app: string) => string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-agent-root-'));
  vi.stubEnv('PAAS_AGENT_ROOT', root);
  ({ acquireLock } = await import('../../src/agent/lock.js'));
  const state = await import('../../src/agent/state.js');
  expect(state.ROOT).toBe(root);
  lockFile = (app) => path.join(state.appDir(app), 'lock');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fs.rm(root, { recursive: true, force: true });
});

const who = { holder: 'ann@laptop', command: 'Deploy 1a2b3c4d' };

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

async function lockError(promise: Promise<unknown>): Promise<PaasError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected acquireLock to throw a PaasError');
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = execa(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await child;
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return pid;
}

describe('acquireLock', () => {
  it('writes who, what, pid and since to <root>/apps/<app>/lock (0600), and release removes it', async () => {
    const release = await acquireLock('shop', who);
    const file = path.join(root, 'apps', 'shop', 'lock');
    expect(lockFile('shop')).toBe(file);
    const holder = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(holder).toEqual({ ...who, pid: process.pid, since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    await release();
    expect(await exists(file)).toBe(false);
    // Free again.
    const again = await acquireLock('shop', who);
    await again();
    expect(await exists(file)).toBe(false);
  });

  it('a second acquire while held fails at once with kind lock, naming holder, command and since', async () => {
    const release = await acquireLock('held', who);
    try {
      const { since } = JSON.parse(await fs.readFile(lockFile('held'), 'utf8')) as { since: string };
      const started = Date.now();
      const error = await lockError(acquireLock('held', { holder: 'bob@ci', command: 'Rollback to v2' }));
      expect(Date.now() - started).toBeLessThan(400);
      expect(error.kind).toBe('lock');
      expect(error.exitCode).toBe(10);
      expect(error.message).toBe(`held is locked by ann@laptop (Deploy 1a2b3c4d) since ${since}`);
      expect(error.where).toBe(lockFile('held'));
      expect(error.hint).toBe('wait for it to finish, or pass --wait to queue behind it');
      // The holder's lock is untouched.
      expect(JSON.parse(await fs.readFile(lockFile('held'), 'utf8'))).toMatchObject({ ...who, pid: process.pid, since });
    } finally {
      await release();
    }
  });

  it('takes over a stale lock whose process no longer exists', async () => {
    const pid = await deadPid();
    const file = lockFile('stale');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify({ holder: 'dead@host', command: 'Deploy 0000', pid, since: '2020-01-01T00:00:00.000Z' }));
    const release = await acquireLock('stale', who);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ ...who, pid: process.pid });
    await release();
    expect(await exists(file)).toBe(false);
  });

  it('takes over a lock file that is not readable JSON (an agent killed while writing it)', async () => {
    const file = lockFile('garbled');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"holder": "ha');
    const release = await acquireLock('garbled', who);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ ...who, pid: process.pid });
    await release();
  });

  it('with waitMs: succeeds once the holder releases within the wait', async () => {
    const first = await acquireLock('queued', who);
    const second = acquireLock('queued', { holder: 'bob@ci', command: 'Deploy 5e6f7a8b' }, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await first();
    const release = await second;
    expect(JSON.parse(await fs.readFile(lockFile('queued'), 'utf8'))).toMatchObject({ holder: 'bob@ci', command: 'Deploy 5e6f7a8b', pid: process.pid });
    await release();
  });

  it('with waitMs: gives up when the holder keeps it past the wait', async () => {
    const first = await acquireLock('busy', who);
    try {
      const started = Date.now();
      const error = await lockError(acquireLock('busy', { holder: 'bob@ci', command: 'Deploy 5e6f7a8b' }, 600));
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      expect(error.kind).toBe('lock');
      expect(error.message).toMatch(/^busy is locked by ann@laptop \(Deploy 1a2b3c4d\) since \S+$/);
      expect(error.hint).toBe('it is still running; try again later');
    } finally {
      await first();
    }
  });

  it('refuses an app name that could leave the state root', async () => {
    const error = await lockError(acquireLock('../etc', who));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('invalid app name "../etc": "../etc" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)');
    expect(await exists(path.join(root, 'etc'))).toBe(false);
  });
});
