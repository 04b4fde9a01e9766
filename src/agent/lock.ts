import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { appDir } from './state.js';
import { sleep } from './exec.js';

export interface LockHolder {
  holder: string;
  command: string;
  pid: number;
  since: string;
  /** Lets a later agent process of the same paas command work under this lock. */
  token?: string;
}

/** The process exists (EPERM: it does, as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * The app's lock: a file created with O_EXCL holding who, what and since when. A lock whose
 * process is gone (the agent was killed) is taken over. With waitMs, waits for the holder.
 * `token`: the caller already holds the lock under that token (taken by the `lock` verb of the
 * same paas command); nothing is acquired or released then.
 */
export async function acquireLock(app: string, holder: Omit<LockHolder, 'pid' | 'since'>, waitMs = 0, token?: string): Promise<() => Promise<void>> {
  const dir = appDir(app);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'lock');
  const deadline = Date.now() + waitMs;
  const mine: LockHolder = { ...holder, pid: process.pid, since: new Date().toISOString() };
  if (token !== undefined) return adoptLock(app, file, token);
  for (;;) {
    try {
      await fs.writeFile(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      // Removed only while it is still ours: a process that adopted it (below) hands it back.
      return async () => {
        if ((await readHolder(file))?.pid === process.pid) await fs.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readHolder(file);
    if (!current || !alive(current.pid)) {
      // Stale: its agent died. Remove it only if it is still the same stale file.
      const again = await readHolder(file);
      if (JSON.stringify(again) === JSON.stringify(current)) await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new PaasError('lock', `${app} is locked by ${current.holder} (${current.command}) since ${current.since}`, {
        where: file,
        hint: waitMs > 0 ? 'it is still running; try again later' : 'wait for it to finish, or pass --wait to queue behind it',
      });
    }
    await sleep(500);
  }
}

async function replaceHolder(file: string, holder: LockHolder): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(holder), { mode: 0o600 });
  await fs.rename(tmp, file);
}

/**
 * Works under a lock that the same paas command took earlier (the `lock` verb, held for as long
 * as the CLI stays connected) by becoming its holder: if the connection drops mid-rollout, the
 * lock stays taken until this process finishes. Then it is handed back, or removed when its
 * first holder is gone.
 */
async function adoptLock(app: string, file: string, token: string): Promise<() => Promise<void>> {
  const original = await readHolder(file);
  if (original?.token !== token || !alive(original.pid)) {
    throw new PaasError('lock', `the lock on ${app} was lost`, { where: file, hint: 'run the command again' });
  }
  await replaceHolder(file, { ...original, pid: process.pid });
  return async () => {
    if ((await readHolder(file))?.pid !== process.pid) return;
    if (alive(original.pid)) await replaceHolder(file, original);
    else await fs.rm(file, { force: true });
  };
}
