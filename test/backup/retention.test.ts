import { describe, expect, it } from 'vitest';
import { applyRetention, formatRetention, isoWeek, parseRetention, type RetentionInput } from '../../src/backup/retention.js';
import { PaasError } from '../../src/errors.js';

/** One backup a day at 03:00 UTC from `first` for `days` days, ids b-YYYY-MM-DD. */
function daily(first: string, days: number, time = '03:00:00'): RetentionInput[] {
  const start = Date.parse(`${first}T${time}Z`);
  return Array.from({ length: days }, (_, i) => {
    const at = new Date(start + i * 86_400_000).toISOString();
    return { id: `b-${at.slice(0, 10)}`, createdAt: at };
  });
}

const kept = (decision: ReturnType<typeof applyRetention>) => Object.fromEntries(decision.keep.map((k) => [k.id, k.reasons]));

describe('isoWeek', () => {
  it('names the ISO week in UTC, the Thursday naming its year', () => {
    expect(isoWeek(new Date('2026-01-01T00:00:00Z'))).toBe('2026-W01'); // a Thursday
    expect(isoWeek(new Date('2026-03-01T23:59:59Z'))).toBe('2026-W09'); // a Sunday
    expect(isoWeek(new Date('2026-03-02T00:00:00Z'))).toBe('2026-W10'); // the Monday after
    expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53'); // a Friday: 2026 has 53 weeks
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01'); // a Monday
  });
});

describe('applyRetention', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('60 days of one backup a day at 03:00, keep daily=7 weekly=4', () => {
    const backups = daily('2026-01-01', 60);
    expect(backups.at(-1)!.id).toBe('b-2026-03-01');
    const decision = applyRetention(backups, { daily: 7, weekly: 4 }, now);
    expect(kept(decision)).toEqual({
      'b-2026-03-01': ['daily 1/7 (2026-03-01)', 'weekly 1/4 (2026-W09)'],
      'b-2026-02-28': ['daily 2/7 (2026-02-28)'],
      'b-2026-02-27': ['daily 3/7 (2026-02-27)'],
      'b-2026-02-26': ['daily 4/7 (2026-02-26)'],
      'b-2026-02-25': ['daily 5/7 (2026-02-25)'],
      'b-2026-02-24': ['daily 6/7 (2026-02-24)'],
      'b-2026-02-23': ['daily 7/7 (2026-02-23)'],
      'b-2026-02-22': ['weekly 2/4 (2026-W08)'],
      'b-2026-02-15': ['weekly 3/4 (2026-W07)'],
      'b-2026-02-08': ['weekly 4/4 (2026-W06)'],
    });
    expect(decision.keep.map((k) => k.id)).toEqual(['b-2026-03-01', 'b-2026-02-28', 'b-2026-02-27', 'b-2026-02-26', 'b-2026-02-25', 'b-2026-02-24', 'b-2026-02-23', 'b-2026-02-22', 'b-2026-02-15', 'b-2026-02-08']);
    expect(decision.remove).toHaveLength(50);
    expect(decision.remove[0]!.id).toBe('b-2026-02-21');
    expect(decision.remove.at(-1)!.id).toBe('b-2026-01-01');
    // The input order does not matter.
    expect(applyRetention([...backups].reverse(), { daily: 7, weekly: 4 }, now)).toEqual(decision);
  });

  it('monthly and last', () => {
    const decision = applyRetention(daily('2026-01-01', 60), { last: 2, monthly: 3 }, now);
    expect(kept(decision)).toEqual({
      'b-2026-03-01': ['last 1/2', 'monthly 1/3 (2026-03)'],
      'b-2026-02-28': ['last 2/2', 'monthly 2/3 (2026-02)'],
      'b-2026-01-31': ['monthly 3/3 (2026-01)'],
    });
  });

  it('gaps: the last N days that have backups, however far back', () => {
    const backups = [
      ...daily('2026-01-10', 3), // 10, 11, 12 Jan
      ...daily('2026-02-20', 2), // 20, 21 Feb
    ];
    const decision = applyRetention(backups, { daily: 4 }, now);
    expect(decision.keep.map((k) => k.id)).toEqual(['b-2026-02-21', 'b-2026-02-20', 'b-2026-01-12', 'b-2026-01-11']);
    expect(decision.remove.map((k) => k.id)).toEqual(['b-2026-01-10']);
  });

  it('several a day: the newest of each day', () => {
    const backups: RetentionInput[] = [
      { id: 'a', createdAt: '2026-02-27T01:00:00Z' },
      { id: 'b', createdAt: '2026-02-27T23:59:59Z' },
      { id: 'c', createdAt: '2026-02-28T00:00:00Z' },
      { id: 'd', createdAt: '2026-02-28T09:00:00Z' },
      { id: 'e', createdAt: '2026-02-28T09:00:00Z' }, // same moment: the larger id counts as newer
      { id: 'f', createdAt: '2026-02-26T10:00:00+02:00' }, // 08:00 UTC
    ];
    const decision = applyRetention(backups, { daily: 2 }, now);
    expect(kept(decision)).toEqual({ e: ['daily 1/2 (2026-02-28)'], b: ['daily 2/2 (2026-02-27)'] });
    expect(decision.remove.map((r) => r.id)).toEqual(['d', 'c', 'a', 'f']);
  });

  it('days are UTC days', () => {
    const backups: RetentionInput[] = [
      { id: 'late', createdAt: '2026-02-28T23:30:00-02:00' }, // 01:30 UTC on 1 March
      { id: 'early', createdAt: '2026-03-01T00:10:00Z' },
    ];
    expect(kept(applyRetention(backups, { daily: 5 }, now))).toEqual({ late: ['daily 1/5 (2026-03-01)'] });
  });

  it('an empty policy keeps everything', () => {
    const backups = daily('2026-02-20', 5);
    for (const policy of [{}, { daily: 0 }]) {
      const decision = applyRetention(backups, policy, now);
      expect(decision.remove).toEqual([]);
      expect(decision.keep.map((k) => k.reasons)).toEqual(Array(5).fill(['no retention policy']));
    }
  });

  it('never removes the newest backup, and keeps what is dated after now without counting it', () => {
    const backups: RetentionInput[] = [
      { id: 'future', createdAt: '2026-06-01T00:00:00Z' },
      ...daily('2026-02-25', 5),
    ];
    expect(kept(applyRetention(backups, { daily: 1 }, now))).toEqual({
      future: ['dated after now'],
      'b-2026-03-01': ['daily 1/1 (2026-03-01)'],
    });
    expect(applyRetention([], { daily: 1 }, now)).toEqual({ keep: [], remove: [] });
    expect(kept(applyRetention([{ id: 'only', createdAt: '2026-06-01T00:00:00Z' }], { daily: 1 }, now))).toEqual({ only: ['dated after now'] });
  });

  it('refuses an invalid date or policy', () => {
    expect(() => applyRetention([{ id: 'x', createdAt: 'yesterday' }], { daily: 1 }, now)).toThrow(/the backup x has an invalid date "yesterday"/);
    expect(() => applyRetention([], { daily: 1.5 }, now)).toThrow(/daily=1.5: the count must be a whole number/);
    expect(() => applyRetention([], { hourly: 1 } as never, now)).toThrow(/unknown retention rule "hourly"/);
  });
});

describe('parseRetention', () => {
  it('reads rule=count pairs', () => {
    expect(parseRetention('daily=7,weekly=4')).toEqual({ daily: 7, weekly: 4 });
    expect(parseRetention(' last = 3 , Monthly=12 ')).toEqual({ last: 3, monthly: 12 });
    expect(formatRetention({ weekly: 4, daily: 7 })).toBe('daily=7,weekly=4');
    expect(parseRetention(formatRetention({ last: 1, daily: 2, weekly: 3, monthly: 4 }))).toEqual({ last: 1, daily: 2, weekly: 3, monthly: 4 });
  });

  const message = (text: string) => {
    try {
      parseRetention(text);
    } catch (error) {
      expect(error).toBeInstanceOf(PaasError);
      expect((error as PaasError).kind).toBe('usage');
      return (error as PaasError).message;
    }
    throw new Error('expected a refusal');
  };

  it('names the bad part', () => {
    expect(message('')).toBe('the retention policy is empty');
    expect(message('daily=7,daly=4')).toBe('"daly=4": unknown rule "daly": use one of last, daily, weekly, monthly');
    expect(message('daily=7,weekly')).toBe('"weekly" is not rule=count');
    expect(message('daily=seven')).toBe('"daily=seven": the count must be a whole number from 1 to 10000');
    expect(message('daily=0')).toBe('"daily=0": the count must be a whole number from 1 to 10000');
    expect(message('daily=-1')).toBe('"daily=-1": the count must be a whole number from 1 to 10000');
    expect(message('daily=99999')).toBe('"daily=99999": the count must be a whole number from 1 to 10000');
    expect(message('daily=7,,weekly=4')).toBe('the retention policy "daily=7,,weekly=4" has an empty part (two commas, or one at an end)');
    expect(message('daily=7,daily=3')).toBe('"daily=3": the rule daily is given twice');
  });
});
