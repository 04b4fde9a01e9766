/**
 * What a pushing key, an app's config or a hostile tree could do to a host as root, and what a
 * crashed or racing agent could leave, each tried on a sandbox host the way an audit found it
 * (see docs/security.md): symlinks in a pushed tree, config vars in the agent's environment,
 * container names that meet across apps, a site nginx never loaded, unbounded builds, one
 * network per app, names under the base domain, build files served by a static app, multibyte
 * output, images of failed attempts.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';
import { onHost, waitLockFree } from './faults.js';

const world = testWorld('harden');
let host: TestHost;

const keyFile = () => path.join(world.dir, 'pusher');
const sshArgs = () => ['-i', keyFile(), '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${path.join(world.env.PAAS_HOME!, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
const gitIn = (dir: string) => (args: string[]) => execa('git', args, {
  cwd: dir, reject: false, extendEnv: true,
  env: { ...world.env, GIT_SSH_COMMAND: ['ssh', ...sshArgs()].join(' '), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test' },
});

/** A static example in a git repository with the `paas` remote of `app`, ready to push. */
async function pushable(app: string) {
  const example = copyExample('static');
  const git = gitIn(example.dir);
  await git(['init', '-q', '-b', 'main']);
  const remote = await world.cliJson<{ url: string }>(['git:remote', example.dir, '--app', app, ...world.at(host)]);
  expect(remote.url).toContain(app);
  const commitAndPush = async (message: string) => {
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', message]);
    return git(['push', 'paas', 'main']);
  };
  return { ...example, git, commitAndPush };
}

/** Files the hostile trees tried to make as root (their links point at /root/paas-planted-*). */
const planted = async () => (await onHost(host, 'find', '/', '-xdev', '-name', 'paas-planted-*')).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  host = await world.addHost('a');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pusher', '-f', keyFile()]);
  expect((await world.cli(['keys:add', 'pusher', `${keyFile()}.pub`, ...world.at(host)])).exitCode).toBe(0);
  // The host cannot pull: it gets the static template's base image from here.
  const example = copyExample('static');
  const setup = await world.cli(['host:setup', '--images', ...world.at(host), '--public-port', String(host.httpPort)], {}, example.dir);
  expect(setup.exitCode, setup.stderr).toBe(0);
  example.cleanup();
});
afterAll(async () => {
  await world.cleanup();
});

describe('a pushed tree cannot write or read outside the app', () => {
  it('links to /root in .paas/ and elsewhere: nothing is written there, the links are left out and named, the push deploys', async () => {
    const repo = await pushable('linky');
    try {
      const authorizedKeys = (await onHost(host, 'sha256sum', '/root/.ssh/authorized_keys')).stdout;
      mkdirSync(path.join(repo.dir, '.paas'), { recursive: true });
      symlinkSync('/root/paas-planted-dockerfile', path.join(repo.dir, '.paas', 'Dockerfile'));
      symlinkSync('/root/paas-planted-image-id', path.join(repo.dir, '.paas', 'image-id'));
      symlinkSync('/root/.ssh/authorized_keys', path.join(repo.dir, 'keys.txt'));
      symlinkSync('/etc/shadow', path.join(repo.dir, 'shadow.html'));
      symlinkSync('index.html', path.join(repo.dir, 'home.html')); // inside: kept
      const push = await repo.commitAndPush('links out');
      expect(push.exitCode, push.stderr.slice(-2000)).toBe(0);
      expect(push.stderr).toMatch(/left out 2 symbolic link\(s\) that lead outside the app: (keys\.txt, shadow\.html|shadow\.html, keys\.txt)/);
      expect(await planted()).toEqual([]);
      expect((await onHost(host, 'sha256sum', '/root/.ssh/authorized_keys')).stdout).toBe(authorizedKeys);
      expect((await viaNginx(host, 'linky', '/shadow.html')).status).toBe(404);
      expect((await viaNginx(host, 'linky', '/keys.txt')).status).toBe(404);
      expect((await viaNginx(host, 'linky', '/home.html')).body).toContain('paas static');
      // Nothing of the build is left on the host.
      expect((await onHost(host, 'ls', '-A', '/var/lib/paas/builds')).stdout.trim()).toBe('');
    } finally {
      repo.cleanup();
    }
  });

  it('a .dockerignore that is a link is refused (its content would be read as root): the push is rejected, nothing is written', async () => {
    const repo = await pushable('ignorelink');
    try {
      symlinkSync('/root/paas-planted-ignore', path.join(repo.dir, '.dockerignore'));
      const push = await repo.commitAndPush('ignore link');
      expect(push.exitCode).not.toBe(0);
      expect(push.stderr).toContain('".dockerignore" must be a regular file');
      expect(push.stderr).toMatch(/pre-receive hook declined/);
      expect(await planted()).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });

  it('a static app serves none of paas\'s build files (.paas/Dockerfile, .dockerignore), by deploy or by push', async () => {
    const example = copyExample('static');
    try {
      writeFileSync(path.join(example.dir, '.dockerignore'), 'secret.txt\n');
      writeFileSync(path.join(example.dir, 'secret.txt'), 'not to be served\n');
      const deployed = await world.cli(['deploy', example.dir, '--app', 'plain', ...world.at(host)]);
      expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
      for (const file of ['/.paas/Dockerfile', '/.dockerignore', '/secret.txt']) {
        expect((await viaNginx(host, 'plain', file)).status, `deploy: ${file}`).toBe(404);
      }
      expect((await viaNginx(host, 'linky', '/.paas/Dockerfile')).status).toBe(404);
      expect((await viaNginx(host, 'linky', '/.dockerignore')).status).toBe(404);
    } finally {
      example.cleanup();
    }
  });
});

describe('app config reaches only the containers', () => {
  it('PATH, LD_PRELOAD, DOCKER_HOST and DOCKER_CONFIG as config vars: the app gets them, the agent\'s docker never', async () => {
    const example = copyExample('node');
    try {
      const deploy = () => world.cli(['deploy', example.dir, '--app', 'envy', ...world.at(host)]);
      expect((await deploy()).exitCode).toBe(0);
      const hostile = ['DOCKER_HOST=tcp://127.0.0.1:1', 'DOCKER_CONFIG=/nonexistent', 'LD_PRELOAD=/nonexistent/evil.so', 'PATH=/app/bin:/usr/local/bin:/usr/bin:/bin'];
      const set = await world.cli(['config:set', ...hostile, '--app', 'envy', ...world.at(host)]);
      expect(set.exitCode, set.stderr.slice(-2000)).toBe(0);
      expect((await viaNginx(host, 'envy', '/env/PATH')).body).toBe('/app/bin:/usr/local/bin:/usr/bin:/bin');
      expect((await viaNginx(host, 'envy', '/env/DOCKER_HOST')).body).toBe('tcp://127.0.0.1:1');
      // Later deploys still reach the engine (a docker CLI with DOCKER_HOST from the app would not).
      const again = await deploy();
      expect(again.exitCode, again.stderr.slice(-2000)).toBe(0);
      // A PATH the app cannot live with fails the app, clearly, not paas (it was `spawn docker ENOENT`).
      const broken = await world.cli(['config:set', 'PATH=/nonexistent', '--app', 'envy', ...world.at(host)]);
      expect(broken.exitCode).toBe(11);
      expect(broken.stderr).toMatch(/cannot start its command: "node": executable file not found/);
      expect(broken.stderr).not.toContain('spawn docker');
      expect((await viaNginx(host, 'envy', '/env/PATH')).body).toBe('/app/bin:/usr/local/bin:/usr/bin:/bin');
      expect((await world.cli(['config:unset', 'PATH', 'LD_PRELOAD', 'DOCKER_HOST', 'DOCKER_CONFIG', '--app', 'envy', ...world.at(host)])).exitCode).toBe(0);
    } finally {
      await world.cli(['apps:destroy', 'envy', '--confirm', 'envy', ...world.at(host)]);
      example.cleanup();
    }
  });
});

describe('apps cannot touch each other', () => {
  it('`shop` with a type admin-web and `shop-admin` with web get different containers; shop\'s failed deploy leaves shop-admin serving', async () => {
    const admin = copyExample('node');
    const shop = copyExample('node');
    try {
      writeFileSync(path.join(shop.dir, 'Procfile'), 'web: node server.js\nadmin-web: node server.js\n');
      writeFileSync(path.join(shop.dir, 'paas.yml'), 'processes:\n  admin-web: 1\n');
      expect((await world.cli(['deploy', admin.dir, '--app', 'shop-admin', ...world.at(host)])).exitCode).toBe(0);
      expect((await world.cli(['deploy', shop.dir, '--app', 'shop', ...world.at(host)])).exitCode).toBe(0);
      const names = (await onHost(host, 'docker', 'ps', '--format', '{{.Names}}')).stdout.split('\n');
      expect(names).toEqual(expect.arrayContaining(['paas-shop.admin-web.1.v1', 'paas-shop-admin.web.1.v1', 'paas-shop.web.1.v1']));
      const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: 'shop-admin.localhost', expectBody: /Hello from the node example/ });
      // A release of shop whose processes die at once: its rollout fails and cleans up after itself.
      writeFileSync(path.join(shop.dir, 'Procfile'), 'web: node -e "process.exit(3)"\nadmin-web: node -e "process.exit(3)"\n');
      const failed = await world.cli(['deploy', shop.dir, '--app', 'shop', ...world.at(host)]);
      const report = await load.stop();
      expect(failed.exitCode).toBe(11);
      expect(report.failed, formatLoadReport(report)).toBe(0);
      expect((await viaNginx(host, 'shop-admin')).status).toBe(200);
      expect((await onHost(host, 'docker', 'ps', '--format', '{{.Names}}')).stdout.split('\n')).toContain('paas-shop-admin.web.1.v1');
      // The image of the failed attempt is not kept.
      const shopImages = (await onHost(host, 'docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'paas/shop')).stdout.split('\n').filter((t) => t && !t.includes(':deps-'));
      const kept = (await world.cliJson<{ releases: { image: string }[] }>(['releases', '--app', 'shop', ...world.at(host)])).releases.map((r) => r.image);
      expect(shopImages.sort()).toEqual([...new Set(kept)].sort());
    } finally {
      for (const app of ['shop', 'shop-admin']) await world.cli(['apps:destroy', app, '--confirm', app, ...world.at(host)]);
      admin.cleanup();
      shop.cleanup();
    }
  });

  it('each app has its own network: a container of one app cannot reach another app\'s container; every container has a pids limit', async () => {
    const a = copyExample('node');
    const b = copyExample('node');
    try {
      expect((await world.cli(['deploy', a.dir, '--app', 'net-a', ...world.at(host)])).exitCode).toBe(0);
      expect((await world.cli(['deploy', b.dir, '--app', 'net-b', ...world.at(host)])).exitCode).toBe(0);
      const ipOf = async (name: string, network: string) => (await onHost(host, 'docker', 'inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name)).stdout.trim();
      const bIp = await ipOf('paas-net-b.web.1.v1', 'paas-net-b');
      const aIp = await ipOf('paas-net-a.web.1.v1', 'paas-net-a');
      expect(bIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const probe = (from: string, ip: string) => onHost(host, 'docker', 'exec', from, 'node', '-e',
        `const s = require('net').connect(8080, '${ip}'); s.on('connect', () => { console.log('connected'); process.exit(0); }); s.on('error', (e) => { console.log(e.code); process.exit(1); }); setTimeout(() => { console.log('timeout'); process.exit(1); }, 3000);`);
      expect((await probe('paas-net-a.web.1.v1', aIp)).stdout.trim()).toBe('connected'); // its own network works
      const across = await probe('paas-net-a.web.1.v1', bIp);
      expect(across.stdout.trim(), 'net-a reached net-b directly').not.toBe('connected');
      const pids = (await onHost(host, 'docker', 'inspect', '--format', '{{.HostConfig.PidsLimit}}', 'paas-net-a.web.1.v1')).stdout.trim();
      expect(pids).toBe('4096');
    } finally {
      for (const app of ['net-a', 'net-b']) await world.cli(['apps:destroy', app, '--confirm', app, ...world.at(host)]);
      a.cleanup();
      b.cleanup();
    }
  });

  it('two apps claiming one domain at once: exactly one gets it, the other is refused naming it', async () => {
    const one = copyExample('static');
    const two = copyExample('static');
    try {
      for (const dir of [one.dir, two.dir]) writeFileSync(path.join(dir, 'paas.yml'), 'domains: [contested.example.com]\n');
      const [r1, r2] = await Promise.all([
        world.cli(['deploy', one.dir, '--app', 'claim-one', ...world.at(host)]),
        world.cli(['deploy', two.dir, '--app', 'claim-two', ...world.at(host)]),
      ]);
      expect([r1.exitCode, r2.exitCode].sort()).toEqual([0, 3]);
      const loser = r1.exitCode === 3 ? r1 : r2;
      expect(loser.stderr).toMatch(/the domain contested\.example\.com is already served by the app claim-(one|two) on this host/);
      const sites = (await onHost(host, 'grep', '^name contested.example.com ', '/var/lib/paas/routes/_sites')).stdout.split('\n').filter(Boolean);
      expect(sites).toHaveLength(1);
      expect(sites[0]).toMatch(/^name contested\.example\.com claim-(one|two) 0 0$/);
    } finally {
      for (const app of ['claim-one', 'claim-two']) await world.cli(['apps:destroy', app, '--confirm', app, ...world.at(host)]);
      one.cleanup();
      two.cleanup();
    }
  });
});

describe('"live" is checked, and everything is bounded', () => {
  it('a sites table nginx never loaded (an agent killed between writing and loading it): the deploy finds out and fixes it', async () => {
    const example = copyExample('static');
    try {
      const deploy = () => world.cli(['deploy', example.dir, '--app', 'unloaded', ...world.at(host)]);
      expect((await deploy()).exitCode).toBe(0);
      // nginx loads a table without the app, then the file gets the app back with no load: nginx does not serve it
      // (the host service loads the table every 10 s: this checks at once).
      // (a table of another generation: nginx's workers parse a table again only when its generation changes)
      const script = 'cd /var/lib/paas/routes && cp _sites /var/tmp/sites && sed -e "/unloaded/d" -e "s/^generation .*/generation test-without-it/" /var/tmp/sites > _sites'
        + ' && curl -sf -H "Host: paas-agent.invalid" http://127.0.0.1/sites && cp /var/tmp/sites _sites';
      expect((await onHost(host, 'sh', '-c', script)).exitCode).toBe(0);
      expect((await viaNginx(host, 'unloaded')).status).toBe(404);
      const again = await deploy();
      expect(again.exitCode, again.stderr.slice(-2000)).toBe(0);
      expect((await viaNginx(host, 'unloaded')).status).toBe(200);
    } finally {
      await world.cli(['apps:destroy', 'unloaded', '--confirm', 'unloaded', ...world.at(host)]);
      example.cleanup();
    }
  });

  it('a build that never ends is stopped at build.timeout; the lock is free and the next deploy works', async () => {
    const example = copyExample('dockerfile');
    try {
      const dockerfile = path.join(example.dir, 'Dockerfile');
      // The part below `# paas:source` builds on the host.
      const original = readFileSync(dockerfile, 'utf8').replace('COPY server.js .', '# paas:source\nCOPY server.js .');
      writeFileSync(dockerfile, `${original.trimEnd()}\nRUN sleep 100000\n`);
      writeFileSync(path.join(example.dir, 'paas.yml'), 'build:\n  timeout: 5s\n');
      const started = Date.now();
      const hung = await world.cli(['deploy', example.dir, '--app', 'hangs', ...world.at(host)]);
      const took = Date.now() - started;
      expect(hung.exitCode).toBe(6);
      expect(hung.stderr).toContain('the build on the host ran longer than 5 s and was stopped');
      expect(took).toBeLessThan(120_000);
      await waitLockFree(host, 'hangs', 10_000);
      expect((await onHost(host, 'ls', '-A', '/var/lib/paas/builds')).stdout.trim()).toBe('');
      writeFileSync(dockerfile, original);
      const ok = await world.cli(['deploy', example.dir, '--app', 'hangs', ...world.at(host)]);
      expect(ok.exitCode, ok.stderr.slice(-2000)).toBe(0);
    } finally {
      await world.cli(['apps:destroy', 'hangs', '--confirm', 'hangs', ...world.at(host)]);
      example.cleanup();
    }
  });

  it('multibyte characters stay whole in `logs -f` and in the host\'s build output', async () => {
    const example = copyExample('node');
    const built = copyExample('dockerfile');
    try {
      const dockerfile = path.join(built.dir, 'Dockerfile');
      writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace('COPY server.js .', '# paas:source\nCOPY server.js .\nRUN echo "ünïcödé ✓ 日本語 🚀"'));
      const buildOutput = await world.cli(['deploy', built.dir, '--app', 'utf-build', ...world.at(host)]);
      expect(buildOutput.exitCode, buildOutput.stderr.slice(-2000)).toBe(0);
      expect(buildOutput.stderr).toContain('RUN echo "ünïcödé ✓ 日本語 🚀"');
      expect(buildOutput.stderr).not.toContain('\uFFFD');

      const line = 'héllo wörld ✓ 日本語 🚀';
      writeFileSync(path.join(example.dir, 'Procfile'), `web: node server.js\nworker: node -e "setInterval(() => console.log(${JSON.stringify(line).replace(/"/g, '\\"')}), 20)"\n`);
      writeFileSync(path.join(example.dir, 'paas.yml'), 'processes:\n  worker: 1\n');
      const deployed = await world.cli(['deploy', example.dir, '--app', 'utf', ...world.at(host)]);
      expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
      const follow = execa(process.execPath, [path.join(import.meta.dirname, '..', '..', 'bin', 'run.js'), 'logs', '-f', '-p', 'worker', '--app', 'utf', ...world.at(host)], { env: { ...world.env, NO_COLOR: '1' }, reject: false });
      await new Promise((r) => setTimeout(r, 4000));
      follow.kill('SIGINT');
      const out = String((await follow).stdout);
      const lines = out.split('\n').filter((l) => l.includes('worker.1'));
      expect(lines.length).toBeGreaterThan(20);
      for (const l of lines) expect(l.endsWith(line), `a garbled line: ${JSON.stringify(l)}`).toBe(true);
      expect(out).not.toContain('\uFFFD');
    } finally {
      for (const app of ['utf', 'utf-build']) await world.cli(['apps:destroy', app, '--confirm', app, ...world.at(host)]);
      example.cleanup();
      built.cleanup();
    }
  });
});
