// validateSpec on the fields app.json's cron, scripts and env add (the others: test/agent/rollout.test.ts).
import { describe, expect, it } from 'vitest';
import type { CronTask } from '../../src/detect/types.js';
import { PaasError } from '../../src/errors.js';
import type { ReleaseSpec } from '../../src/release/types.js';
import { validateSpec } from '../../src/release/validate.js';

const task = (overrides: Partial<CronTask> = {}): CronTask => ({
  id: 'b7ed834c', schedule: '@daily', command: 'npm run report', concurrencyPolicy: 'allow', maintenance: false, source: 'app.json cron[0]', ...overrides,
});

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    app: 'shop', version: 3, image: 'paas/shop:1a2b3c4d', imageId: '', processes: { web: 'node server.js' }, formation: { web: 1 }, port: 8080,
    domains: [], balance: 'round_robin', env: {}, description: 'Deploy 1a2b3c4d', createdBy: 'ann@laptop', keepReleases: 5, drainMs: 1000, stopTimeoutSeconds: 10,
    cron: [task(), task({ id: 'report', schedule: '30 2 * * 1-5', command: 'bin/report', concurrencyPolicy: 'forbid', maintenance: true, source: 'paas.yml cron.report' })],
    scripts: { predeploy: 'npm run migrate', postdeploy: 'curl -fsS https://example.com/deployed', firstDeploy: 'npm run seed' },
    envRequired: ['DATABASE_URL'],
    envSecrets: ['SECRET_KEY_BASE'],
    ...overrides,
  };
}

function problems(overrides: Record<string, unknown>): string[] {
  try {
    validateSpec(spec(overrides as Partial<ReleaseSpec>));
  } catch (error) {
    if (error instanceof PaasError && error.message === 'the release spec is invalid' && error.kind === 'usage') return error.details;
    throw error;
  }
  return [];
}

describe('validateSpec: cron, scripts, envRequired, envSecrets', () => {
  it('a spec with all of them passes, and so does one without them', () => {
    expect(problems({})).toEqual([]);
    expect(problems({ cron: undefined, scripts: undefined, envRequired: undefined, envSecrets: undefined })).toEqual([]);
    expect(problems({ cron: [], scripts: {}, envRequired: [], envSecrets: [] })).toEqual([]);
    expect(problems({ cron: Array.from({ length: 50 }, (_, i) => task({ id: `t${i}` })) })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['cron not a list', { cron: { a: task() } }, ['cron: expected a list of tasks']],
    ['1000 tasks', { cron: Array.from({ length: 1000 }, (_, i) => task({ id: `t${i}` })) }, ['cron: 1000 tasks, at most 50 are allowed']],
    ['a task that is not an object', { cron: ['@daily npm run report'] }, ['cron[0]: expected { id, schedule, command, concurrencyPolicy, maintenance, source }']],
    ['a bad schedule', { cron: [task({ schedule: '61 * * * *' })] }, ['cron[0].schedule: "61 * * * *" is not a valid schedule: invalid value for minute: 61']],
    ['@reboot', { cron: [task({ schedule: '@reboot' })] }, ['cron[0].schedule: "@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)']],
    ['a schedule with a newline', { cron: [task({ schedule: '* * * * *\n* * * * * root rm -rf /' })] }, ['cron[0].schedule: "* * * * *\\n* * * * * root rm -rf /" contains control characters']],
    ['a 1 MB schedule', { cron: [task({ schedule: '*'.repeat(1e6) })] }, ['cron[0].schedule: is 1000000 characters long, at most 100 are allowed']],
    ['a schedule not a string', { cron: [task({ schedule: 5 as unknown as string })] }, ['cron[0].schedule: must be a string such as "@daily" or "*/15 * * * *"']],
    ['a NUL in a cron command', { cron: [task({ command: 'npm\u0000run' })] }, ['cron[0].command: expected a command of 1 to 16384 characters, without NUL bytes']],
    ['an empty cron command', { cron: [task({ command: ' ' })] }, ['cron[0].command: expected a command of 1 to 16384 characters, without NUL bytes']],
    ['a cron command too long', { cron: [task({ command: 'x'.repeat(16_385) })] }, ['cron[0].command: expected a command of 1 to 16384 characters, without NUL bytes']],
    ['an id with a slash', { cron: [task({ id: '../x' })] }, ['cron[0].id: "../x" is not a valid task name (lowercase letters, digits, dashes and underscores, starting with a letter or digit, at most 30 characters)']],
    ['an id twice', { cron: [task(), task({ schedule: '@hourly' })] }, ['cron[1].id: b7ed834c is listed twice']],
    ['a concurrency policy of its own', { cron: [task({ concurrencyPolicy: 'queue' as CronTask['concurrencyPolicy'] })] }, ['cron[0].concurrencyPolicy: expected allow, forbid, replace']],
    ['maintenance "no"', { cron: [task({ maintenance: 'no' as unknown as boolean })] }, ['cron[0].maintenance: expected true or false']],
    ['a source with a newline', { cron: [task({ source: 'app.json\nroot' })] }, ['cron[0].source: expected a short line of text']],
    ['scripts not an object', { scripts: 'npm run migrate' }, ['scripts: expected { predeploy, postdeploy, firstDeploy }']],
    ['a script of its own', { scripts: { preboot: 'x' } }, ['scripts: "preboot" is not a script (expected predeploy, postdeploy, firstDeploy)']],
    ['a NUL in a script', { scripts: { predeploy: 'migrate\u0000' } }, ['scripts.predeploy: expected a command of 1 to 16384 characters, without NUL bytes']],
    ['an empty script', { scripts: { firstDeploy: '' } }, ['scripts.firstDeploy: expected a command of 1 to 16384 characters, without NUL bytes']],
    ['envRequired not a list', { envRequired: 'DATABASE_URL' }, ['envRequired: expected a list of at most 200 variable names']],
    ['envRequired of 201 names', { envRequired: Array.from({ length: 201 }, (_, i) => `K${i}`) }, ['envRequired: expected a list of at most 200 variable names']],
    ['envRequired with a bad name', { envRequired: ['A-B'] }, ['envRequired: "A-B" is not a valid variable name (letters, digits and underscores, not starting with a digit)']],
    ['envRequired PORT', { envRequired: ['PORT'] }, ["envRequired: PORT is set by paas from the app's port"]],
    ['envRequired twice', { envRequired: ['A', 'A'] }, ['envRequired: A is listed twice']],
    ['envSecrets with a number', { envSecrets: [5] }, ['envSecrets: expected variable names (strings)']],
    ['envSecrets PAAS_APP', { envSecrets: ['PAAS_APP'] }, ["envSecrets: PAAS_APP is set by paas in every container (the app's name, release and process)"]],
  ])('refuses %s', (_what, overrides, expected) => {
    expect(problems(overrides)).toEqual(expected);
  });
});

describe('validateSpec: tls', () => {
  it('accepts { hsts, redirect } and no tls at all', () => {
    expect(problems({ tls: { hsts: true, redirect: false } })).toEqual([]);
    expect(problems({ tls: undefined })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a string', { tls: 'auto' }],
    ['a missing field', { tls: { hsts: true } }],
    ['a field of its own', { tls: { hsts: true, redirect: true, certFile: '/etc/shadow' } }],
    ['a string for a flag', { tls: { hsts: 'yes', redirect: true } }],
  ])('refuses %s', (_what, overrides) => {
    expect(problems(overrides)).toEqual(['tls: expected { hsts: true|false, redirect: true|false }']);
  });

  it('refuses it on the swarm engine', () => {
    expect(problems({ tls: { hsts: false, redirect: true }, engine: 'swarm' })).toEqual(['tls: not for the swarm engine (bring a certificate with paas certs:add)']);
  });
});
