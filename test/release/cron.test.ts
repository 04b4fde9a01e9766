import { describe, expect, it } from 'vitest';
import type { CronTask } from '../../src/detect/types.js';
import { PaasError } from '../../src/errors.js';
import { checkSchedule, cronTaskId, dueRuns, mergeCronTasks, nextRuns, overlapAction, parseSchedule } from '../../src/release/cron.js';

const utc = (text: string) => new Date(`${text}Z`);
const iso = (dates: Date[]) => dates.map((date) => date.toISOString().replace(':00.000Z', ''));

function task(id: string, schedule: string, overrides: Partial<CronTask> = {}): CronTask {
  return { id, schedule, command: `run ${id}`, concurrencyPolicy: 'allow', maintenance: false, source: `paas.yml cron.${id}`, ...overrides };
}

describe('checkSchedule', () => {
  it.each([
    '* * * * *', '*/15 * * * *', '30 2 * * *', '0 9-17 * * 1-5', '0 0 1,15 * *', '0 0 * * MON-FRI', '0 0 1 jan *', '0 0 * * 7', '0 0 29 2 *',
    '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@DAILY', '  @daily  ', '0\t0 * * *',
  ])('accepts %j', (schedule) => {
    expect(checkSchedule(schedule)).toBeUndefined();
  });

  it.each([
    ['@reboot', '"@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)'],
    ['@every 5m', '"@every 5m" is not a schedule name: use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or five fields'],
    ['* * * * * *', '"* * * * * *" has 6 fields, expected 5: minute hour day-of-month month day-of-week (a field of seconds is not supported)'],
    ['* * *', '"* * *" has 3 fields, expected 5: minute hour day-of-month month day-of-week'],
    ['daily', '"daily" has 1 field, expected 5: minute hour day-of-month month day-of-week'],
    ['', 'is empty: write five fields such as "*/15 * * * *", or a name such as "@daily"'],
    ['61 * * * *', '"61 * * * *" is not a valid schedule: invalid value for minute: 61'],
    ['0 24 * * *', '"0 24 * * *" is not a valid schedule: invalid value for hour: 24'],
    ['*/0 * * * *', '"*/0 * * * *" is not a valid schedule: syntax error, illegal stepping: 0'],
    ['0 0 * * FOO', '"0 0 * * FOO" is not a valid schedule: configuration entry 5 (FOO) contains illegal characters.'],
    ['0 0 31 2 *', '"0 0 31 2 *" never runs (no month has that day)'],
    ['0 0 L * *', '"0 0 L * *": the day-of-month field "L" is not crontab syntax (numbers, *, ranges 1-5, steps */10, lists 1,15)'],
    ['0 0 ? * *', '"0 0 ? * *": the day-of-month field "?" is not crontab syntax (numbers, *, ranges 1-5, steps */10, lists 1,15)'],
    ['0 0 * * 5#2', '"0 0 * * 5#2": the day-of-week field "5#2" is not crontab syntax (numbers, *, ranges 1-5, steps */10, lists 1,15, names such as MON or JAN)'],
    ['0 0 * * *\n* * * * *', '"0 0 * * *\\n* * * * *" contains control characters'],
    ['0 0 * * *\u0000', '"0 0 * * *\\u0000" contains control characters'],
    [`${'1,'.repeat(50)}1 * * * *`, 'is 109 characters long, at most 100 are allowed'],
    [5, 'must be a string such as "@daily" or "*/15 * * * *"'],
  ])('refuses %j', (schedule, problem) => {
    expect(checkSchedule(schedule)).toBe(problem);
  });
});

describe('parseSchedule', () => {
  it('throws a config error naming the entry, with how to write one', () => {
    let error: unknown;
    try {
      parseSchedule('@reboot', 'app.json cron[1].schedule');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PaasError);
    expect(error).toMatchObject({
      kind: 'config',
      message: 'app.json cron[1].schedule: "@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)',
      where: 'app.json cron[1].schedule',
      hint: 'write five fields, minute hour day-of-month month day-of-week (times in UTC), such as "30 2 * * *", or one of @hourly, @daily, @weekly, @monthly, @yearly',
    });
  });

  it('keeps the text as written', () => {
    expect(parseSchedule(' @daily ', 'x').text).toBe(' @daily ');
  });
});

describe('nextRuns', () => {
  it('lists the next runs strictly after the given time, in UTC', () => {
    expect(iso(nextRuns(parseSchedule('*/15 * * * *', 'x'), utc('2025-01-01T00:15:00'), 3))).toEqual(['2025-01-01T00:30', '2025-01-01T00:45', '2025-01-01T01:00']);
    expect(iso(nextRuns(parseSchedule('30 2 * * *', 'x'), utc('2025-03-30T00:00:00'), 2))).toEqual(['2025-03-30T02:30', '2025-03-31T02:30']);
  });

  it('reads the names as crontab does', () => {
    const after = utc('2025-01-01T00:00:30'); // a Wednesday
    expect(iso(nextRuns(parseSchedule('@hourly', 'x'), after, 2))).toEqual(['2025-01-01T01:00', '2025-01-01T02:00']);
    expect(iso(nextRuns(parseSchedule('@daily', 'x'), after, 1))).toEqual(['2025-01-02T00:00']);
    expect(iso(nextRuns(parseSchedule('@midnight', 'x'), after, 1))).toEqual(['2025-01-02T00:00']);
    expect(iso(nextRuns(parseSchedule('@weekly', 'x'), after, 1))).toEqual(['2025-01-05T00:00']);
    expect(iso(nextRuns(parseSchedule('@monthly', 'x'), after, 1))).toEqual(['2025-02-01T00:00']);
    expect(iso(nextRuns(parseSchedule('@yearly', 'x'), after, 1))).toEqual(['2026-01-01T00:00']);
    expect(iso(nextRuns(parseSchedule('@annually', 'x'), after, 1))).toEqual(['2026-01-01T00:00']);
  });

  it('runs on either day when both day fields are restricted (crontab\'s OR), and reads 7 as Sunday', () => {
    // The 1st of the month or a Monday; Jan 1 2025 itself is excluded (the start).
    expect(iso(nextRuns(parseSchedule('0 0 1 * 1', 'x'), utc('2025-01-01T00:00:00'), 5))).toEqual([
      '2025-01-06T00:00', '2025-01-13T00:00', '2025-01-20T00:00', '2025-01-27T00:00', '2025-02-01T00:00',
    ]);
    expect(iso(nextRuns(parseSchedule('0 0 * * 7', 'x'), utc('2025-01-01T00:00:00'), 1))).toEqual(['2025-01-05T00:00']);
  });

  it('finds 29 February', () => {
    expect(iso(nextRuns(parseSchedule('0 12 29 2 *', 'x'), utc('2025-01-01T00:00:00'), 2))).toEqual(['2028-02-29T12:00', '2032-02-29T12:00']);
  });
});

describe('cronTaskId', () => {
  it('is 8 hex digits of the schedule and command, the same for the same task', () => {
    const id = cronTaskId('@daily', 'npm run report');
    // sha256("@daily\0npm run report"), cut to 8 hex digits.
    expect(id).toBe('b7ed834c');
    expect(cronTaskId(' @daily ', 'npm run report')).toBe(id);
    expect(cronTaskId('@hourly', 'npm run report')).not.toBe(id);
    expect(cronTaskId('@daily', 'npm run report2')).not.toBe(id);
    // Not ambiguous where schedule and command meet.
    expect(cronTaskId('* * * * *', '1 x')).not.toBe(cronTaskId('* * * * * 1', 'x'));
  });
});

describe('mergeCronTasks', () => {
  it('keeps app.json\'s order, replaces a task of the same id, and adds paas.yml\'s others after', () => {
    const a = task('aaaa1111', '@daily', { source: 'app.json cron[0]' });
    const b = task('bbbb2222', '@hourly', { source: 'app.json cron[1]' });
    const override = task('bbbb2222', '@weekly', { maintenance: true });
    const report = task('report', '30 2 * * *');
    expect(mergeCronTasks([a, b], [report, override])).toEqual([a, override, report]);
    expect(mergeCronTasks([], [report])).toEqual([report]);
    expect(mergeCronTasks([a], [])).toEqual([a]);
  });
});

describe('dueRuns', () => {
  const every = task('every', '* * * * *');
  const quarter = task('quarter', '*/15 * * * *');
  const nightly = task('nightly', '30 2 * * *');
  const runs = (due: ReturnType<typeof dueRuns>) => due.map((run) => `${run.task.id}@${run.at.toISOString()}`);

  it('starts each task at each scheduled minute passed since the last call', () => {
    expect(runs(dueRuns([every, quarter, nightly], utc('2025-01-01T00:14:58'), utc('2025-01-01T00:15:01')))).toEqual([
      'every@2025-01-01T00:15:00.000Z', 'quarter@2025-01-01T00:15:00.000Z',
    ]);
  });

  it('does not start a run twice: the next call starts after the previous one\'s now', () => {
    expect(runs(dueRuns([every, quarter], utc('2025-01-01T00:15:01'), utc('2025-01-01T00:15:05')))).toEqual([]);
    expect(runs(dueRuns([every], utc('2025-01-01T00:15:00'), utc('2025-01-01T00:16:00')))).toEqual(['every@2025-01-01T00:16:00.000Z']);
  });

  it('starts a run that is at most a minute late', () => {
    expect(runs(dueRuns([nightly], utc('2025-01-01T02:29:59'), utc('2025-01-01T02:30:59')))).toEqual(['nightly@2025-01-01T02:30:00.000Z']);
  });

  it('skips runs missed while the host was down, as cron does', () => {
    // Down from 02:00 to 03:10: the 02:30 run is skipped, not caught up; every minute runs once, at 03:10.
    expect(runs(dueRuns([every, nightly], utc('2025-01-01T02:00:00'), utc('2025-01-01T03:10:05')))).toEqual(['every@2025-01-01T03:10:00.000Z']);
  });

  it('on its first call, starts only what fell due within the last minute', () => {
    expect(runs(dueRuns([every, nightly], undefined, utc('2025-01-01T02:30:20')))).toEqual([
      'every@2025-01-01T02:30:00.000Z', 'nightly@2025-01-01T02:30:00.000Z',
    ]);
  });

  it('starts nothing when the clock went back', () => {
    expect(runs(dueRuns([every], utc('2025-01-01T02:31:00'), utc('2025-01-01T02:30:00')))).toEqual([]);
  });

  it('with a longer lateness allowed, starts every minute of the window, in time order', () => {
    expect(runs(dueRuns([quarter, every], utc('2025-01-01T00:13:30'), utc('2025-01-01T00:15:10'), 5 * 60_000))).toEqual([
      'every@2025-01-01T00:14:00.000Z', 'every@2025-01-01T00:15:00.000Z', 'quarter@2025-01-01T00:15:00.000Z',
    ]);
  });

  it('never starts a task in maintenance', () => {
    expect(runs(dueRuns([task('off', '* * * * *', { maintenance: true })], utc('2025-01-01T00:14:58'), utc('2025-01-01T00:15:01')))).toEqual([]);
  });
});

describe('overlapAction', () => {
  it.each([
    ['allow', false, 'start'], ['allow', true, 'start'],
    ['forbid', false, 'start'], ['forbid', true, 'skip'],
    ['replace', false, 'start'], ['replace', true, 'replace'],
  ] as const)('%s, previous run still running: %s -> %s', (policy, running, action) => {
    expect(overlapAction(policy, running)).toBe(action);
  });
});
