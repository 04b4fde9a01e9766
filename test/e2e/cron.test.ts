/**
 * The Heroku and Dokku conventions of app.json on real hosts. Scheduled tasks, run by the host
 * service: an every-minute task of an app with 2 web replicas on 2 hosts runs exactly once per
 * minute (on the first host only) over 3 minutes with a deploy in between, a `forbid` task is
 * skipped while its previous run goes on (and the deploy does not stop that run), and cron,
 * cron:run, cron:suspend, cron:resume and logs -p cron do what they say. Then app.json's env
 * (required keys, generated secrets) and scripts (predeploy, postdeploy, scripts.postdeploy).
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronView } from '../../src/agent/protocol.js';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

const world = testWorld('cron');
const app = 'ticker';
const example = copyExample('node');
let one: TestHost;
let two: TestHost;
const inside = (host: TestHost, ...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

const PAAS_YML = `processes:
  web: 2
cron:
  tick:
    schedule: "* * * * *"
    command: node -e "console.log('tick at ' + new Date().toISOString())"
  slow:
    schedule: "* * * * *"
    command: sleep 150
    concurrency_policy: forbid
  nightly:
    schedule: "@daily"
    command: echo nightly run
`;

function setVersion(version: number): void {
  const file = path.join(example.dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
}

/** The scheduled minutes the host service started a task for, from the app's host log (kept whole, unlike the runs). */
async function startedMinutes(host: TestHost, task: string): Promise<string[]> {
  const log = await inside(host, 'cat', `/var/lib/paas/apps/${app}/events.log`);
  return log.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text)
    .flatMap((text) => new RegExp(`^cron ${task}: started \\S+ for (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d) UTC`).exec(text)?.slice(1) ?? []);
}

async function hostLog(host: TestHost): Promise<string[]> {
  const log = await inside(host, 'cat', `/var/lib/paas/apps/${app}/events.log`);
  return log.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
}

const minuteAfter = (minute: string) => new Date(Date.parse(`${minute.replace(' ', 'T')}:00Z`) + 60_000).toISOString().slice(0, 16).replace('T', ' ');

beforeAll(async () => {
  writeFileSync(path.join(example.dir, 'paas.yml'), PAAS_YML);
  one = await world.addHost('one');
  two = await world.addHost('two');
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('scheduled tasks', () => {
  it('an every-minute task runs once a minute for the app, on one host of two, across a deploy; forbid skips while the last run goes on', async () => {
    const first = await world.cli(['deploy', example.dir, '--app', app, ...world.at(one, two)]);
    expect(first.exitCode, first.stderr.slice(-3000)).toBe(0);
    const started = Date.now();
    // Wait into the third minute boundary after the deploy, with a deploy about half-way.
    let deployedAt = '';
    while (Date.now() - started < 200_000) {
      await new Promise((r) => setTimeout(r, 5000));
      if (!deployedAt && Date.now() - started > 90_000) {
        const slowBefore = (await inside(one, 'docker', 'ps', '--filter', 'label=paas.cron=slow', '--format', '{{.Names}}')).stdout.trim();
        setVersion(2);
        const again = await world.cli(['deploy', example.dir, '--app', app, ...world.at(one, two)]);
        expect(again.exitCode, again.stderr.slice(-3000)).toBe(0);
        deployedAt = new Date().toISOString().slice(0, 16).replace('T', ' ');
        // The deploy left the running task alone.
        const slowAfter = (await inside(one, 'docker', 'ps', '--filter', 'label=paas.cron=slow', '--format', '{{.Names}}')).stdout.trim();
        expect(slowBefore).not.toBe('');
        expect(slowAfter).toBe(slowBefore);
      }
      if ((await startedMinutes(one, 'tick')).length >= 4) break;
    }
    const ticks = await startedMinutes(one, 'tick');
    console.log(`tick runs on host one (UTC minutes): ${ticks.join(', ')}; deploy at ${deployedAt}; host two: ${(await startedMinutes(two, 'tick')).length} runs`);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    // Once each, in consecutive minutes: none missed, none twice, across the deploy.
    expect(new Set(ticks).size).toBe(ticks.length);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBe(minuteAfter(ticks[i - 1]!));
    expect(ticks[0]! < deployedAt && deployedAt < ticks.at(-1)!).toBe(true);
    // The second host lists the tasks but runs none.
    expect(await startedMinutes(two, 'tick')).toEqual([]);
    expect((await inside(two, 'docker', 'ps', '-a', '--filter', 'label=paas.cron', '--format', '{{.Names}}')).stdout.trim()).toBe('');
    // forbid: one run of slow (150 s) at a time; the minutes in between were skipped, and said so.
    const slow = await startedMinutes(one, 'slow');
    expect(slow.length).toBeGreaterThanOrEqual(1);
    expect((await hostLog(one)).filter((text) => /^cron slow: the run of .* UTC is skipped: paas-ticker\.cron\.slow\.\S+ still runs \(concurrency_policy forbid\)$/.test(text)).length).toBeGreaterThanOrEqual(2);
    expect((await inside(one, 'docker', 'ps', '--filter', 'label=paas.cron=slow', '--format', '{{.Names}}')).stdout.trim().split('\n')).toHaveLength(1);
    // The task's output is in paas logs -p cron, as cron.<task>.
    const logs = await world.cli(['logs', '--app', app, '-p', 'cron', '-n', '50', ...world.at(one)]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/cron\.tick.*tick at \d{4}-/);
    expect((await viaNginx(one, app)).status).toBe(200);
  });

  it('app.json env: a required key refuses the deploy until set; a secret is generated once and kept; unsetting the required key is refused', async () => {
    const other = copyExample('node');
    const at = ['--app', 'envy', ...world.at(one)];
    try {
      writeFileSync(path.join(other.dir, 'app.json'), JSON.stringify({
        env: { API_KEY: { description: 'the API key', required: true }, SECRET_KEY_BASE: { generator: 'secret' }, GREETING: 'hello' },
      }));
      const refused = await world.cli(['deploy', other.dir, ...at]);
      expect(refused.exitCode, refused.stderr.slice(-2000)).toBe(3);
      expect(refused.stderr).toContain('envy needs the config var API_KEY, which app.json\'s env requires: nothing was changed');
      expect(refused.stderr).toContain('paas config:set API_KEY=... --app envy');
      expect((await world.cliJson<{ releases: unknown[] }>(['releases', ...at])).releases).toEqual([]);
      expect((await world.cli(['config:set', 'API_KEY=k1', ...at])).exitCode).toBe(0);
      const deployed = await world.cli(['deploy', other.dir, ...at]);
      expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
      expect(deployed.stderr).toContain('SECRET_KEY_BASE: generated');
      const secret = (await viaNginx(one, 'envy', '/env/SECRET_KEY_BASE')).body;
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      expect((await viaNginx(one, 'envy', '/env/GREETING')).body).toBe('hello');
      expect((await viaNginx(one, 'envy', '/env/API_KEY')).body).toBe('k1');
      const again = await world.cli(['deploy', other.dir, ...at]);
      expect(again.exitCode, again.stderr.slice(-2000)).toBe(0);
      expect((await viaNginx(one, 'envy', '/env/SECRET_KEY_BASE')).body).toBe(secret);
      const unset = await world.cli(['config:unset', 'API_KEY', ...at]);
      expect(unset.exitCode).toBe(3);
      expect(unset.stderr).toContain('envy needs the config var API_KEY');
      expect((await viaNginx(one, 'envy', '/env/API_KEY')).body).toBe('k1');
    } finally {
      await world.cli(['apps:destroy', '--confirm', 'envy', ...at]);
      other.cleanup();
    }
  });

  it('app.json scripts: predeploy and postdeploy around each deploy, scripts.postdeploy after the first only; a failing predeploy changes nothing, 0 failed requests', async () => {
    const other = copyExample('node');
    const at = ['--app', 'scripted', ...world.at(one)];
    const scripts = (predeploy: string) => writeFileSync(path.join(other.dir, 'app.json'), JSON.stringify({
      scripts: { dokku: { predeploy, postdeploy: 'echo "postdeploy ran in $PAAS_RELEASE"' }, postdeploy: 'echo "first release script ran"' },
    }));
    const serverFile = path.join(other.dir, 'server.js');
    const bump = (version: number) => writeFileSync(serverFile, readFileSync(serverFile, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${version};`));
    try {
      scripts('echo "predeploy ran in $PAAS_RELEASE"');
      const first = await world.cli(['deploy', other.dir, ...at]);
      expect(first.exitCode, first.stderr.slice(-3000)).toBe(0);
      expect(first.stderr).toContain('predeploy ran in v1');
      expect(first.stderr).toContain('postdeploy ran in v1');
      expect(first.stderr).toContain('first release script ran');
      expect(first.stderr.indexOf('predeploy ran in v1')).toBeLessThan(first.stderr.indexOf('started web.1'));
      bump(2);
      const second = await world.cli(['deploy', other.dir, ...at]);
      expect(second.exitCode, second.stderr.slice(-3000)).toBe(0);
      expect(second.stderr).toContain('predeploy ran in v2');
      expect(second.stderr).toContain('postdeploy ran in v2');
      expect(second.stderr).not.toContain('first release script ran');

      scripts('echo "migration failed: no database" >&2; exit 7');
      bump(3);
      const load = startLoad({ url: `http://127.0.0.1:${one.httpPort}/`, hostHeader: 'scripted.localhost', expectBody: /version 2\n$/ });
      const failed = await world.cli(['deploy', other.dir, ...at]);
      const report = await load.stop();
      console.log(`failing predeploy: ${formatLoadReport(report)}`);
      expect(failed.exitCode, failed.stderr.slice(-3000)).toBe(13);
      expect(failed.stderr).toMatch(/the predeploy script of v3 \(echo "migration failed: no database" >&2; exit 7\) exited with code 7/);
      expect(failed.stderr).toContain('migration failed: no database');
      expect(report.failed).toBe(0);
      expect(report.sent).toBeGreaterThan(100);
      expect((await world.cliJson<{ current: number }>(['releases', ...at])).current).toBe(2);
      expect((await inside(one, 'docker', 'ps', '-a', '--filter', 'label=paas.app=scripted', '--filter', 'label=paas.oneoff', '-q')).stdout.trim()).toBe('');
    } finally {
      await world.cli(['apps:destroy', '--confirm', 'scripted', ...at]);
      other.cleanup();
    }
  });

  it('cron lists the tasks with their next run; cron:run runs one now; cron:suspend stops its schedule until cron:resume', async () => {
    const views = await world.cliJson<(CronView & { host: string })[]>(['cron', '--app', app, ...world.at(one, two)]);
    expect(views.map((v) => v.runsCron)).toEqual([true, false]);
    const tasks = views[0]!.tasks;
    expect(tasks.map((t) => [t.id, t.schedule, t.concurrencyPolicy])).toEqual([['tick', '* * * * *', 'allow'], ['slow', '* * * * *', 'forbid'], ['nightly', '@daily', 'allow']]);
    expect(tasks.find((t) => t.id === 'nightly')!.next).toMatch(/T00:00:00\.000Z$/);
    const table = await world.cli(['cron', '--app', app, ...world.at(one)]);
    expect(table.stdout).toMatch(/^ {2}nightly +@daily +next \d{4}-\d\d-\d\d 00:00 UTC +echo nightly run/m);

    const ran = await world.cliJson<{ container: string }[]>(['cron:run', 'nightly', '--app', app, ...world.at(one, two)]);
    expect(ran).toHaveLength(1);
    expect(ran[0]!.container).toMatch(/^paas-ticker\.cron\.nightly\.manual\.[0-9a-f]{4}$/);
    let logs = '';
    for (let i = 0; i < 40 && !logs.includes('nightly run'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      logs = (await world.cli(['logs', '--app', app, '-p', 'cron', ...world.at(one)])).stdout;
    }
    expect(logs).toMatch(/cron\.nightly.*nightly run/);

    const unknown = await world.cli(['cron:run', 'nope', '--app', app, ...world.at(one)]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('ticker has no scheduled task "nope"');

    const suspended = await world.cliJson<(CronView & { host: string })[]>(['cron:suspend', 'tick', '--app', app, ...world.at(one, two)]);
    expect(suspended.map((v) => v.tasks.find((t) => t.id === 'tick')!.suspended)).toEqual([true, true]);
    const before = (await startedMinutes(one, 'tick')).length;
    // Past the next minute boundary: no run of tick.
    await new Promise((r) => setTimeout(r, 61_000 - (Date.now() % 60_000) + 3000));
    expect((await startedMinutes(one, 'tick')).length).toBe(before);
    const resumed = await world.cliJson<(CronView & { host: string })[]>(['cron:resume', 'tick', '--app', app, ...world.at(one)]);
    expect(resumed[0]!.tasks.find((t) => t.id === 'tick')!.suspended).toBe(false);
    expect(resumed[0]!.tasks.find((t) => t.id === 'tick')!.next).toBeDefined();
  });
});
