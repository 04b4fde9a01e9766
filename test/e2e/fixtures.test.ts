/**
 * Apps written the way Heroku's and Dokku's docs and samples write them (test/fixtures/), each
 * deployed as it stands to a sandbox host and checked the way that platform says it answers.
 * Those whose build downloads packages (pip install, bundle install) install them from a local
 * package index the test starts (./package-index.ts: made from Debian's packages, since these
 * machines reach no public index), named in paas.yml build.args as a user names their mirror.
 */
import { execa } from 'execa';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, scratchDir } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { startPackageIndex, type PackageIndex } from './package-index.js';

const world = testWorld('fixtures');
const scratch = scratchDir('paas-fixtures-');
let host: TestHost;
let index: PackageIndex | undefined;
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
  // Flask's quickstart returns the string as the body; Django's HttpResponse likewise.
  'flask-gunicorn': /^Hello from Flask!$/,
  'django': /^Hello from Django!$/,
  'ruby-rack': /^Hello from Rack\n$/,
  'node-worker-only': undefined,
};
/** Fixtures whose build downloads packages (pip install, bundle install): built against the local index. */
const NEEDS_A_PACKAGE_INDEX = new Set(['flask-gunicorn', 'django', 'ruby-rack']);

function copyFixture(name: string): string {
  const dir = path.join(scratch.dir, name);
  cpSync(path.join(repoRoot, 'test', 'fixtures', name), dir, { recursive: true });
  if (NEEDS_A_PACKAGE_INDEX.has(name)) {
    const args = Object.entries(index!.buildArgs).map(([key, value]) => `    ${key}: ${JSON.stringify(value)}\n`).join('');
    writeFileSync(path.join(dir, 'paas.yml'), `# The package mirror of this machine (the test's local index).\nbuild:\n  args:\n${args}`);
  }
  return dir;
}

beforeAll(async () => {
  [host, index] = await Promise.all([world.addHost('a'), startPackageIndex()]);
});
afterAll(async () => {
  await index?.stop();
  await world.cleanup();
  scratch.cleanup();
});

describe('apps written for Heroku or Dokku deploy as they stand', () => {
  it('every fixture is deployed here', () => {
    const all = readdirSync(path.join(repoRoot, 'test', 'fixtures')).filter((name) => !name.startsWith('.')).sort();
    expect(Object.keys(ANSWERS).sort()).toEqual(all);
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
