import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { PaasError } from '../../src/errors.js';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/srv/shop/paas.yml');
  } catch (error) {
    if (error instanceof PaasError) return error.details;
    throw error;
  }
  throw new Error('expected parseConfig to throw');
}

describe('paas.yml cron:', () => {
  it('reads each task by name, in the file\'s order', () => {
    const config = parseConfig(lines(
      'cron:',
      '  report:',
      '    schedule: "30 2 * * *"',
      '    command: npm run report',
      '  cleanup: { schedule: "@hourly", command: bin/cleanup, concurrency_policy: forbid, maintenance: true }',
      '  b7ed834c: { schedule: "@weekly", command: npm run report }',
    ), 'paas.yml');
    expect(config.cron).toEqual({
      report: { schedule: '30 2 * * *', command: 'npm run report' },
      cleanup: { schedule: '@hourly', command: 'bin/cleanup', concurrencyPolicy: 'forbid', maintenance: true },
      b7ed834c: { schedule: '@weekly', command: 'npm run report' },
    });
    expect(Object.keys(config.cron!)).toEqual(['report', 'cleanup', 'b7ed834c']);
  });

  it.each([
    [lines('cron: [{ schedule: "@daily", command: x }]'), 'paas.yml:1:7 cron: expected a map, got a list'],
    [lines('cron:', '  Report: { schedule: "@daily", command: x }'), 'paas.yml:2:3 cron: "Report" is not a valid task name (lowercase letters, digits, dashes and underscores, starting with a letter or digit, at most 30 characters)'],
    [lines('cron:', '  report: "@daily"'), 'paas.yml:2:11 cron.report: expected a map, got "@daily"'],
    [lines('cron:', '  report: { command: x }'), 'paas.yml:2:11 cron.report: schedule is required, e.g. { schedule: "@daily", command: npm run report }'],
    [lines('cron:', '  report: { schedule: "@daily" }'), 'paas.yml:2:11 cron.report: command is required, e.g. { schedule: "@daily", command: npm run report }'],
    [lines('cron:', '  report: {}'), 'paas.yml:2:11 cron.report: schedule and command are required, e.g. { schedule: "@daily", command: npm run report }'],
    [lines('cron:', '  report: { schedule: "@reboot", command: x }'), 'paas.yml:2:23 cron.report.schedule: "@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)'],
    [lines('cron:', '  report: { schedule: "61 * * * *", command: x }'), 'paas.yml:2:23 cron.report.schedule: "61 * * * *" is not a valid schedule: invalid value for minute: 61'],
    [lines('cron:', '  report: { schedule: "* * * * * *", command: x }'), 'paas.yml:2:23 cron.report.schedule: "* * * * * *" has 6 fields, expected 5: minute hour day-of-month month day-of-week (a field of seconds is not supported)'],
    [lines('cron:', '  report: { schedule: 5, command: x }'), 'paas.yml:2:23 cron.report.schedule: expected a string, got 5'],
    [lines('cron:', '  report: { schedule: "@daily", command: "a\\0b" }'), 'paas.yml:2:42 cron.report.command: contains a NUL byte, which no program can be given'],
    [lines('cron:', '  report: { schedule: "@daily", command: "" }'), 'paas.yml:2:42 cron.report.command: must not be empty'],
    [lines('cron:', '  report: { schedule: "@daily", command: x, concurrency_policy: queue }'), 'paas.yml:2:65 cron.report.concurrency_policy: "queue" is not one of allow, forbid, replace'],
    [lines('cron:', '  report: { schedule: "@daily", command: x, maintenance: yes }'), 'paas.yml:2:58 cron.report.maintenance: expected true or false, got "yes"'],
    [lines('cron:', '  report: { schedule: "@daily", command: x, maintainance: true }'), 'paas.yml:2:45 cron.report: unknown key "maintainance" (did you mean "maintenance"?)'],
  ])('%j', (text, problem) => {
    expect(problemsOf(text)).toEqual([problem]);
  });

  it('refuses more than 50 tasks', () => {
    const text = lines('cron:', ...Array.from({ length: 51 }, (_, i) => `  t${i}: { schedule: "@daily", command: x }`));
    expect(problemsOf(text)).toEqual(['paas.yml:2:3 cron: 51 tasks, at most 50 are allowed (app.json\'s cron included)']);
  });
});
