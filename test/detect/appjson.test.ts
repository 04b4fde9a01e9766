import { describe, expect, it } from 'vitest';
import { readAppJson } from '../../src/detect/appjson.js';
import { PaasError } from '../../src/errors.js';

const FILE = '/srv/shop/app.json';

function errorOf(json: unknown): PaasError {
  try {
    readAppJson(json, FILE);
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected readAppJson to throw');
}

describe('app.json cron (Dokku)', () => {
  it('reads each task with Dokku\'s defaults and an id from its schedule and command', () => {
    const settings = readAppJson({
      cron: [
        { command: 'npm run report', schedule: '@daily' },
        { command: 'python3 manage.py clearsessions', schedule: ' */15 * * * * ', concurrency_policy: 'forbid', maintenance: true },
      ],
    }, FILE);
    expect(settings).toEqual({
      cron: [
        { id: 'b7ed834c', schedule: '@daily', command: 'npm run report', concurrencyPolicy: 'allow', maintenance: false, source: 'app.json cron[0]' },
        { id: 'ca477516', schedule: '*/15 * * * *', command: 'python3 manage.py clearsessions', concurrencyPolicy: 'forbid', maintenance: true, source: 'app.json cron[1]' },
      ],
      reasons: ['app.json cron: b7ed834c (@daily), ca477516 (*/15 * * * *)'],
      warnings: [],
    });
  });

  it('an empty list is no tasks', () => {
    expect(readAppJson({ cron: [] }, FILE)).toEqual({ reasons: [], warnings: [] });
  });

  it.each<[unknown, string, string?]>([
    [{}, 'cron must be a list of tasks, e.g. [{"command": "npm run report", "schedule": "@daily"}]'],
    [['@daily npm run report'], 'cron[0] must be an object, e.g. {"command": "npm run report", "schedule": "@daily"}'],
    [[{ schedule: '@daily' }], 'cron[0].command is missing: every task needs the command it runs'],
    [[{ schedule: '@daily', command: ['npm', 'run'] }], 'cron[0].command must be a string (a command line, as in a Procfile)'],
    [[{ schedule: '@daily', command: ' ' }], 'cron[0].command must not be empty'],
    [[{ schedule: '@daily', command: 'npm\u0000run' }], 'cron[0].command contains a NUL byte, which no program can be given'],
    [[{ schedule: '@daily', command: 'x'.repeat(16_385) }], 'cron[0].command is 16385 characters long, at most 16384 are allowed'],
    [[{ command: 'x' }], 'cron[0].schedule is missing: every task needs one, such as "@daily" or "*/15 * * * *"'],
    [[{ command: 'x', schedule: '@reboot' }], 'cron[0].schedule "@reboot" is not supported: paas runs tasks on a schedule, not when a host starts (a process type of the Procfile runs for as long as the app does)',
      'fix that schedule in /srv/shop/app.json: five fields, minute hour day-of-month month day-of-week (times in UTC), or @hourly, @daily, @weekly, @monthly, @yearly'],
    [[{ command: 'x', schedule: '@daily' }, { command: 'y', schedule: '61 * * * *' }], 'cron[1].schedule "61 * * * *" is not a valid schedule: invalid value for minute: 61',
      'fix that schedule in /srv/shop/app.json: five fields, minute hour day-of-month month day-of-week (times in UTC), or @hourly, @daily, @weekly, @monthly, @yearly'],
    [[{ command: 'x', schedule: 60 }], 'cron[0].schedule must be a string such as "@daily" or "*/15 * * * *"',
      'fix that schedule in /srv/shop/app.json: five fields, minute hour day-of-month month day-of-week (times in UTC), or @hourly, @daily, @weekly, @monthly, @yearly'],
    [[{ command: 'x', schedule: '@daily', concurrency_policy: 'queue' }], 'cron[0].concurrency_policy must be one of "allow", "forbid", "replace"'],
    [[{ command: 'x', schedule: '@daily', maintenance: 'yes' }], 'cron[0].maintenance must be true or false'],
    [[{ command: 'x', schedule: '@daily' }, { command: 'x', schedule: ' @daily' }], 'cron[1] is the same task as cron[0] (same schedule and command)', 'remove one of them from /srv/shop/app.json'],
    [Array.from({ length: 51 }, (_, i) => ({ command: `x${i}`, schedule: '@daily' })), 'cron has 51 tasks, at most 50 are allowed', "run several jobs from one task's command, or fewer tasks"],
  ])('refuses %j', (cron, message, hint = 'fix that value in /srv/shop/app.json') => {
    expect(errorOf({ cron }).toJSON()).toEqual({ error: 'config', message, where: FILE, hint, exitCode: 3 });
  });
});

describe('app.json scripts (Dokku and Heroku)', () => {
  it('reads Dokku\'s predeploy and postdeploy and Heroku\'s postdeploy (run once, after the first release)', () => {
    expect(readAppJson({
      scripts: { dokku: { predeploy: 'npm run migrate', postdeploy: 'curl -fsS https://example.com/deployed' }, postdeploy: 'bundle exec rake bootstrap' },
    }, FILE)).toEqual({
      scripts: { predeploy: 'npm run migrate', postdeploy: 'curl -fsS https://example.com/deployed', firstDeploy: 'bundle exec rake bootstrap' },
      reasons: ['app.json scripts.dokku.predeploy, scripts.dokku.postdeploy, scripts.postdeploy'],
      warnings: [],
    });
  });

  it('takes Heroku\'s object form of postdeploy, without its dyno size', () => {
    expect(readAppJson({ scripts: { postdeploy: { command: 'bin/seed', size: 'performance-l' } } }, FILE).scripts).toEqual({ firstDeploy: 'bin/seed' });
  });

  it('an empty command, or scripts paas does not run (Heroku\'s pr-predestroy), are no scripts', () => {
    expect(readAppJson({ scripts: { dokku: { predeploy: '' }, postdeploy: '  ', 'pr-predestroy': 'bin/teardown' } }, FILE)).toEqual({ reasons: [], warnings: [] });
  });

  it.each<[unknown, string]>([
    ['npm run migrate', 'scripts must be an object, e.g. {"dokku": {"predeploy": "npm run migrate"}, "postdeploy": "npm run seed"}'],
    [{ dokku: 'npm run migrate' }, 'scripts.dokku must be an object, e.g. {"predeploy": "npm run migrate", "postdeploy": "curl ..."}'],
    [{ dokku: { predeploy: ['npm', 'run', 'migrate'] } }, 'scripts.dokku.predeploy must be a string (a command line, as in a Procfile)'],
    [{ dokku: { postdeploy: 'curl\u0000x' } }, 'scripts.dokku.postdeploy contains a NUL byte, which no program can be given'],
    [{ postdeploy: 5 }, 'scripts.postdeploy must be a string (a command line, as in a Procfile), or {"command": "..."}'],
    [{ postdeploy: { size: 'basic' } }, 'scripts.postdeploy.command is missing: write the command, e.g. {"command": "npm run seed"}'],
    [{ postdeploy: { command: 'x'.repeat(16_385) } }, 'scripts.postdeploy.command is 16385 characters long, at most 16384 are allowed'],
  ])('refuses %j', (scripts, message) => {
    expect(errorOf({ scripts }).toJSON()).toEqual({ error: 'config', message, where: FILE, hint: 'fix that value in /srv/shop/app.json', exitCode: 3 });
  });
});

describe('app.json env (Heroku, Dokku)', () => {
  it('sorts the keys into defaults, required keys and secrets; required defaults to true', () => {
    expect(readAppJson({
      env: {
        WEB_CONCURRENCY: '5',
        LOG_LEVEL: { description: 'how much to log', value: 'info' },
        DATABASE_URL: { description: 'PostgreSQL connection string', required: true },
        API_TOKEN: { description: 'a token of the mail service' },
        LEATHER_SEATS: { description: 'optional', required: false },
        SECRET_KEY_BASE: { description: 'signs cookies', generator: 'secret' },
        FLAGS: { value: 'a,b', sync: true, required: true },
        EMPTY: '',
      },
    }, FILE)).toEqual({
      env: {
        defaults: { WEB_CONCURRENCY: '5', LOG_LEVEL: 'info', FLAGS: 'a,b', EMPTY: '' },
        required: ['DATABASE_URL', 'API_TOKEN'],
        secrets: ['SECRET_KEY_BASE'],
      },
      reasons: ['app.json env: defaults for WEB_CONCURRENCY, LOG_LEVEL, FLAGS, EMPTY; requires DATABASE_URL, API_TOKEN; secrets SECRET_KEY_BASE'],
      warnings: [],
    });
  });

  it('leaves out the names paas sets itself, with a warning', () => {
    expect(readAppJson({ env: { PORT: '5000', PAAS_APP: { value: 'x' } } }, FILE)).toEqual({
      reasons: [],
      warnings: [
        "app.json env.PORT ignored: PORT is set by paas from the app's port",
        'app.json env.PAAS_APP ignored: PAAS_APP is set by paas in every container (the app\'s name, release and process)',
      ],
    });
  });

  it('an env of optional keys only declares nothing', () => {
    expect(readAppJson({ env: { A: { required: false } } }, FILE)).toEqual({ reasons: [], warnings: [] });
  });

  it.each<[unknown, string, string?]>([
    [['A'], 'env must be an object of variable names, e.g. {"WEB_CONCURRENCY": "2", "SECRET_KEY": {"generator": "secret"}}'],
    [{ 'MY-VAR': 'x' }, 'env: "MY-VAR" is not a valid variable name (letters, digits and underscores, not starting with a digit)', 'rename that variable in /srv/shop/app.json'],
    [{ A: 5 }, 'env.A must be a string (its default value) or an object such as {"description": "...", "required": true}'],
    [{ A: null }, 'env.A must be a string (its default value) or an object such as {"description": "...", "required": true}'],
    [{ A: { value: 5 } }, 'env.A.value must be a string', 'quote the value in /srv/shop/app.json, e.g. "5" rather than 5'],
    [{ A: 'a\u0000b' }, 'env.A.value contains a NUL byte, which an environment variable cannot hold'],
    [{ A: 'y'.repeat(32 * 1024 + 1) }, 'env.A.value is 32769 bytes long, at most 32768 are allowed'],
    [{ A: { required: 'yes' } }, 'env.A.required must be true or false'],
    [{ A: { sync: 1 } }, 'env.A.sync must be true or false'],
    [{ A: { description: 7 } }, 'env.A.description must be a string of at most 1000 characters'],
    [{ A: { generator: 'uuid' } }, 'env.A.generator "uuid" is not supported: the only generator is "secret"'],
    [{ A: { generator: 'secret', value: 'x' } }, 'env.A has both a value and a generator', 'keep one of them in /srv/shop/app.json'],
    [Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`K${i}`, 'x'])), 'env has 201 keys, at most 200 are allowed'],
  ])('refuses %j', (env, message, hint = 'fix that value in /srv/shop/app.json') => {
    expect(errorOf({ env }).toJSON()).toEqual({ error: 'config', message, where: FILE, hint, exitCode: 3 });
  });
});
