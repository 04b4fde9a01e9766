import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogLine } from '../release/ps.js';
import { appDir } from './state.js';

/**
 * What the host itself did to an app, outside any command (the service started a container
 * again, and later: a scheduled task ran): one JSON line each in apps/<app>/events.log, shown by
 * `paas logs` as the process "paas". The file is cut at 1 MiB (the older half moves to
 * events.log.1), so it never grows without bound.
 */
export const HOST_PROCESS = 'paas';
const MAX_BYTES = 1024 * 1024;

const eventsFile = (app: string) => path.join(appDir(app), 'events.log');

export async function appendAppEvent(app: string, text: string, now = new Date()): Promise<void> {
  const file = eventsFile(app);
  const line = `${JSON.stringify({ time: now.toISOString().replace(/Z$/, '000000Z'), text: text.slice(0, 2000) })}\n`;
  const size = await fs.stat(file).then((s) => s.size, () => 0);
  if (size + line.length > MAX_BYTES) await fs.rename(file, `${file}.1`).catch(() => {});
  // Never through a link: the agent's own file in the app's state directory, or a new one.
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(line);
  } finally {
    await handle.close();
  }
}

function parse(text: string): LogLine[] {
  return text.split('\n').flatMap((line) => {
    try {
      const { time, text: message } = JSON.parse(line) as { time?: unknown; text?: unknown };
      return typeof time === 'string' && typeof message === 'string' ? [{ process: HOST_PROCESS, time, text: message }] : [];
    } catch {
      return [];
    }
  });
}

/** The last `tail` host lines of an app (at most the last MiB is read). */
export async function readAppEvents(app: string, tail: number): Promise<LogLine[]> {
  const text = await fs.readFile(eventsFile(app), 'utf8').catch(() => '');
  return tail === 0 ? [] : parse(text).slice(-tail);
}

/** The size of the events file now (where a follow starts reading). */
export async function appEventsSize(app: string): Promise<number> {
  return fs.stat(eventsFile(app)).then((s) => s.size, () => 0);
}

/** Host lines appended after byte `from` of the file; `next`: where to read from next time. */
export async function readAppEventsFrom(app: string, from: number): Promise<{ lines: LogLine[]; next: number }> {
  const handle = await fs.open(eventsFile(app), 'r').catch(() => undefined);
  if (!handle) return { lines: [], next: 0 };
  try {
    const size = (await handle.stat()).size;
    // The file was cut (moved to events.log.1): start again from its beginning.
    const start = size < from ? 0 : from;
    const length = Math.min(size - start, MAX_BYTES);
    if (length <= 0) return { lines: [], next: start };
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    const text = buffer.toString('utf8');
    const complete = text.lastIndexOf('\n') + 1;
    return { lines: parse(text.slice(0, complete)), next: start + Buffer.byteLength(text.slice(0, complete)) };
  } finally {
    await handle.close();
  }
}
