import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';

// src/agent/state.ts reads PAAS_AGENT_ROOT when it is imported: point it at a temp dir first,
// then import the lock (and state) modules dynamically. Locks live in <root>/run/locks then.
let root: string;
let acquireLock: typeof import('../../src/agent/lock.js').acquireLock;
let withHostLock: typeof import('../../src/agent/lock.js').withHostLock;
let locks: string;

const child = fileURLToPath(new URL('./fixtures/lock-child.ts', import.meta.url));
const running: ResultPromise[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-agent-root-'));
  vi.stubEnv('PAAS_AGENT_ROOT', root);
  ({ acquireLock, withHostLock } = await import('../../src/agent/lock.js'));
  const state = await import('../../src/agent/state.js');
  expect(state.ROOT).toBe(root);
  locks = state.LOCKS_DIR;
  expect(locks).toBe(path.join(root, 'run', 'locks'));
});

afterAll(async () => {
  for (const process of running) process.kill('SIGKILL');
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

/** A child process (test/agent/fixtures/lock-child.ts) that has done what it was asked; its stdin ends it. */
async function spawnChild(...args: string[]): Promise<{ process: ResultPromise; pid: number; token?: string; failed?: string }> {
  const proc = execa(process.execPath, ['--import', 'tsx', child, ...args], { env: { PAAS_AGENT_ROOT: root }, stdin: 'pipe', reject: false });
  running.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]!); });
    void proc.then((result) => reject(new Error(`the child exited early: ${result.stdout} ${result.stderr}`)));
  });
  const [word, pid, token] = line.split(' ');
  if (word === 'failed') return { process: proc, pid: 0, failed: line.slice('failed '.length) };
  return { process: proc, pid: Number(pid), ...(token ? { token } : {}) };
}

describe('acquireLock', () => {
  it('records who, what, pid and since beside the lock (0600, in a 0700 directory), and release removes the record', async () => {
    const release = await acquireLock('shop', who);
    const holder = path.join(locks, 'shop.holder');
    expect(JSON.parse(await fs.readFile(holder, 'utf8'))).toEqual({ ...who, pid: process.pid, since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect((await fs.stat(holder)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(locks, 'shop.lock'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(locks)).mode & 0o777).toBe(0o700);
    await release();
    expect(await exists(holder)).toBe(false);
    const again = await acquireLock('shop', who);
    await again();
  });

  it('takes no app directory: a refused command leaves no phantom app on the host', async () => {
    const release = await acquireLock('phantom', who);
    await release();
    expect(await exists(path.join(root, 'apps', 'phantom'))).toBe(false);
  });

  it('a second acquire while held fails at once with kind lock, naming holder, command and since', async () => {
    const release = await acquireLock('held', who);
    try {
      const { since } = JSON.parse(await fs.readFile(path.join(locks, 'held.holder'), 'utf8')) as { since: string };
      const started = Date.now();
      const error = await lockError(acquireLock('held', { holder: 'bob@ci', command: 'Rollback to v2' }));
      expect(Date.now() - started).toBeLessThan(400);
      expect(error.kind).toBe('lock');
      expect(error.exitCode).toBe(10);
      expect(error.message).toBe(`held is locked by ann@laptop (Deploy 1a2b3c4d) since ${since}`);
      expect(error.where).toBe(path.join(locks, 'held.lock'));
      expect(error.hint).toBe('wait for it to finish, or pass --wait to queue behind it');
    } finally {
      await release();
    }
  });

  it('a holder killed with SIGKILL frees the lock at once: the kernel drops it with the process', async () => {
    const holder = await spawnChild('hold', 'killed', 'dead@host');
    expect((await lockError(acquireLock('killed', who))).message).toMatch(/^killed is locked by dead@host \(test hold\) since /);
    holder.process.kill('SIGKILL');
    await holder.process;
    const release = await acquireLock('killed', who);
    expect(JSON.parse(await fs.readFile(path.join(locks, 'killed.holder'), 'utf8'))).toMatchObject({ ...who, pid: process.pid });
    await release();
  });

  it('a held lock whose record is empty or garbled still holds (nothing is guessed from the file)', async () => {
    const holder = await spawnChild('hold', 'garbled', 'ann@laptop');
    for (const text of ['', '{"holder": "ha']) {
      await fs.writeFile(path.join(locks, 'garbled.holder'), text);
      const error = await lockError(acquireLock('garbled', who));
      expect(error.message).toBe('garbled is locked by another paas command');
    }
    holder.process.stdin!.end();
    await holder.process;
    await (await acquireLock('garbled', who))();
  });

  it('an empty lock file left behind (a crash between create and write) is no lock at all', async () => {
    await fs.mkdir(locks, { recursive: true });
    await fs.writeFile(path.join(locks, 'leftover.lock'), '');
    await (await acquireLock('leftover', who))();
  });

  it('4 processes rushing for a lock whose holder was just killed, 5 rounds: never two inside at once', async () => {
    const log = path.join(root, 'race.log');
    await fs.writeFile(log, '');
    for (let round = 0; round < 5; round += 1) {
      const [dead, ...takers] = await Promise.all([spawnChild('hold', 'race', 'dead@host'), ...[1, 2, 3, 4].map(() => spawnChild('once', 'race', log))]);
      dead!.process.kill('SIGKILL');
      await dead!.process;
      for (const taker of takers) taker.process.stdin!.write('go\n');
      await Promise.all(takers.map((t) => t.process));
    }
    const lines = (await fs.readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(40);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, pid] = lines[i]!.split(' ');
      expect(enter).toBe('enter');
      expect(lines[i + 1]).toBe(`exit ${pid}`);
    }
  }, 120_000);

  it('with waitMs: succeeds once the holder releases within the wait', async () => {
    const first = await acquireLock('queued', who);
    const second = acquireLock('queued', { holder: 'bob@ci', command: 'Deploy 5e6f7a8b' }, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await first();
    const release = await second;
    expect(JSON.parse(await fs.readFile(path.join(locks, 'queued.holder'), 'utf8'))).toMatchObject({ holder: 'bob@ci', command: 'Deploy 5e6f7a8b', pid: process.pid });
    await release();
  });

  it('with waitMs: gives up when the holder keeps it past the wait', async () => {
    const first = await acquireLock('busy', who);
    try {
      const started = Date.now();
      const error = await lockError(acquireLock('busy', { holder: 'bob@ci', command: 'Deploy 5e6f7a8b' }, 600));
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      expect(error.kind).toBe('lock');
      expect(error.message).toMatch(/^busy is locked by ann@laptop \(Deploy 1a2b3c4d\) since \S+$/);
      expect(error.hint).toBe('it is still running; try again later');
    } finally {
      await first();
    }
  });

  it('refuses an app name that could leave the lock directory', async () => {
    const error = await lockError(acquireLock('../etc', who));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('invalid app name "../etc": "../etc" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)');
    expect(await exists(path.join(root, 'run', 'etc.lock'))).toBe(false);
  });

  it('refuses to follow a link planted where the lock file goes', async () => {
    await fs.mkdir(locks, { recursive: true });
    const target = path.join(root, 'elsewhere');
    await fs.symlink(target, path.join(locks, 'linked.lock'));
    await expect(acquireLock('linked', who)).rejects.toThrow(/ELOOP/);
    expect(await exists(target)).toBe(false);
  });
});

describe('working under another process\'s lock (a token)', () => {
  it('the holder, done, waits for the process working under its lock before it lets go', async () => {
    const holder = await spawnChild('hold', 'adopted', 'ann@laptop');
    const adopter = await spawnChild('adopt', 'adopted', holder.token!);
    expect(adopter.failed).toBeUndefined();
    holder.process.stdin!.end(); // the CLI went away
    await new Promise((r) => setTimeout(r, 500));
    expect(holder.process.exitCode).toBeNull(); // still waiting for the adopter
    expect((await lockError(acquireLock('adopted', who))).kind).toBe('lock');
    adopter.process.stdin!.end();
    await Promise.all([adopter.process, holder.process]);
    await (await acquireLock('adopted', who))();
  });

  it('a holder killed while another process works under its lock: the next taker waits for that process', async () => {
    const holder = await spawnChild('hold', 'orphaned', 'ann@laptop');
    const adopter = await spawnChild('adopt', 'orphaned', holder.token!);
    holder.process.kill('SIGKILL');
    await holder.process;
    const error = await lockError(acquireLock('orphaned', who));
    expect(error.message).toMatch(/^orphaned is locked by ann@laptop \(test hold\)/);
    const waiting = acquireLock('orphaned', who, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    adopter.process.stdin!.end();
    await adopter.process;
    await (await waiting)();
  });

  it('a wrong token, or the token of a holder that is gone, is refused: the lock was lost', async () => {
    const holder = await spawnChild('hold', 'tokens', 'ann@laptop');
    const wrong = await spawnChild('adopt', 'tokens', 'not-the-token');
    expect(wrong.failed).toBe('the lock on tokens was lost');
    holder.process.stdin!.end();
    await holder.process;
    const late = await spawnChild('adopt', 'tokens', holder.token!);
    expect(late.failed).toBe('the lock on tokens was lost');
  });
});

describe('withHostLock', () => {
  const busy = () => new PaasError('host', 'busy');

  it('runs concurrent changes one after the other', async () => {
    const events: string[] = [];
    const change = (name: string) => withHostLock('nginx', 5000, busy, async () => {
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, 100));
      events.push(`${name} end`);
      return name;
    });
    expect(await Promise.all([change('a'), change('b'), change('c')])).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace('start', 'end'));
    expect(events).toHaveLength(6);
  });

  it('a nested call of the same lock runs at once instead of waiting for itself', async () => {
    expect(await withHostLock('nginx', 1000, busy, () => withHostLock('nginx', 1000, busy, async () => 'inner'))).toBe('inner');
  });

  it('gives up after its wait with the caller\'s error', async () => {
    let release!: () => void;
    const held = withHostLock('nginx', 1000, busy, () => new Promise<void>((r) => { release = r; }));
    await new Promise((r) => setTimeout(r, 100));
    await expect(withHostLock('nginx', 300, busy, async () => 'never')).rejects.toThrow('busy');
    release();
    await held;
  });
});

describe('alive', () => {
  it('names one process by pid and start time: a pid given to a later process (as after a host restart) is not the one recorded', async () => {
    const { alive, startTimeOf } = await import('../../src/agent/lock.js');
    const started = startTimeOf(process.pid);
    expect(started).toMatch(/^\d+$/);
    expect(alive(process.pid, started)).toBe(true);
    expect(alive(process.pid)).toBe(true);
    expect(alive(process.pid, String(Number(started) + 1))).toBe(false);
    const gone = execa('true');
    await gone;
    expect(alive(gone.pid!)).toBe(false);
  });
});
