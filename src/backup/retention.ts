// Which backups a retention policy keeps, as `restic forget --keep-last/--keep-daily/...` decides:
// for each rule, walking the backups newest first, the newest backup of each of the last N
// periods (calendar day, ISO week, month: in UTC) that have backups. A backup kept by any rule
// is kept. Pure: the caller lists the backups and removes what this says to remove.
import { PaasError } from '../errors.js';

export const RETENTION_RULES = ['last', 'daily', 'weekly', 'monthly'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];
export type RetentionPolicy = Partial<Record<RetentionRule, number>>;

/** The largest count a rule accepts (a typo guard, not a real limit). */
export const MAX_KEEP = 10_000;

export interface RetentionInput {
  id: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface KeptBackup {
  id: string;
  createdAt: string;
  /** Why it is kept, e.g. ['daily 1/7 (2026-03-01)', 'weekly 1/4 (2026-W09)']. */
  reasons: string[];
}

export interface RetentionDecision {
  /** Newest first. */
  keep: KeptBackup[];
  /** Newest first. */
  remove: RetentionInput[];
}

/** The period a rule counts a moment in (UTC). */
export function periodOf(rule: RetentionRule, at: Date, id: string): string {
  const day = at.toISOString().slice(0, 10);
  switch (rule) {
    case 'last':
      return id;
    case 'daily':
      return day;
    case 'weekly':
      return isoWeek(at);
    case 'monthly':
      return day.slice(0, 7);
  }
}

/** ISO 8601 week of a UTC date: `2026-W09` (the week's Thursday names its year). */
export function isoWeek(at: Date): string {
  const date = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = date.getUTCDay() || 7; // Monday 1 .. Sunday 7
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // that week's Thursday
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RETENTION_RULES.every((rule) => !policy[rule]);
}

/**
 * What to keep and what to remove. The newest backup is always kept; an empty policy keeps all;
 * a backup dated after `now` (a clock that was wrong) is kept and counts in no period, so it
 * cannot push out the backups of the real last days.
 */
export function applyRetention(backups: readonly RetentionInput[], policy: RetentionPolicy, now: Date): RetentionDecision {
  checkPolicy(policy);
  const dated = backups.map((b) => {
    const at = new Date(b.createdAt);
    if (Number.isNaN(at.getTime())) throw new PaasError('failure', `the backup ${b.id} has an invalid date ${JSON.stringify(b.createdAt)}`);
    return { ...b, at };
  });
  dated.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const reasons = new Map<string, string[]>(dated.map((b) => [b.id, []]));
  const add = (id: string, reason: string) => reasons.get(id)!.push(reason);

  if (isEmptyPolicy(policy)) {
    for (const b of dated) add(b.id, 'no retention policy');
  } else {
    const past = dated.filter((b) => {
      if (b.at.getTime() <= now.getTime()) return true;
      add(b.id, 'dated after now');
      return false;
    });
    for (const rule of RETENTION_RULES) {
      const count = policy[rule];
      if (!count) continue;
      let kept = 0;
      let lastPeriod: string | undefined;
      for (const b of past) {
        if (kept >= count) break;
        const period = periodOf(rule, b.at, b.id);
        if (period === lastPeriod) continue;
        lastPeriod = period;
        kept++;
        add(b.id, rule === 'last' ? `last ${kept}/${count}` : `${rule} ${kept}/${count} (${period})`);
      }
    }
    const newest = past[0] ?? dated[0];
    if (newest && reasons.get(newest.id)!.length === 0) add(newest.id, 'newest');
  }

  const keep: KeptBackup[] = [];
  const remove: RetentionInput[] = [];
  for (const b of dated) {
    const why = reasons.get(b.id)!;
    if (why.length) keep.push({ id: b.id, createdAt: b.createdAt, reasons: why });
    else remove.push({ id: b.id, createdAt: b.createdAt });
  }
  return { keep, remove };
}

function checkPolicy(policy: RetentionPolicy): void {
  for (const [rule, count] of Object.entries(policy)) {
    if (!(RETENTION_RULES as readonly string[]).includes(rule)) throw new PaasError('usage', `unknown retention rule ${JSON.stringify(rule)}: use ${RETENTION_RULES.join(', ')}`);
    if (count !== undefined && (!Number.isInteger(count) || count < 0 || count > MAX_KEEP)) {
      throw new PaasError('usage', `retention ${rule}=${String(count)}: the count must be a whole number from 1 to ${MAX_KEEP}`);
    }
  }
}

/**
 * The CLI's form `daily=7,weekly=4` (rules last, daily, weekly, monthly; each once, a count of
 * 1 to MAX_KEEP). Errors name the part that is wrong.
 */
export function parseRetention(text: string): RetentionPolicy {
  const example = 'write it as daily=7,weekly=4,monthly=6 (rules: last, daily, weekly, monthly)';
  const trimmed = text.trim();
  if (trimmed === '') throw new PaasError('usage', 'the retention policy is empty', { hint: example });
  const policy: RetentionPolicy = {};
  for (const raw of trimmed.split(',')) {
    const part = raw.trim();
    const shown = JSON.stringify(part);
    if (part === '') throw new PaasError('usage', `the retention policy ${JSON.stringify(trimmed)} has an empty part (two commas, or one at an end)`, { hint: example });
    const match = /^([A-Za-z]+)\s*=\s*(\S*)$/.exec(part);
    if (!match) throw new PaasError('usage', `${shown} is not rule=count`, { hint: example });
    const rule = match[1]!.toLowerCase();
    const value = match[2]!;
    if (!(RETENTION_RULES as readonly string[]).includes(rule)) {
      throw new PaasError('usage', `${shown}: unknown rule ${JSON.stringify(match[1])}: use one of ${RETENTION_RULES.join(', ')}`, { hint: example });
    }
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_KEEP) {
      throw new PaasError('usage', `${shown}: the count must be a whole number from 1 to ${MAX_KEEP}`, { hint: example });
    }
    if (policy[rule as RetentionRule] !== undefined) throw new PaasError('usage', `${shown}: the rule ${rule} is given twice`, { hint: example });
    policy[rule as RetentionRule] = Number(value);
  }
  return policy;
}

/** The policy in the form parseRetention reads ('' for an empty policy). */
export function formatRetention(policy: RetentionPolicy): string {
  return RETENTION_RULES.filter((rule) => policy[rule]).map((rule) => `${rule}=${policy[rule]}`).join(',');
}
