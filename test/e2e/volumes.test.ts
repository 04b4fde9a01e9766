import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

/**
 * Volumes on a real sandbox host: a file written to a volume outlives deploys, volumes:add and
 * volumes:remove (each a zero-downtime release), a rollback, a host restart and apps:destroy
 * (unless --volumes); bad input changes nothing.
 */
const world = testWorld('volumes');
const app = 'notes';
const example = copyExample('node');
let host: TestHost;

const SERVER = `const http = require('node:http');
const fs = require('node:fs');
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  if (url.pathname === '/write') {
    fs.appendFileSync('/app/data/notes.txt', url.searchParams.get('text') + '\\n');
    return res.end('ok');
  }
  if (url.pathname === '/read') {
    try { return res.end(fs.readFileSync(url.searchParams.get('file') || '/app/data/notes.txt', 'utf8')); }
    catch (error) { res.statusCode = 404; return res.end(error.code); }
  }
  res.end('notes ' + (process.env.NOTES_VERSION || '1'));
}).listen(process.env.PORT);
`;

const onHost = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });
const deploy = async (version: string) => {
  writeFileSync(path.join(example.dir, 'VERSION'), version);
  const result = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host), '--json']);
  expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
};
const read = async (file?: string) => (await viaNginx(host, app, `/read${file ? `?file=${encodeURIComponent(file)}` : ''}`));
const mountsOf = async (container: string) => (await onHost('docker', 'inspect', '--format', '{{range .Mounts}}{{.Name}}={{.Destination}} {{end}}', container)).stdout.trim();
const stateJson = async () => (await onHost('cat', `/var/lib/paas/apps/${app}/state.json`)).stdout;

interface VolumesJson { host: string; current?: number; volumes: { name: string; path: string; processes?: string[]; source: string; mounted: boolean; exists: boolean }[]; unmounted: string[] }

beforeAll(async () => {
  writeFileSync(path.join(example.dir, 'server.js'), SERVER);
  writeFileSync(path.join(example.dir, 'Procfile'), 'web: node server.js\nworker: node -e "setInterval(() => {}, 1000)"\n');
  writeFileSync(path.join(example.dir, 'paas.yml'), 'volumes:\n  data: /app/data\n  jobs: { path: /jobs, processes: [worker] }\nprocesses:\n  worker: 1\n');
  host = await world.addHost('a');
  await deploy('1');
}, 300_000);
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('volumes', () => {
  it('mounts paas.yml volumes into the types that declare them and into one-off containers', async () => {
    expect((await viaNginx(host, app, '/write?text=first')).status).toBe(200);
    expect((await read()).body).toBe('first\n');
    expect(await mountsOf(`paas-${app}.web.1.v1`)).toBe(`paas-${app}.data=/app/data`);
    expect((await mountsOf(`paas-${app}.worker.1.v1`)).split(' ').sort()).toEqual([`paas-${app}.data=/app/data`, `paas-${app}.jobs=/jobs`]);
    // paas run mounts every volume of the release.
    const run = await world.cli(['run', '--app', app, ...world.at(host), '--', 'sh', '-c', 'cat /app/data/notes.txt; echo from-run >> /jobs/run.txt']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('first');
    expect((await onHost('docker', 'exec', `paas-${app}.worker.1.v1`, 'cat', '/jobs/run.txt')).stdout).toBe('from-run');
    const volumes = (await world.cliJson<VolumesJson[]>(['volumes', '--app', app, ...world.at(host)]))[0]!;
    expect(volumes.volumes).toEqual([
      { name: 'data', path: '/app/data', source: 'paas.yml', dockerVolume: `paas-${app}.data`, mounted: true, exists: true },
      { name: 'jobs', path: '/jobs', processes: ['worker'], source: 'paas.yml', dockerVolume: `paas-${app}.jobs`, mounted: true, exists: true },
    ]);
    const releases = await world.cliJson<{ releases: { version: number; volumes?: { name: string }[] }[] }>(['releases', '--app', app, ...world.at(host)]);
    expect(releases.releases[0]!.volumes?.map((v) => v.name)).toEqual(['data', 'jobs']);
    const table = await world.cli(['releases', '--app', app, ...world.at(host)]);
    expect(table.stdout).toContain('volumes data:/app/data, jobs:/jobs (worker)');
  });

  it('keeps the data across a deploy; volumes:add and volumes:remove are releases with zero failed requests', async () => {
    await deploy('2');
    expect((await read()).body).toBe('first\n');
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^notes/, maxDurationMs: 120_000 });
    try {
      const added = await world.cli(['volumes:add', 'cache:/app/cache', '-p', 'web', '--app', app, ...world.at(host)]);
      expect(added.exitCode, added.stderr).toBe(0);
      expect(added.stdout).toMatch(/cache +\/app\/cache +web +volumes:add +mounted by v3/);
    } finally {
      const report = await load.stop();
      console.log(`volumes:add under load: ${formatLoadReport(report)}`);
      expect(report.failed).toBe(0);
      expect(report.ok).toBeGreaterThan(50);
    }
    expect(await mountsOf(`paas-${app}.web.1.v3`)).toContain(`paas-${app}.cache=/app/cache`);
    expect(await mountsOf(`paas-${app}.worker.1.v3`)).not.toContain('cache');
    await onHost('docker', 'exec', `paas-${app}.web.1.v3`, 'sh', '-c', 'echo cached > /app/cache/c.txt');
    // A deploy keeps the volume added on the host.
    await deploy('3');
    expect((await read('/app/cache/c.txt')).body).toBe('cached\n');
  });

  it('refuses bad input before anything changes', async () => {
    const before = await stateJson();
    for (const [argument, message] of [
      ['cache:/elsewhere', 'already has the volume cache'],
      ['data:/srv/data', 'clashes with data (/srv/data)'],
      ['other:/app/data', 'clashes with other (/app/data)'],
      ['x:/etc', 'would hide a system directory'],
      ['x:relative', 'must be absolute'],
      ['X:/x', 'is not a valid volume name'],
      ['x:/x/../../etc', '".." parts'],
    ] as const) {
      const result = await world.cli(['volumes:add', argument, '--app', app, ...world.at(host)]);
      expect(result.exitCode, `${argument}: ${result.stderr}`).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
    const unknownType = await world.cli(['volumes:add', 'x:/x', '-p', 'wrker', '--app', app, ...world.at(host)]);
    expect(unknownType.stderr).toContain('has no process type wrker');
    const fromConfig = await world.cli(['volumes:remove', 'data', '--app', app, ...world.at(host)]);
    expect(fromConfig.stderr).toContain('the volume data comes from paas.yml');
    expect(await stateJson()).toBe(before);
  });

  it('keeps the data across a rollback and a host restart', async () => {
    const rolledBack = await world.cli(['rollback', '--app', app, ...world.at(host), '--json']);
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
    expect((await read()).body).toBe('first\n');
    // The volume added on the host stays mounted by the rolled-back release.
    expect((await read('/app/cache/c.txt')).body).toBe('cached\n');
    const restarted = await execa('docker', ['restart', '--time', '5', host.container], { reject: false });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const deadline = Date.now() + 120_000;
    let answer = await read();
    while (answer.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await read();
    }
    expect(answer.body).toBe('first\n');
  });

  it('volumes:backup and volumes:restore: the files as they were, the processes restarted', async () => {
    const backup = await world.cli(['volumes:backup', 'data', '--app', app, ...world.at(host), '--json']);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const { id } = JSON.parse(backup.stdout) as { id: string };
    expect((await viaNginx(host, app, '/write?text=after-backup')).status).toBe(200);
    expect((await read()).body).toBe('first\nafter-backup\n');
    const listed = await world.cli(['volumes:backups', 'data', '--app', app, ...world.at(host)]);
    expect(listed.stdout).toContain(id);
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /^notes/, maxDurationMs: 120_000 });
    try {
      const restored = await world.cli(['volumes:restore', 'data', '--app', app, ...world.at(host)]);
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(restored.stdout).toContain(`restored backup ${id}; restarted`);
    } finally {
      const report = await load.stop();
      console.log(`volumes:restore under load: ${formatLoadReport(report)}`);
      expect(report.failed).toBe(0);
    }
    expect((await read()).body).toBe('first\n');
    // Encrypted at rest: not even the file names are in the backup.
    expect((await onHost('sh', '-c', `grep -r -l -a notes.txt /var/lib/paas/backups/volumes/${app} || true`)).stdout.trim()).toBe('');
  });

  it('volumes:remove unmounts and keeps the data; apps:destroy keeps volumes unless --volumes', async () => {
    const removed = await world.cli(['volumes:remove', 'cache', '--app', app, ...world.at(host), '--json']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const view = (JSON.parse(removed.stdout) as VolumesJson[])[0]!;
    expect(view.volumes.map((v) => v.name)).toEqual(['data', 'jobs']);
    expect(view.unmounted).toEqual([`paas-${app}.cache`]);
    expect((await read('/app/cache/c.txt')).body).toBe('ENOENT');

    const destroyed = await world.cli(['apps:destroy', app, '--confirm', app, ...world.at(host)]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain(`kept the volume(s) paas-${app}.cache, paas-${app}.data, paas-${app}.jobs`);
    await deploy('4');
    expect((await read()).body).toBe('first\n');
    const gone = await world.cli(['apps:destroy', app, '--confirm', app, '--volumes', ...world.at(host)]);
    expect(gone.exitCode, gone.stderr).toBe(0);
    const left = await onHost('docker', 'volume', 'ls', '--quiet', '--filter', `label=paas.app=${app}`);
    expect(left.stdout.trim()).toBe('');
  });
});
