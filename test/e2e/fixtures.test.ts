/**
 * Apps written the way Heroku's and Dokku's docs and samples write them (test/fixtures/), each
 * deployed as it stands to a sandbox host and checked the way that platform says it answers.
 * Three need a package index at build time (pip, gems), which these machines do not reach: they
 * are detected exactly (test/detect/fixtures.test.ts) but not built here.
 */
import { execa } from 'execa';
import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, scratchDir } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';

const world = testWorld('fixtures');
const scratch = scratchDir('paas-fixtures-');
let host: TestHost;
const inside = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

/** Each deployable fixture: what its web process answers (undefined: it has none). */
const ANSWERS: Record<string, RegExp | undefined> = {
  'python-stdlib': /^Hello from Python's standard library\n$/,
  'python-hooks': /^Hello from a python app with compile hooks\npre_compile ran\npost_compile ran\n$/,
  'appjson-cron': /^Hello from an app\.json app\n$/,
  'go-module': /^Hello from Go modules\n$/,
  'go-godeps': /^Hello from Go with godep\n$/,
  'go-godir': /^Hello from Go with \.godir\n$/,
  'node-busy-procfile': /^Hello from Node\.js\n$/,
  'dockerfile-procfile': /^Hello from a Dockerfile app\n$/,
  'static-site': /Hello from a static site/,
  'node-worker-only': undefined,
};
/** Fixtures whose build downloads packages (pip install, bundle install): no index is reachable here. */
const NEEDS_A_PACKAGE_INDEX = ['flask-gunicorn', 'django', 'ruby-rack'];

function copyFixture(name: string): string {
  const dir = path.join(scratch.dir, name);
  cpSync(path.join(repoRoot, 'test', 'fixtures', name), dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  host = await world.addHost('a');
});
afterAll(async () => {
  await world.cleanup();
  scratch.cleanup();
});

describe('apps written for Heroku or Dokku deploy as they stand', () => {
  it('every fixture is deployed here, or named as needing a package index', () => {
    const all = readdirSync(path.join(repoRoot, 'test', 'fixtures')).filter((name) => !name.startsWith('.')).sort();
    expect([...Object.keys(ANSWERS), ...NEEDS_A_PACKAGE_INDEX].sort()).toEqual(all);
  });

  for (const [fixture, answer] of Object.entries(ANSWERS).filter(([, a]) => a !== undefined)) {
    it(fixture, async () => {
      const app = fixture.replace(/[^a-z0-9-]/g, '-');
      const deployed = await world.cli(['deploy', copyFixture(fixture), '--app', app, ...world.at(host)]);
      expect(deployed.exitCode, deployed.stderr.slice(-3000)).toBe(0);
      const response = await viaNginx(host, app);
      expect(response.status, response.body).toBe(200);
      expect(response.body).toMatch(answer!);
    });
  }

  it('node-worker-only: the worker runs and logs, nothing is routed, web=0', async () => {
    const app = 'node-worker-only';
    const deployed = await world.cli(['deploy', copyFixture(app), '--app', app, ...world.at(host)]);
    expect(deployed.exitCode, deployed.stderr.slice(-3000)).toBe(0);
    expect(deployed.stderr).toContain('has no web process: nothing is routed (web=0; its names answer 502), worker=1 run');
    const ps = (await world.cliJson<{ formation: Record<string, number>; processes: { process: string; state: string }[] }[]>(['ps', '--app', app, ...world.at(host)]))[0]!;
    expect(ps.formation).toEqual({ worker: 1 });
    expect(ps.processes.map((p) => [p.process, p.state])).toEqual([['worker.1', 'running']]);
    expect((await inside('docker', 'ps', '--filter', `label=paas.app=${app}`, '--filter', 'label=paas.process=web', '-q')).stdout.trim()).toBe('');
    const routes = await inside('cat', `/var/lib/paas/routes/${app}`);
    expect(routes.stdout).not.toMatch(/^peer /m);
    expect((await viaNginx(host, app)).status).toBe(502);
    let logs = '';
    for (let i = 0; i < 20 && !logs.includes('processed job'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      logs = (await world.cli(['logs', '--app', app, ...world.at(host)])).stdout;
    }
    expect(logs).toMatch(/worker\.1.*worker started/);
    expect(logs).toMatch(/worker\.1.*processed job 1/);
  });
});
