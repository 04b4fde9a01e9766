/**
 * One suite for every kind of host paas supports (docs/host.md): run by one test file per
 * flavour (flavour-*.test.ts), so CI runs them side by side. Each file makes its own sandbox of
 * that kind and shows the same things on it, under load.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

export interface Flavour {
  /** The file's label (sandbox and app names). */
  label: string;
  /** `paas sandbox:up` flags that make the host. */
  sandboxFlags: string[];
  /** What the host's engine must say it is: version prefix, and whether its image store is containerd's. */
  engine: { version: RegExp; containerdStore: boolean; builder: RegExp };
  user: string;
  /** Also show the classic builder: the buildx plugin moved aside, a deploy still builds. */
  classicFallback?: boolean;
}

export function describeFlavour(flavour: Flavour): void {
  const world = testWorld(flavour.label);
  const app = 'web';
  const example = copyExample('node');
  let host: TestHost;
  let version = 1;
  const rows: string[] = [];

  const setVersion = (next: number) => {
    const file = path.join(example.dir, 'server.js');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${next};`));
  };
  const deploy = () => world.cli(['deploy', example.dir, '--app', app, '--json', ...world.at(host)]);
  const sentOf = (stdout: string) => (JSON.parse(stdout) as { hosts: { bytesSent: number }[] }).hosts.reduce((sum, h) => sum + h.bytesSent, 0);
  const load = (expectBody: RegExp) => startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody, maxDurationMs: 300_000 });
  const served = async () => (await viaNginx(host, app)).body;

  beforeAll(async () => {
    host = await world.addHost('a', flavour.sandboxFlags);
  });
  afterAll(async () => {
    console.log([`${flavour.label}:`, ...rows].join('\n'));
    await world.cleanup();
    example.cleanup();
  });

  describe(`a ${flavour.label} host`, () => {
    it('is what it says: its engine, image store and builder, and the SSH user; host:info tells the same', async () => {
      expect(host.url).toMatch(new RegExp(`^ssh://${flavour.user}@`));
      const info = await world.cliJson<{ user: string; sudo: boolean; engine: { version: string; containerdStore: boolean }; builder: string }[]>(['host:info', ...world.at(host)]);
      expect(info[0]!.user).toBe(flavour.user);
      expect(info[0]!.sudo).toBe(flavour.user !== 'root');
      expect(info[0]!.engine.version).toMatch(flavour.engine.version);
      expect(info[0]!.engine.containerdStore).toBe(flavour.engine.containerdStore);
      expect(info[0]!.builder).toMatch(flavour.engine.builder);
      rows.push(`  engine ${info[0]!.engine.version}${info[0]!.engine.containerdStore ? ' (containerd image store)' : ''}, builder ${info[0]!.builder}, SSH as ${info[0]!.user}`);
      if (flavour.user !== 'root') {
        // Root's own login is refused.
        const asRoot = await world.cli(['apps', '--host', host.url.replace(`${flavour.user}@`, 'root@'), '--identity', host.keyPath]);
        expect(asRoot.exitCode).not.toBe(0);
      }
    });

    it('first deploy, then a code-only change sends < 100 KB', async () => {
      const first = await deploy();
      expect(first.exitCode, first.stderr.slice(-3000)).toBe(0);
      expect(await served()).toContain(`version ${version}`);
      // The first deploy leaves a standby agent: wait for its socket, then the warm deploy goes to it.
      let standby = '';
      for (let i = 0; i < 100 && !standby; i += 1) {
        standby = (await execa('docker', ['exec', host.container, 'sh', '-c', 'ls /var/lib/paas/agent/standby-*.sock 2>/dev/null'], { reject: false })).stdout.trim();
        if (!standby) await new Promise((r) => setTimeout(r, 100));
      }
      expect(standby).not.toBe('');
      const owner = (await execa('docker', ['exec', host.container, 'stat', '-c', '%U %a', standby])).stdout.trim();
      expect(owner).toBe(`${flavour.user} 700`);
      version += 1;
      setVersion(version);
      const warm = await deploy();
      expect(warm.exitCode, warm.stderr.slice(-3000)).toBe(0);
      const sent = sentOf(warm.stdout);
      const warmJson = JSON.parse(warm.stdout) as { seconds: { total: number }; hosts: { agent?: string }[] };
      rows.push(`  first deploy ${sentOf(first.stdout)} B sent; code-only change ${sent} B sent in ${warmJson.seconds.total.toFixed(1)} s (${warmJson.hosts[0]!.agent} agent)`);
      expect(warmJson.hosts[0]!.agent).toBe('standby');
      expect(sent).toBeLessThan(100 * 1024);
      expect(await served()).toContain(`version ${version}`);
    });

    if (flavour.classicFallback) it('with the buildx plugin gone, a host build falls back to the classic builder', async () => {
      const plugin = '/usr/libexec/docker/cli-plugins/docker-buildx';
      expect((await execa('docker', ['exec', host.container, 'mv', plugin, '/var/tmp/docker-buildx'], { reject: false })).exitCode).toBe(0);
      try {
        version += 1;
        setVersion(version);
        const result = await deploy();
        expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
        expect(result.stderr).toContain('BuildKit is not available here: building with the classic builder');
        expect(await served()).toContain(`version ${version}`);
        // A Dockerfile whose host part only BuildKit builds: a clear refusal, the release serving stays.
        const dockerfile = path.join(example.dir, 'Dockerfile');
        writeFileSync(dockerfile, 'FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\n# paas:source\nCOPY . .\nRUN --mount=type=tmpfs,target=/scratch true\nCMD ["node", "server.js"]\n');
        try {
          const refused = await deploy();
          expect(refused.exitCode).not.toBe(0);
          expect(refused.stderr).toContain('the Dockerfile needs BuildKit');
          // --json: the error and its hint are the JSON document on stdout.
          expect(refused.stdout, refused.stderr.slice(-1500)).toContain('apt-get install docker-buildx');
          expect(await served()).toContain(`version ${version}`);
        } finally {
          rmSync(dockerfile, { force: true });
        }
      } finally {
        await execa('docker', ['exec', host.container, 'mv', '/var/tmp/docker-buildx', plugin]);
      }
    });

    it('5 rollouts under constant load: 0 failed requests; then a rollback, also under load', async () => {
      const traffic = load(/Hello from the node example, version \d+/);
      for (let i = 0; i < 5; i += 1) {
        version += 1;
        setVersion(version);
        const result = await deploy();
        expect(result.exitCode, result.stderr.slice(-3000)).toBe(0);
      }
      const rollback = await world.cli(['rollback', '--app', app, ...world.at(host)]);
      expect(rollback.exitCode, rollback.stderr.slice(-2000)).toBe(0);
      const report = await traffic.stop();
      rows.push(`  5 rollouts and a rollback under load: ${formatLoadReport(report)}`);
      expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
      expect(report.sent).toBeGreaterThan(100);
      expect(await served()).toContain(`version ${version - 1}`);
    });

    it('a release that fails its health check keeps the old one serving', async () => {
      const before = await served();
      const procfile = path.join(example.dir, 'Procfile');
      writeFileSync(procfile, 'web: sh -c "echo cannot start >&2; exit 3"\n');
      try {
        const traffic = load(/Hello from the node example/);
        const failed = await deploy();
        const report = await traffic.stop();
        expect(failed.exitCode).toBe(11);
        expect(report.failed).toBe(0);
        expect(await served()).toBe(before);
      } finally {
        writeFileSync(procfile, 'web: node server.js\n');
      }
    });

    it('config:set reaches the app, and run runs a one-off command in its image', async () => {
      const set = await world.cli(['config:set', 'GREETING=hello from config', '--app', app, ...world.at(host)]);
      expect(set.exitCode, set.stderr.slice(-2000)).toBe(0);
      expect((await viaNginx(host, app, '/env/GREETING')).body).toBe('hello from config');
      const run = await world.cli(['run', '--app', app, ...world.at(host), '--', 'node', '-e', 'console.log(6 * 7, process.env.GREETING)']);
      expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
      expect(run.stdout).toContain('42 hello from config');
    });

    it('git push paas main deploys', async () => {
      const key = path.join(world.dir, 'pusher');
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      expect((await world.cli(['keys:add', 'pusher', `${key}.pub`, ...world.at(host)])).exitCode).toBe(0);
      const env = {
        ...process.env, ...world.env,
        GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${path.join(world.env.PAAS_HOME!, 'known_hosts')} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
        GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test',
      };
      const git = (...args: string[]) => execa('git', args, { cwd: example.dir, env, reject: false });
      version += 1;
      setVersion(version);
      await git('init', '-q', '-b', 'main');
      await git('add', '-A');
      expect((await git('commit', '-q', '-m', `v${version}`)).exitCode).toBe(0);
      const remote = await world.cli(['git:remote', example.dir, '--app', app, ...world.at(host)]);
      expect(remote.exitCode, remote.stderr).toBe(0);
      const images = await world.cli(['host:setup', '--images', ...world.at(host), '--public-port', String(host.httpPort)], {}, example.dir);
      expect(images.exitCode, images.stderr.slice(-2000)).toBe(0);
      const push = await git('push', 'paas', 'main');
      expect(push.exitCode, push.stderr.slice(-3000)).toBe(0);
      expect(push.stderr).toMatch(/remote: paas: web v\d+ is live/);
      expect(await served()).toContain(`version ${version}`);
    });
  });
}
