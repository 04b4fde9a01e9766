import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, promises as fs, readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { checkAppName } from '../config/validators.js';
import { start } from './exec.js';
import { LOCKS_DIR, readJson, writeAtomic } from './state.js';

/*
 * Locks the kernel enforces and frees when their holder dies: flock(2) on an open file
 * description. Node has no flock, so the agent opens the lock file and has flock(1) (util-linux)
 * lock that same open file description through an inherited descriptor: the lock stays with the
 * agent's descriptor after flock(1) exits, and goes away when the agent closes it or dies
 * (kill -9 included). Nothing guesses from pids or file contents whether a lock is stale.
 *
 * Lock files live in /run/paas/locks (a tmpfs on most hosts: no lock survives a reboot, none
 * makes an app appear in apps/). Beside each lock, `<name>.holder` says who holds it, for the
 * message a second command gets; it is never trusted for the locking itself.
 */

export interface LockHolder {
  holder: string;
  command: string;
  pid: number;
  since: string;
  /** Lets a later agent process of the same paas command work under this lock (adoptLock). */
  token?: string;
}

/** When the process started, in clock ticks since boot (/proc/PID/stat's 22nd field): with the pid, it names one process, across pid reuse. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The process exists (EPERM: it does, as another user); with `startedAt`, it is that same process, not a later one given its pid (after a host restart, say). */
export function alive(pid: number, startedAt?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startedAt === undefined) return true;
  const now = startTimeOf(pid);
  return now === undefined || now === startedAt;
}

const CONFLICT = 75;

async function openLockFile(file: string): Promise<FileHandle> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // O_NOFOLLOW: a link planted where the lock file goes is refused, not followed.
  return fs.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
}

/**
 * flock(2) on the handle's open file description, through flock(1) with the descriptor as its
 * fd 3. Resolves false when another holds a conflicting lock (after waiting up to waitMs).
 */
async function flockHandle(handle: FileHandle, mode: 'exclusive' | 'shared', waitMs: number): Promise<boolean> {
  const args = [
    `--${mode}`, '--conflict-exit-code', String(CONFLICT),
    ...(waitMs > 0 ? ['--wait', (waitMs / 1000).toFixed(3)] : ['--nonblock']),
    '3',
  ];
  const code = await new Promise<number>((resolve, reject) => {
    const child = start('flock', args, ['ignore', 'ignore', 'pipe', handle.fd]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (error) => reject(new PaasError('host', `cannot run flock(1) to take a lock: ${error.message}`, { hint: 'install util-linux on the host' })));
    child.on('close', (exit) => (exit === 0 || exit === CONFLICT ? resolve(exit) : reject(new PaasError('host', `flock(1) failed (exit ${exit}): ${stderr.trim()}`))));
  });
  return code === 0;
}

/** A lock held through an open file: released by closing it (or by the process dying). */
export interface HeldLock {
  release: () => Promise<void>;
}

/** Takes the lock file's lock (waiting up to waitMs), or resolves undefined. */
export async function lockFile(file: string, mode: 'exclusive' | 'shared', waitMs = 0): Promise<FileHandle | undefined> {
  const handle = await openLockFile(file);
  try {
    if (await flockHandle(handle, mode, waitMs)) return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
  await handle.close();
  return undefined;
}

export function appLockFile(app: string): string {
  const problem = checkAppName(app);
  if (problem) throw new PaasError('usage', `invalid app name ${JSON.stringify(app)}: ${problem}`);
  return path.join(LOCKS_DIR, `${app}.lock`);
}

const holderFile = (lock: string) => lock.replace(/\.lock$/, '.holder');
/** Held shared by processes working under another process's lock (adoptLock), exclusive to wait for them. */
const adoptFile = (lock: string) => lock.replace(/\.lock$/, '.adopt');
const adopterFile = (lock: string) => lock.replace(/\.lock$/, '.adopter');

const readHolder = (file: string) => readJson<LockHolder>(file).catch(() => undefined);

function lockedError(app: string, file: string, current: LockHolder | undefined, waited: boolean): PaasError {
  const who = current ? `${current.holder} (${current.command}) since ${current.since}` : 'another paas command';
  return new PaasError('lock', `${app} is locked by ${who}`, {
    where: file,
    hint: waited ? 'it is still running; try again later' : 'wait for it to finish, or pass --wait to queue behind it',
  });
}

/** How long a holder that is done waits for the processes working under its lock (adoptLock). */
const ADOPTERS_WAIT_MS = 6 * 60 * 60 * 1000;

/**
 * The app's lock, held until the returned function is called (or the process dies). With waitMs,
 * waits for the holder. `token`: the caller already holds the lock under that token (the `lock`
 * verb of the same paas command): it works under it instead (adoptLock).
 */
export async function acquireLock(app: string, holder: Omit<LockHolder, 'pid' | 'since'>, waitMs = 0, token?: string): Promise<() => Promise<void>> {
  const file = appLockFile(app);
  if (token !== undefined) return adoptLock(app, file, token);
  const deadline = Date.now() + waitMs;
  const handle = await lockFile(file, 'exclusive', waitMs);
  if (!handle) throw lockedError(app, file, await readHolder(holderFile(file)), waitMs > 0);
  try {
    // A holder killed while another process worked under its lock: that one is still at work.
    const adopters = await lockFile(adoptFile(file), 'exclusive', Math.max(0, deadline - Date.now()));
    if (!adopters) throw lockedError(app, file, await readHolder(adopterFile(file)), waitMs > 0);
    await adopters.close();
    const mine: LockHolder = { ...holder, pid: process.pid, since: new Date().toISOString() };
    await writeAtomic(holderFile(file), JSON.stringify(mine), 0o600);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return async () => {
    // Processes working under this lock (adoptLock) finish first.
    const adopters = await lockFile(adoptFile(file), 'exclusive', ADOPTERS_WAIT_MS).catch(() => undefined);
    if ((await readHolder(holderFile(file)))?.pid === process.pid) await fs.rm(holderFile(file), { force: true });
    await adopters?.close();
    await handle.close();
  };
}

/**
 * Works under a lock that the same paas command took earlier (the `lock` verb, held for as long
 * as the CLI stays connected): a shared lock on `<app>.adopt` that the holder waits for before
 * it lets go, and that a next holder waits for should the first one die. The token must be the
 * live holder's.
 */
async function adoptLock(app: string, file: string, token: string): Promise<() => Promise<void>> {
  const handle = await lockFile(adoptFile(file), 'shared', 0);
  const lost = () => new PaasError('lock', `the lock on ${app} was lost`, { where: file, hint: 'run the command again' });
  if (!handle) throw lost();
  const current = await readHolder(holderFile(file));
  if (current?.token !== token || !alive(current.pid)) {
    await handle.close();
    throw lost();
  }
  await writeAtomic(adopterFile(file), JSON.stringify({ ...current, pid: process.pid }), 0o600).catch(() => {});
  return async () => {
    if ((await readHolder(adopterFile(file)))?.pid === process.pid) await fs.rm(adopterFile(file), { force: true });
    await handle.close();
  };
}

const nested = new AsyncLocalStorage<string>();

/**
 * Runs `work` holding a host-wide lock (waiting up to waitMs); a call nested in another of the same
 * lock runs at once (flock on a second descriptor would wait for the first, forever).
 */
export async function withHostLock<T>(name: string, waitMs: number, busy: () => PaasError, work: () => Promise<T>): Promise<T> {
  if (nested.getStore() === name) return work();
  const handle = await lockFile(path.join(LOCKS_DIR, `${name}.lock`), 'exclusive', waitMs);
  if (!handle) throw busy();
  try {
    return await nested.run(name, work);
  } finally {
    await handle.close();
  }
}
