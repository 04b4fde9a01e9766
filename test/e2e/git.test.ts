import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';

const world = testWorld('git');
const app = 'pushed';
const example = copyExample('static');
let host: TestHost;
const keys = { pusher: path.join(world.dir, 'pusher'), stranger: path.join(world.dir, 'stranger') };

const sshArgs = (key: string) => ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${path.join(world.env.PAAS_HOME!, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
const gitEnv = (key: string) => ({ ...world.env, GIT_SSH_COMMAND: ['ssh', ...sshArgs(key)].join(' '), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test' });
const git = (args: string[], key = keys.pusher) => execa('git', args, { cwd: example.dir, env: gitEnv(key), reject: false, extendEnv: true });
/** ssh as the git user, with a command (or none: a login shell is asked for). */
const sshGit = (key: string, ...command: string[]) => execa('ssh', [...sshArgs(key), '-p', String(host.sshPort), 'paas@127.0.0.1', ...command], { reject: false, env: world.env });
const setVersion = (version: number) => {
  const file = path.join(example.dir, 'index.html');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/version \d+/, `version ${version}`));
};
const commit = async (message: string) => {
  await git(['add', '-A']);
  expect((await git(['commit', '-q', '-m', message])).exitCode).toBe(0);
};
const remoteMain = async () => (await git(['ls-remote', 'paas', 'refs/heads/main'])).stdout.split('\t')[0];

beforeAll(async () => {
  host = await world.addHost('a');
  for (const key of Object.values(keys)) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(key), '-f', key]);
  await git(['init', '-q', '-b', 'main']);
  await commit('v1');
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('git push paas main', () => {
  it('deploys an example pushed with an added key', async () => {
    const added = await world.cliJson<{ name: string; fingerprint: string }[]>(['keys:add', 'pusher', `${keys.pusher}.pub`, ...world.at(host)]);
    const fingerprint = (await execa('ssh-keygen', ['-lf', `${keys.pusher}.pub`])).stdout.split(' ')[1];
    expect(added).toEqual([expect.objectContaining({ name: 'pusher', fingerprint })]);
    const listed = await world.cliJson<{ keys: { name: string }[] }[]>(['keys', ...world.at(host)]);
    expect(listed[0]!.keys.map((k) => k.name)).toEqual(['pusher']);

    const remote = await world.cliJson<{ url: string }>(['git:remote', example.dir, '--app', app, ...world.at(host)]);
    expect(remote.url).toBe(`ssh://paas@127.0.0.1:${host.sshPort}/${app}`);
    // The host cannot pull: it gets the static template's base image from here.
    const setup = await world.cli(['host:setup', '--images', ...world.at(host), '--public-port', String(host.httpPort), '--json'], {}, example.dir);
    expect(setup.exitCode, setup.stderr.slice(-2000)).toBe(0);

    const push = await git(['push', 'paas', 'main']);
    expect(push.exitCode, push.stderr.slice(-3000)).toBe(0);
    expect(push.stderr).toMatch(/remote: paas: pushed v1 is live/);
    expect((await viaNginx(host, app)).body).toContain('Hello from the static example, version 1');
  });

  it('a second push with a code change under constant load: 0 failed requests', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /Hello from the static example, version [12]/, maxDurationMs: 300_000 });
    setVersion(2);
    await commit('v2');
    const push = await git(['push', 'paas', 'main']);
    const report = await load.stop();
    console.log(formatLoadReport(report));
    expect(push.exitCode, push.stderr.slice(-3000)).toBe(0);
    expect(push.stderr).toMatch(/remote: paas: pushed v2 is live/);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.sent).toBeGreaterThan(100);
    expect((await viaNginx(host, app)).body).toContain('version 2');
  });

  it('a push whose app fails its health check is rejected: the ref does not move, the old version serves', async () => {
    const before = await remoteMain();
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: `${app}.localhost`, expectBody: /version 2/, maxDurationMs: 300_000 });
    writeFileSync(path.join(example.dir, 'Procfile'), 'web: sh -c "echo the app cannot start >&2; exit 3"\n');
    setVersion(3);
    await commit('v3 broken');
    const push = await git(['push', 'paas', 'main']);
    const report = await load.stop();
    console.log(formatLoadReport(report));
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('the app cannot start');
    expect(push.stderr).toMatch(/pre-receive hook declined/);
    expect(await remoteMain()).toBe(before);
    expect(report.failed).toBe(0);
    expect((await viaNginx(host, app)).body).toContain('version 2');
  });

  it('other branches are accepted without a deploy', async () => {
    const push = await git(['push', 'paas', 'HEAD:feature']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('paas: feature accepted; only main deploys');
    expect((await viaNginx(host, app)).body).toContain('version 2');
  });

  it('a key not added cannot push; an added key gets no shell, no other command, no other path', async () => {
    const stranger = await git(['push', 'paas', 'main'], keys.stranger);
    expect(stranger.exitCode).not.toBe(0);
    expect(stranger.stderr).toMatch(/Permission denied/);

    const shell = await sshGit(keys.pusher);
    expect(shell.exitCode).not.toBe(0);
    expect(shell.stderr).toContain('no shell here');
    for (const command of ['ls /', 'cat /etc/shadow', "git-receive-pack '../pushed'", "git-receive-pack '/etc/passwd'", "git-receive-pack 'Pushed'",
      "git-receive-pack 'pushed'; touch /tmp/pwned", "git-upload-archive 'pushed'", "scp -t /tmp"]) {
      const result = await sshGit(keys.pusher, command);
      expect(result.exitCode, command).not.toBe(0);
      expect(result.stderr, command).toMatch(/^paas: /m);
    }
    const fetchUnknown = await sshGit(keys.pusher, "git-upload-pack 'nope'");
    expect(fetchUnknown.stderr).toContain('no app nope has been pushed');
    const pwned = await execa('docker', ['exec', host.container, 'test', '-e', '/tmp/pwned'], { reject: false });
    expect(pwned.exitCode).toBe(1);
    // Fetching the app works: the same key may read what it pushed.
    const fetched = await git(['fetch', 'paas', 'main']);
    expect(fetched.exitCode, fetched.stderr).toBe(0);
  });
});
