// Cron schedules of scheduled tasks (app.json `cron`, paas.yml `cron:`): checked, and which runs
// are due. Pure: the host's scheduler keeps the clock and the state, the decisions are here.
// Schedules are read in UTC, whatever the host's time zone.
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { PaasError } from '../errors.js';
import { quote } from '../config/validators.js';
import type { ConcurrencyPolicy, CronTask } from '../detect/types.js';
import { LIMITS } from './types.js';

/** The names Dokku (and Vixie cron) accept for a schedule, besides @reboot. */
export const SCHEDULE_NAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

const FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
/**
 * What each field may hold: numbers, `*`, ranges, steps and lists, and names in the month and
 * day-of-week fields. Croner also reads L, W, # and ?, which crontab does not: they are refused so
 * that a schedule means the same here as on Dokku.
 */
const FIELD_SYNTAX: Record<(typeof FIELDS)[number], RegExp> = {
  minute: /^[0-9*,/-]+$/,
  hour: /^[0-9*,/-]+$/,
  'day-of-month': /^[0-9*,/-]+$/,
  month: /^[0-9A-Za-z*,/-]+$/,
  'day-of-week': /^[0-9A-Za-z*,/-]+$/,
};

const OPTIONS = { mode: '5-part', utcOffset: 0, domAndDow: false } as const;

/** A checked schedule. */
export interface Schedule {
  /** As written. */
  readonly text: string;
  readonly pattern: Cron;
}

/**
 * Why `text` is not a schedule paas runs, or undefined: five fields (minute hour day-of-month month
 * day-of-week, as crontab reads them) or one of SCHEDULE_NAMES.
 */
export function checkSchedule(text: unknown): string | undefined {
  return readSchedule(text).problem;
}

function readSchedule(text: unknown): { problem: string; schedule?: undefined } | { problem?: undefined; schedule: Schedule } {
  if (typeof text !== 'string') return { problem: 'must be a string such as "@daily" or "*/15 * * * *"' };
  const trimmed = text.trim();
  if (trimmed === '') return { problem: 'is empty: write five fields such as "*/15 * * * *", or a name such as "@daily"' };
  if (text.length > LIMITS.scheduleLength) return { problem: `is ${text.length} characters long, at most ${LIMITS.scheduleLength} are allowed` };
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) return { problem: `${quote(text)} contains control characters` };
  if (trimmed.startsWith('@')) {
    const name = trimmed.toLowerCase();
    if (name === '@reboot') return { problem: '"@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)' };
    if (!(SCHEDULE_NAMES as readonly string[]).includes(name)) return { problem: `${quote(trimmed)} is not a schedule name: use one of ${SCHEDULE_NAMES.join(', ')}, or five fields` };
  } else {
    const fields = trimmed.split(/\s+/);
    if (fields.length !== FIELDS.length) {
      const seconds = fields.length === 6 ? ' (a field of seconds is not supported)' : '';
      return { problem: `${quote(trimmed)} has ${fields.length} field${fields.length === 1 ? '' : 's'}, expected 5: minute hour day-of-month month day-of-week${seconds}` };
    }
    const index = fields.findIndex((field, i) => !FIELD_SYNTAX[FIELDS[i]!].test(field));
    if (index >= 0) {
      return { problem: `${quote(trimmed)}: the ${FIELDS[index]} field ${quote(fields[index]!)} is not crontab syntax (numbers, *, ranges 1-5, steps */10, lists 1,15${index >= 3 ? ', names such as MON or JAN' : ''})` };
    }
  }
  let pattern: Cron;
  try {
    pattern = new Cron(trimmed, { ...OPTIONS });
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '');
    return { problem: `${quote(trimmed)} is not a valid schedule: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}` };
  }
  if (pattern.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return { problem: `${quote(trimmed)} never runs (no month has that day)` };
  return { schedule: { text, pattern } };
}

/** The schedule of `text`; a PaasError naming `where` (the task, e.g. "app.json cron[2].schedule") when it is not one. */
export function parseSchedule(text: string, where: string): Schedule {
  const read = readSchedule(text);
  if (read.schedule) return read.schedule;
  throw new PaasError('config', `${where}: ${read.problem}`, {
    where,
    hint: 'write five fields, minute hour day-of-month month day-of-week (times in UTC), such as "30 2 * * *", or one of @hourly, @daily, @weekly, @monthly, @yearly',
  });
}

/** The next `count` times the schedule runs, strictly after `after`, in UTC. */
export function nextRuns(schedule: Schedule, after: Date, count: number): Date[] {
  return schedule.pattern.nextRuns(count, after);
}

/** The id of an app.json task: the first 8 hex digits of the SHA-256 of its schedule and command, so it stays while neither changes. */
export function cronTaskId(schedule: string, command: string): string {
  return createHash('sha256').update(`${schedule.trim()}\u0000${command}`).digest('hex').slice(0, 8);
}

/** app.json's tasks in their order, each replaced by the paas.yml task of the same id, then paas.yml's other tasks. */
export function mergeCronTasks(fromAppJson: readonly CronTask[], fromConfig: readonly CronTask[]): CronTask[] {
  const byId = new Map(fromConfig.map((task) => [task.id, task]));
  const merged = fromAppJson.map((task) => byId.get(task.id) ?? task);
  const taken = new Set(merged.map((task) => task.id));
  return [...merged, ...fromConfig.filter((task) => !taken.has(task.id))];
}

/** How late a scheduled run may start: one later than that (the host was down or asleep) is skipped, as cron skips it. */
export const MAX_LATENESS_MS = 60_000;

/** One run of a task that is due: `at` is the scheduled minute (also what tells two hosts' runs of it apart). */
export interface DueRun {
  task: CronTask;
  at: Date;
}

/**
 * The runs the scheduler starts now: for each task not in maintenance, every scheduled time after
 * `lastRunAt` (the `now` of the previous call; undefined on the first) and at most MAX_LATENESS_MS
 * before `now`. Runs missed for longer (the host was down) are skipped, not caught up, as with
 * cron. Sorted by time, then task id.
 */
export function dueRuns(tasks: readonly CronTask[], lastRunAt: Date | undefined, now: Date, maxLatenessMs = MAX_LATENESS_MS): DueRun[] {
  const from = new Date(Math.max(lastRunAt?.getTime() ?? -Infinity, now.getTime() - maxLatenessMs));
  const due: DueRun[] = [];
  for (const task of tasks) {
    if (task.maintenance) continue;
    const { pattern } = parseSchedule(task.schedule, task.source);
    for (let at = pattern.nextRun(from); at && at <= now; at = pattern.nextRun(at)) due.push({ task, at });
  }
  return due.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0));
}

/** What to do with a run that is due while the task's previous run may still run. */
export function overlapAction(policy: ConcurrencyPolicy, previousRunning: boolean): 'start' | 'skip' | 'replace' {
  if (!previousRunning || policy === 'allow') return 'start';
  return policy === 'forbid' ? 'skip' : 'replace';
}
