/**
 * Hostile input, generated, at every entry point: app names, process types, env keys and values,
 * domains, paas.yml, Procfile, package.json, app.json, git paths, refs and trees, and what reaches
 * the agent directly (the deploy session's archive and release spec, other verbs' flags and
 * stdin). Each input must be refused with an error that says what and where, with the exit code
 * of src/errors.ts (ExitCode), and leave the host byte-identical: /var/lib/paas, /etc/nginx and
 * the git user's keys are listed (path, mode, content hash, link target) once everything below is
 * set up, and again after each group of inputs.
 *
 * One sandbox host; the app `owner` is deployed first with a domain of its own and a git
 * repository, so that claims of its names and pushes to its repository can be tried.
 */
import { execa } from 'execa';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote } from '../../src/config/validators.js';
import { ExitCode } from '../../src/errors.js';
import { END_FRAME, encodeFrame } from '../../src/agent/protocol.js';
import { examplesDir } from './helpers.js';
import { hostListing, onHost, waitLockFree } from './faults.js';
import { testWorld, type TestHost } from './hosts.js';

const world = testWorld('hostile');
let host: TestHost;
/** The agent file on the host (agent-<hash>.mjs), found after host:setup. */
let agentFile = '';

const OWNER = 'owner';
const OWNER_DOMAIN = 'taken.example.test';
/** What is listed on the host, and what may change there without any change of state (a standby agent's socket). */
const LISTED = ['/var/lib/paas', '/etc/nginx', '/home/paas/.ssh'];
const UNLISTED = ['/var/lib/paas/agent/standby-*.sock'];
let listing = '';

// ---------------------------------------------------------------------------------------------
// Cases, their outcomes and the tally

interface Outcome {
  code: number;
  /** Everything the refusal said: stderr and stdout of the CLI, the agent's error line. */
  text: string;
}

interface Case {
  category: string;
  /** The hostile input, as shown in the report. */
  input: string;
  run: () => Promise<Outcome>;
  /** The documented exit code the refusal must have. */
  code: number;
  /** What the message must say (each one): the input or its key, and where. */
  says: (string | RegExp)[];
}

const tally = new Map<string, { tried: number; refused: number; ms: number; slowest: number }>();

/** Runs the cases, `parallel` at a time; returns the ones not refused as they must be. */
async function refuseAll(cases: Case[], parallel = 3): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < cases.length) {
      const item = cases[next++]!;
      const counts = tally.get(item.category) ?? { tried: 0, refused: 0, ms: 0, slowest: 0 };
      tally.set(item.category, counts);
      counts.tried += 1;
      const started = Date.now();
      const outcome = await item.run();
      const ms = Date.now() - started;
      counts.ms += ms;
      counts.slowest = Math.max(counts.slowest, ms);
      const missing = item.says.filter((s) => (typeof s === 'string' ? !outcome.text.includes(s) : !s.test(outcome.text)));
      if (outcome.code === item.code && missing.length === 0) {
        counts.refused += 1;
      } else {
        failures.push(`${item.category}: ${quote(item.input, 80)}: exit ${outcome.code} (expected ${item.code})${missing.length ? `, missing ${missing.map(String).join(' | ')}` : ''}\n    ${outcome.text.slice(0, 600).replace(/\n/g, '\n    ')}`);
      }
    }
  }));
  return failures;
}

/** Refuses every case, then checks the host is as it was. */
async function expectRefused(cases: Case[], parallel?: number): Promise<void> {
  const failures = await refuseAll(cases, parallel);
  expect(failures, failures.join('\n')).toEqual([]);
  await expectHostUnchanged();
}

async function expectHostUnchanged(): Promise<void> {
  const now = await hostListing(host, LISTED, UNLISTED);
  if (now !== listing) {
    const before = new Set(listing.split('\n'));
    const after = new Set(now.split('\n'));
    const diff = [...[...before].filter((l) => !after.has(l)).map((l) => `- ${l}`), ...[...after].filter((l) => !before.has(l)).map((l) => `+ ${l}`)];
    expect(diff, 'the host changed').toEqual([]);
  }
  const builds = await onHost(host, 'ls', '-A', '/var/lib/paas/builds');
  expect(builds.stdout.trim(), 'nothing left in /var/lib/paas/builds').toBe('');
}

// ---------------------------------------------------------------------------------------------
// How inputs reach paas

/**
 * The built CLI, as a user runs it. NODE_ENV=production: vitest sets NODE_ENV=test, which makes
 * oclif look for the TypeScript sources and try to register tsx and ts-node before it falls back
 * to dist/ (twice the start-up time of each command, for nothing).
 */
const cli = async (args: string[], cwd?: string): Promise<Outcome> => {
  const result = await world.cli(args, { NODE_ENV: 'production' }, cwd);
  return { code: result.exitCode, text: `${result.stderr}\n${result.stdout}` };
};

/** One agent verb run by hand on the host (as the CLI runs it over SSH): its last JSON line is the answer. */
async function agent(args: string[], input: string | Buffer = ''): Promise<Outcome> {
  const result = await execa('docker', ['exec', '-i', host.container, 'node', agentFile, ...args], { reject: false, input, stripFinalNewline: false });
  const lines = String(result.stdout).split('\n').filter(Boolean);
  const last = lines.at(-1) ?? '';
  let answer: { type?: string; kind?: string; message?: string; where?: string; details?: string[] } = {};
  try {
    answer = JSON.parse(last) as typeof answer;
  } catch {
    // not JSON: shown as it is
  }
  // A refusal is the agent's {"type":"error"} line, with the kind the exit code says.
  const code = answer.type === 'error' && ExitCode[answer.kind as keyof typeof ExitCode] === result.exitCode ? result.exitCode ?? -1 : -(result.exitCode ?? 1);
  const said = [answer.kind ? `kind ${answer.kind}` : '', answer.where ?? '', answer.message ?? '', ...(answer.details ?? [])].join('\n');
  return { code, text: `${said}\n${answer.type === 'error' ? '' : last.slice(0, 300)}` };
}

/** The scratch directory of one generated app: a copy of an example with some files replaced. */
let appCount = 0;
function appWith(example: string, files: Record<string, string | Buffer>): string {
  appCount += 1;
  const dir = path.join(world.dir, 'apps', `${example}-${appCount}`, 'app');
  mkdirSync(path.dirname(dir), { recursive: true });
  cpSync(path.join(examplesDir, example), dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

const deployOf = (dir: string, app = 'hostile') => () => cli(['deploy', dir, '--app', app, ...world.at(host)]);

// ---------------------------------------------------------------------------------------------
// Archives and the deploy session

interface Entry { name: string; type?: tarStream.Header['type']; linkname?: string; body?: string; devmajor?: number; devminor?: number }

async function tar(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => { chunks.push(chunk as Buffer); });
  const ended = new Promise<void>((resolve) => { pack.on('end', () => resolve()); });
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      // Files get their body; the other types have none.
      if ((header.type ?? 'file') === 'file') pack.entry(header, body ?? '', done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** One ustar header, written by hand: for sizes no body is sent for, and for many entries fast. */
function rawHeader(name: string, size: number, typeflag = '0'): Buffer {
  const header = Buffer.alloc(512);
  const octal = (n: number, length: number) => `${n.toString(8).padStart(length - 1, '0')}\0`;
  header.write(name, 0, 100, 'ascii');
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write(' '.repeat(8), 148);
  header.write(typeflag, 156);
  header.write('ustar\u000000', 257);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

const DOCKERFILE: Entry = { name: '.paas/Dockerfile', body: 'FROM scratch\nCOPY . /app/\n' };
let sessions = 0;
/** A deploy session of an app of its own (its own lock), as the CLI opens one. */
/** A deploy session of a new app `hostile-N`; `input` may depend on the app's name (its own image tag). */
function deploySession(input: Buffer | ((app: string) => Buffer)): Promise<Outcome> {
  sessions += 1;
  const app = `hostile-${sessions}`;
  return agent(['deploy', '--app', app, '--by', 'me', '--command', 'test', '--wait', '0'], typeof input === 'function' ? input(app) : input);
}
/** The build line of the session's own image tag. */
const ownBuild = (app: string) => buildLine(`paas/${app}:t1`);
const buildLine = (tag: string, extra: Record<string, unknown> = {}) => `${JSON.stringify({ build: { tag, requires: [], dockerfile: '.paas/Dockerfile', buildArgs: {}, ...extra } })}\n`;
/** The build request and the archive in frames (host/frames.ts), then the end frame. */
const framed = (line: string, archive: Buffer) => Buffer.concat([Buffer.from(line), ...encodeFrame(archive), END_FRAME]);

/** A scheduled task of a release spec the agent would take but for `change`. */
const cronTask = (change: Record<string, unknown> = {}) => ({
  id: 'report', schedule: '@daily', command: 'report', concurrencyPolicy: 'allow', maintenance: false, source: 'paas.yml cron.report', ...change,
});

/** A release spec the agent would take but for `change`. */
function releaseSpec(app: string, change: Record<string, unknown>): Record<string, unknown> {
  return {
    app, version: 1, image: `paas/${app}:t1`, imageId: '', processes: { web: 'node server.js' }, formation: { web: 1 }, port: 5000,
    domains: [], balance: 'round_robin', env: {}, description: 'hostile', createdBy: 'me', keepReleases: 5, drainMs: 1000, stopTimeoutSeconds: 10,
    ...change,
  };
}

// ---------------------------------------------------------------------------------------------
// git

const pusherKey = path.join(world.dir, 'pusher');
const repoDir = path.join(world.dir, 'repo');
const sshCommand = () => ['ssh', '-i', pusherKey, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${path.join(world.env.PAAS_HOME!, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'].join(' ');
const git = (args: string[], input?: string | Buffer) => execa('git', args, {
  cwd: repoDir, reject: false, ...(input !== undefined ? { input } : {}),
  env: { ...world.env, GIT_SSH_COMMAND: sshCommand(), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test' },
});
const gitOut = async (args: string[], input?: string | Buffer) => {
  const result = await git(args, input);
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return String(result.stdout).trim();
};
const remote = (repoPath: string) => `ssh://paas@127.0.0.1:${host.sshPort}${repoPath}`;
const pushOutcome = async (args: string[]): Promise<Outcome> => {
  const result = await git(['push', ...args]);
  return { code: result.exitCode === 0 ? 0 : 1, text: String(result.stderr) };
};

/** A commit whose tree holds one entry named `name` (written with --literally: git itself would refuse it). */
async function commitWithEntry(name: string, mode = '100644'): Promise<string> {
  // A file's entry names a blob, a directory's a tree (the empty one): a well-formed pack but for the name.
  const target = mode === '40000'
    ? await gitOut(['hash-object', '-t', 'tree', '-w', '--stdin'], '')
    : await gitOut(['hash-object', '-w', '--stdin'], 'hostile\n');
  const tree = Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(target, 'hex')]);
  const sha = await gitOut(['hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], tree);
  // A child of the remote's main: the push is a fast-forward, and only the host's fsck can refuse it.
  return gitOut(['commit-tree', sha, '-p', 'HEAD', '-m', `entry ${name}`]);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  host = await world.addHost('a');
  agentFile = (await onHost(host, 'sh', '-c', 'ls /var/lib/paas/agent/agent-*.mjs')).stdout.trim();
  expect(agentFile).toMatch(/^\/var\/lib\/paas\/agent\/agent-[0-9a-f]+\.mjs$/);
  // The app whose names, domain and repository others try to take.
  const owner = appWith('static', { 'paas.yml': `domains: [${OWNER_DOMAIN}]\n` });
  const deployed = await world.cli(['deploy', owner, '--app', OWNER, ...world.at(host)]);
  expect(deployed.exitCode, deployed.stderr.slice(-2000)).toBe(0);
  // A key that may push, and the owner's repository with a main branch (put there on the host: a push of main would build).
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pusher', '-f', pusherKey]);
  const added = await world.cli(['keys:add', 'pusher', `${pusherKey}.pub`, ...world.at(host)]);
  expect(added.exitCode, added.stderr).toBe(0);
  mkdirSync(repoDir);
  await gitOut(['init', '-q', '-b', 'main']);
  writeFileSync(path.join(repoDir, 'index.html'), '<p>hostile</p>\n');
  await gitOut(['add', '-A']);
  await gitOut(['commit', '-q', '-m', 'v1']);
  await gitOut(['remote', 'add', 'paas', remote(`/${OWNER}`)]);
  const feature = await git(['push', 'paas', 'main:feature']);
  expect(feature.exitCode, String(feature.stderr)).toBe(0);
  const main = await onHost(host, 'git', '--git-dir', `/var/lib/paas/git/${OWNER}.git`, 'update-ref', 'refs/heads/main', 'refs/heads/feature');
  expect(main.exitCode, main.stderr).toBe(0);
  await waitLockFree(host, OWNER);
  listing = await hostListing(host, LISTED, UNLISTED);
  expect(listing).toContain(`/var/lib/paas/apps/${OWNER}/state.json`);
});

afterAll(async () => {
  const rows = [...tally.entries()].map(([category, { tried, refused, ms, slowest }]) => `  ${category.padEnd(38)} ${String(tried).padStart(5)} ${String(refused).padStart(8)} ${String(Math.round(ms / tried)).padStart(8)} ${String(slowest).padStart(8)}`);
  const tried = [...tally.values()].reduce((sum, c) => sum + c.tried, 0);
  const refused = [...tally.values()].reduce((sum, c) => sum + c.refused, 0);
  console.log(`hostile inputs:\n  ${'category'.padEnd(38)} tried  refused  ms/case  slowest\n${rows.join('\n')}\n  ${'total'.padEnd(38)} ${String(tried).padStart(5)} ${String(refused).padStart(8)}`);
  await world.cleanup();
});

// ---------------------------------------------------------------------------------------------

const APP_NAMES = [
  'Shop', 'my app', '..', '../x', 'a/b', '/etc', 'a;rm -rf /', '$(id)', '`id`', 'a|b', "a'b", '-x', 'a'.repeat(64), '', ' ',
  'café', 'a\nb', 'a_b', '1app', 'app-', 'a.b', '*', 'ａｐｐ',
];

describe('hostile input is refused, and the host stays byte-identical', () => {
  it('app names (--app, and the APP of apps:destroy) of deploy, releases, config:set, domains:add, apps:destroy', async () => {
    const dir = appWith('static', {});
    const commands: [string, (name: string) => string[]][] = [
      ['deploy', (name) => ['deploy', dir, `--app=${name}`, ...world.at(host)]],
      ['releases', (name) => ['releases', `--app=${name}`, ...world.at(host)]],
      ['config:set', (name) => ['config:set', 'A=b', `--app=${name}`, ...world.at(host)]],
      ['domains:add', (name) => ['domains:add', 'x.example.com', `--app=${name}`, ...world.at(host)]],
      // After `--`: a name starting with a dash is the argument, not a flag.
      ['apps:destroy', (name) => ['apps:destroy', `--confirm=${name}`, ...world.at(host), '--', name]],
    ];
    const cases = commands.flatMap(([command, argv]) => APP_NAMES.map((name): Case => ({
      category: `--app of ${command}`,
      input: name,
      run: () => cli(argv(name)),
      code: ExitCode.usage,
      says: name === '' && command !== 'apps:destroy' ? ['which app?'] : [quote(name), 'is not a valid app name'],
    })));
    await expectRefused(cases, 4);
  });

  it('paas.yml: unknown keys, wrong types, bad YAML, an alias bomb, huge values, bad hosts, ports, durations, replicas, env and domains', async () => {
    const big = 'x'.repeat(40_000);
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`), 'env: *i'].join('\n');
    const yml: [string, string][] = [
      // [paas.yml, what the message must say besides paas.yml:LINE:COL]
      ['ap: shop', 'unknown key "ap" (did you mean "app"?)'],
      ['prot: 3000', 'unknown key "prot" (did you mean "port"?)'],
      ['build:\n  dockerfil: Dockerfile', 'build: unknown key "dockerfil"'],
      ['healthcheck:\n  pth: /', 'healthcheck: unknown key "pth"'],
      ['processes:\n  web:\n    replica: 2', 'processes.web: unknown key "replica"'],
      ['__proto__: 1', 'unknown key "__proto__"'],
      ['constructor: {}', 'unknown key "constructor"'],
      ['app: 12', 'app: expected a string, got 12'],
      ['app: [a]', 'app: expected a string, got a list'],
      ['hosts: ssh://root@example.com', 'hosts: expected a list of SSH hosts'],
      ['port: "3000"', 'port: expected a whole number between 1 and 65535, got "3000"'],
      ['port: 3000.5', 'port: expected a whole number'],
      ['port: true', 'port: expected a whole number'],
      ['env: [A]', 'env: expected a map, got a list'],
      ['env:\n  A: {b: 1}', 'env.A: expected a string, number or boolean, got a map'],
      ['domains: a.example.com', 'domains: expected a list of domains'],
      ['processes: [web]', 'processes: expected a map, got a list'],
      ['build: docker', 'build: expected a map, got "docker"'],
      ['healthcheck: 5', 'healthcheck: expected a map, got 5'],
      ['keep_releases: "5"', 'keep_releases: expected a whole number between 1 and 100, got "5"'],
      ['balance: random', 'balance: "random" is not one of'],
      ['balance: 1', 'balance: expected a string, got 1'],
      ['build:\n  stack: cobol', 'build.stack: "cobol" is not one of'],
      ['build:\n  args: [A]', 'build.args: expected a map'],
      ['build:\n  args:\n    1A: x', 'build.args: "1A" is not a valid variable name'],
      ['build:\n  args:\n    A: "a\\0b"', 'build.args.A: the value contains a NUL byte'],
      ['- app\n- shop', 'expected a map of settings'],
      ['hello', 'expected a map of settings'],
      ['app: [', 'paas.yml:'],
      ['app: "unterminated', 'Missing closing "quote'],
      ['app: shop\n  port: 1', 'paas.yml:'],
      ['{', 'paas.yml:'],
      ['env:\n\tA: 1', 'Tabs are not allowed'],
      ['app: @shop', 'paas.yml:'],
      ['app: a\n---\napp: b', 'multiple documents'],
      ['app: a\napp: b', 'Map keys must be unique'],
      ['env:\n  A: 1\n  A: 2', 'Map keys must be unique'],
      [laughs, 'unknown key "a"'],
      ['env: *nope', 'unknown alias *nope'],
      [`app: ${big}`, 'is not a valid app name'],
      [`domains: [${big}.com]`, 'is not a valid hostname: it is 40004 characters long'],
      [`hosts: [${big}]`, 'is not an SSH host'],
      [`env:\n  A: ${'y'.repeat(33_000)}`, 'env.A: the value is 33000 bytes long, at most 32768 are allowed'],
      [`processes:\n  web:\n    command: ${'z'.repeat(16_385)}`, 'processes.web.command: is 16385 characters long'],
      ['hosts: ["ssh://"]', 'is not an SSH host'],
      ['hosts: ["http://example.com"]', '"http://example.com" is not an SSH host'],
      ['hosts: ["ssh://root@example.com:0"]', 'is not an SSH host'],
      ['hosts: ["ssh://root@example.com:70000"]', 'is not an SSH host'],
      ['hosts: ["root@@example.com"]', 'is not an SSH host'],
      ['hosts: ["-oProxyCommand=touch /tmp/pwned"]', 'is not an SSH host'],
      ['hosts: ["example.com;id"]', 'is not an SSH host'],
      ['hosts: ["ssh://ro ot@example.com"]', 'is not an SSH host'],
      ['hosts: ["ssh://[zz]:22"]', 'is not an SSH host'],
      ['hosts: ["ssh://root@example.com/x"]', 'is not an SSH host'],
      ['hosts: [""]', 'is not an SSH host'],
      ['hosts: [22]', 'hosts[0]: expected a string, got 22'],
      ['hosts: [a.example.com, a.example.com]', 'is already listed as hosts[0]'],
      ['port: 0', 'port: expected a whole number between 1 and 65535, got 0'],
      ['port: 70000', 'got 70000'],
      ['port: -1', 'got -1'],
      ['keep_releases: 0', 'keep_releases: expected a whole number between 1 and 100, got 0'],
      ['keep_releases: 101', 'got 101'],
      ['healthcheck:\n  path: health', 'healthcheck.path: "health" must start with "/"'],
      ['healthcheck:\n  path: "/a b"', 'must not contain spaces or control characters'],
      ['healthcheck:\n  path: "/a\\r\\nHost: evil"', 'must not contain spaces or control characters'],
      ['healthcheck:\n  path: http://example.com/', 'must start with "/"'],
      ['healthcheck:\n  path: 1', 'healthcheck.path: expected a string, got 1'],
      ['healthcheck:\n  status: 99', 'healthcheck.status: expected a whole number between 100 and 599'],
      ['healthcheck:\n  status: 600', 'got 600'],
      ['healthcheck:\n  timeout: 0s', 'healthcheck.timeout: "0s" must be more than 0'],
      ['healthcheck:\n  interval: soon', 'healthcheck.interval: "soon" is not a duration'],
      ['healthcheck:\n  successes: 0', 'healthcheck.successes: expected a whole number >= 1'],
      ['build:\n  timeout: 7h', 'build.timeout: "7h" is longer than 6h'],
      ['build:\n  timeout: 0s', 'build.timeout: "0s" must be at least 1s'],
      ['build:\n  timeout: 500ms', 'must be at least 1s'],
      ['build:\n  timeout: -1', 'build.timeout: -1 is not a duration'],
      ['build:\n  timeout: forever', 'is not a duration'],
      ['build:\n  dockerfile: ../Dockerfile', 'points outside the app directory'],
      ['build:\n  dockerfile: /etc/passwd', 'must be a path relative to the app directory'],
      ['processes:\n  web: -1', 'processes.web: expected a whole number >= 0 or a map, got -1'],
      ['processes:\n  web: 101', 'processes.web: 101 replicas, at most 100 per release are allowed'],
      ['processes:\n  web:\n    replicas: 101', 'processes.web.replicas: 101 replicas'],
      ['processes:\n  web: 1.5', 'got 1.5'],
      ['processes:\n  Web: 1', '"Web" is not a valid process type'],
      ['processes:\n  1web: 1', '"1web" is not a valid process type'],
      [`processes:\n  ${'w'.repeat(31)}: 1`, 'is not a valid process type'],
      ['processes:\n  web:\n    memory: 1k', 'processes.web.memory: "1k" is less than 6m'],
      ['processes:\n  web:\n    cpus: 0', 'processes.web.cpus: expected a number of CPUs greater than 0'],
      ['processes:\n  web:\n    command: "  "', 'processes.web.command: must not be empty'],
      ['processes:\n  web:\n    command: "a\\0b"', 'processes.web.command: contains a NUL byte'],
      ['env:\n  1A: x', 'env: "1A" is not a valid variable name'],
      ['env:\n  A-B: x', 'env: "A-B" is not a valid variable name'],
      ['env:\n  "A B": x', 'env: "A B" is not a valid variable name'],
      ['env:\n  "": x', 'env: "" is not a valid variable name'],
      ['env:\n  "A=B": x', 'env: "A=B" is not a valid variable name'],
      ['env:\n  PORT: 1', '"PORT" cannot be set: PORT is set by paas'],
      ['env:\n  PAAS_APP: x', '"PAAS_APP" cannot be set'],
      ['env:\n  PAAS_RELEASE: x', '"PAAS_RELEASE" cannot be set'],
      ['env:\n  PAAS_PROCESS: x', '"PAAS_PROCESS" cannot be set'],
      ['env:\n  A: "a\\0b"', 'env.A: the value contains a NUL byte'],
      ...['localhost', '*.localhost', 'a..b.com', '-a.com', 'a-.com', 'a_b.com', '*.*.a.com', 'a.*.com', 'a.com;', 'a.com{', '1.2.3.4', '::1', '[::1]',
        `${'a'.repeat(250)}.com`, `${'a'.repeat(64)}.com`, 'café.com', 'A.COM', 'a.com.', '.a.com', 'a.com:80', 'a.com/x', 'a com', '$host.com', 'a.123',
        '*.com', '*', '', 'a.com\nserver_name evil.com']
        .map((name): [string, string] => [`domains:\n  - ${JSON.stringify(name)}`, `${quote(name)} is not a valid hostname`]),
      ['domains: [a.example.com, a.example.com]', 'is already listed as domains[0]'],
    ];
    const cases = yml.map(([text, says]): Case => ({
      category: 'paas.yml',
      input: text,
      run: deployOf(appWith('static', { 'paas.yml': `${text}\n` })),
      code: ExitCode.config,
      says: [/paas\.yml:\d+:\d+ /, says],
    }));
    // A file too large to parse (the YAML parser is quadratic in the keys of a map): refused before it is read, naming it.
    const keys = `env:\n${Array.from({ length: 20_000 }, (_, i) => `  K${i}: v\n`).join('')}`;
    cases.push({ category: 'paas.yml', input: `paas.yml of ${keys.length} bytes, 20000 keys`, run: deployOf(appWith('static', { 'paas.yml': keys })), code: ExitCode.config, says: [/paas\.yml: paas\.yml is \d+ bytes long, at most 65536 are allowed/] });
    await expectRefused(cases, 4);
  });

  it('Procfile: invalid process types, more than 20 types, a command too long, empty, NUL bytes', async () => {
    const twentyOne = Array.from({ length: 21 }, (_, i) => `t${i}: run ${i}`).join('\n');
    const procfiles: [string, string][] = [
      ['Web: nginx', '"Web" is not a valid process type'],
      ['we b: nginx', 'malformed Procfile line: "we b: nginx"'],
      ['1web: nginx', '"1web" is not a valid process type'],
      [`${'w'.repeat(31)}: nginx`, `"${'w'.repeat(31)}" is not a valid process type`],
      ['_web: nginx', '"_web" is not a valid process type'],
      ['__proto__: nginx', '"__proto__" is not a valid process type'],
      ['web.1: nginx', 'malformed Procfile line'],
      ['wéb: nginx', 'malformed Procfile line'],
      ['web/x: nginx', 'malformed Procfile line'],
      ['web', 'malformed Procfile line: "web"'],
      [': nginx', 'malformed Procfile line'],
      ['web:', 'process type "web" has an empty command'],
      ['web:    \t', 'process type "web" has an empty command'],
      ['web: a\nweb: b', 'duplicate process type "web" (first defined on line 1)'],
      ['web: a\r\nWorker: b', '"Worker" is not a valid process type'],
      ['\uFEFFWeb: a', '"Web" is not a valid process type'],
      [twentyOne, 'the Procfile defines more than 20 process types'],
      [`web: ${'x'.repeat(16_385)}`, 'the command of process type "web" is 16385 characters long, at most 16384 are allowed'],
      ['web: nginx -g "daemon off;"\0; id', 'the command of process type "web" contains a NUL byte'],
    ];
    const cases = procfiles.map(([text, says]): Case => ({
      category: 'Procfile',
      input: text,
      run: deployOf(appWith('static', { Procfile: `${text}\n` })),
      code: ExitCode.config,
      says: [/Procfile:\d+: /, says],
    }));
    await expectRefused(cases, 4);
  });

  it('package.json and app.json: malformed JSON, wrong types, 1000 web replicas', async () => {
    const packages: [string, string][] = [
      ['{', 'invalid JSON'],
      ['{"name": }', 'invalid JSON'],
      ['{"name": "a",}', 'invalid JSON'],
      ['', 'invalid JSON'],
      ["{'name': 'a'}", 'invalid JSON'],
      ['{"name": "a"} trailing', 'invalid JSON'],
      ['null', 'package.json must hold a JSON object'],
      ['[]', 'package.json must hold a JSON object'],
      ['"a string"', 'package.json must hold a JSON object'],
      ['5', 'package.json must hold a JSON object'],
      ['{"scripts": "node server.js"}', 'package.json scripts must be an object'],
      ['{"scripts": ["node server.js"]}', 'package.json scripts must be an object'],
      ['{"scripts": {"start": 5}}', 'package.json scripts.start must be a string'],
      ['{"scripts": {"build": {"run": "x"}}}', 'package.json scripts.build must be a string'],
      ['{"scripts": {"start": null}}', 'package.json scripts.start must be a string'],
      ['{"main": ["server.js"]}', 'package.json main must be a string'],
    ];
    const appJsons: [string, string][] = [
      ['{', 'invalid JSON'],
      ['{"formation": {"web": {"quantity": 2}},}', 'invalid JSON'],
      ['[]', 'app.json must be a JSON object'],
      ['null', 'app.json must be a JSON object'],
      ['{"formation": []}', 'formation must be an object'],
      ['{"formation": {"web": {"quantity": -1}}}', 'formation.web.quantity must be a whole number, 0 or more'],
      ['{"formation": {"web": {"quantity": 1.5}}}', 'formation.web.quantity must be a whole number, 0 or more'],
      ['{"formation": {"web": {"quantity": "2"}}}', 'formation.web.quantity must be a whole number, 0 or more'],
      ['{"formation": {"web": {"quantity": 1000}}}', 'formation.web.quantity is 1000: at most 100 replicas per release are allowed'],
      ['{"healthchecks": []}', 'healthchecks must be an object'],
      ['{"healthchecks": {"web": {"path": "/"}}}', 'healthchecks.web must be an array of checks'],
      ['{"healthchecks": {"web": [{"path": "health"}]}}', 'healthchecks.web[0].path must be a string starting with "/"'],
      ['{"healthchecks": {"web": [{"path": 5}]}}', 'healthchecks.web[0].path must be a string starting with "/"'],
      ['{"healthchecks": {"web": [{"path": "/a b"}]}}', 'healthchecks.web[0].path "/a b" must not contain spaces or control characters'],
      ['{"healthchecks": {"web": [{"path": "/a\\r\\nHost: evil"}]}}', 'must not contain spaces or control characters'],
      ['{"healthchecks": {"web": [{"path": "/", "timeout": -1}]}}', 'healthchecks.web[0].timeout must be a positive number of seconds'],
      ['{"healthchecks": {"web": [{"path": "/", "wait": "1s"}]}}', 'healthchecks.web[0].wait must be a positive number of seconds'],
    ];
    const cases: Case[] = [
      ...packages.map(([text, says]): Case => ({
        category: 'package.json', input: text, run: deployOf(appWith('node', { 'package.json': text })), code: ExitCode.config, says: ['package.json', says],
      })),
      ...appJsons.map(([text, says]): Case => ({
        category: 'app.json', input: text, run: deployOf(appWith('static', { 'app.json': text })), code: ExitCode.config, says: ['app.json', says],
      })),
    ];
    // Syntax errors name the line and column.
    for (const item of cases) if (item.says[1] === 'invalid JSON') item.says.push(/\.json:\d+:\d+/);
    await expectRefused(cases, 4);
  });

  it('domains under the host\'s base domain, or another app\'s: from paas.yml before anything is built, and with domains:add', async () => {
    const claims = ['other.localhost', '*.owner.localhost', `${OWNER}.localhost`, 'a.b.localhost', 'x.hostile.localhost.localhost'];
    // Each deploy takes its app's lock on the host: an app of its own each.
    const cases: Case[] = claims.map((name, i): Case => ({
      category: 'domain claims (paas.yml)',
      input: name,
      run: deployOf(appWith('static', { 'paas.yml': `domains: [${JSON.stringify(name)}]\n` }), `claim-${i}`),
      code: ExitCode.config,
      // The owner's own default name is another app's name first.
      says: ['paas.yml domains', name === `${OWNER}.localhost` ? `the domain ${name} is already served by the app ${OWNER} on this host` : `the domain ${name} is under this host's base domain localhost`, 'nothing was changed on the host'],
    }));
    // Another app's domain, from paas.yml: refused before anything is built or sent, naming that app.
    cases.push({
      category: 'domain claims (paas.yml)',
      input: `${OWNER_DOMAIN} (of ${OWNER})`,
      run: deployOf(appWith('static', { 'paas.yml': `domains: [${OWNER_DOMAIN}]\n` }), `claim-${claims.length}`),
      code: ExitCode.config,
      says: ['paas.yml domains', `the domain ${OWNER_DOMAIN} is already served by the app ${OWNER} on this host`, 'nothing was changed on the host'],
    });
    const add = (name: string, app: string) => () => cli(['domains:add', name, '--app', app, ...world.at(host)]);
    // These take the owner's lock: one at a time.
    const ownerCases = ['other.localhost', 'a.other.localhost', '*.other.localhost', 'www.localhost', 'owner.localhost.localhost'].map((name): Case => ({
      category: 'domains:add claims', input: name, run: add(name, OWNER), code: ExitCode.usage, says: [`the domain ${name} is under this host's base domain localhost`],
    }));
    for (const name of ['*.localhost', 'localhost', '*.*.localhost']) {
      cases.push({ category: 'domains:add claims', input: name, run: add(name, OWNER), code: ExitCode.usage, says: ['the NAME argument', `${quote(name)} is not a valid hostname`] });
    }
    cases.push(
      { category: 'domains:add claims', input: `${OWNER_DOMAIN} (of ${OWNER})`, run: add(OWNER_DOMAIN, 'second'), code: ExitCode.usage, says: [`"${OWNER_DOMAIN}" is already a domain of the app ${OWNER} on this host`] },
      { category: 'domains:add claims', input: `${OWNER}.localhost (of ${OWNER})`, run: add(`${OWNER}.localhost`, 'third'), code: ExitCode.usage, says: [`"${OWNER}.localhost" is already a domain of the app ${OWNER}`] },
    );
    const failures = [...await refuseAll(cases, 3), ...await refuseAll(ownerCases, 1)];
    expect(failures, failures.join('\n')).toEqual([]);
    await expectHostUnchanged();
    // Nothing of the refused deploys reached the host's engine either.
    const images = await onHost(host, 'docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=paas/claim-*');
    expect(images.stdout.trim()).toBe('');
  });

  it('config vars: keys of config:set, config:unset and config:get', async () => {
    const config = (verb: string, ...args: string[]) => () => cli([verb, ...args, '--app', OWNER, ...world.at(host)]);
    const sets: [string[], string][] = [
      [['1A=x'], '"1A" is not a valid variable name'],
      [['A-B=x'], '"A-B" is not a valid variable name'],
      [['=x'], '"" is not a valid variable name'],
      [['A B=x'], '"A B" is not a valid variable name'],
      [['é=x'], '"é" is not a valid variable name'],
      [['A\nB=x'], '"A\\nB" is not a valid variable name'],
      [['$(id)=x'], '"$(id)" is not a valid variable name'],
      [['PORT=1'], 'cannot set PORT: PORT is set by paas'],
      [['PAAS_RELEASE=x'], 'cannot set PAAS_RELEASE'],
      [['PAAS_APP=x'], 'cannot set PAAS_APP'],
      [['PAAS_PROCESS=x'], 'cannot set PAAS_PROCESS'],
      [['NOEQUALS'], '"NOEQUALS" is not a KEY=VALUE assignment'],
      [[''], '"" is not a KEY=VALUE assignment'],
      [['A=1', 'A=2'], 'A is given more than once'],
      [['OK=1', '2B=2'], '"2B" is not a valid variable name'],
    ];
    const keys: [string, string][] = [
      ['1A', '"1A" is not a valid variable name'],
      ['A-B', '"A-B" is not a valid variable name'],
      ['A=x', 'give only the name: A'],
      ['', '"" is not a valid variable name'],
      ['A B', '"A B" is not a valid variable name'],
      ['../etc', '"../etc" is not a valid variable name'],
    ];
    const cases: Case[] = [
      ...sets.map(([args, says]): Case => ({ category: 'config:set', input: args.join(' '), run: config('config:set', ...args), code: ExitCode.usage, says: [says] })),
      ...keys.flatMap(([key, says]): Case[] => ['config:unset', 'config:get'].map((verb) => ({
        category: 'config:unset / config:get', input: `${verb} ${key}`, run: config(verb, key), code: ExitCode.usage, says: [says],
      }))),
      ...['a b', '-x', '../x', 'a;b', ''].map((name): Case => ({
        category: 'keys:add names',
        input: name,
        // After `--`: a name starting with a dash is the argument, not a flag.
        run: () => cli(['keys:add', ...world.at(host), '--', name, `${pusherKey}.pub`]),
        code: ExitCode.usage,
        says: [`${quote(name)} is not a valid key name`],
      })),
    ];
    await expectRefused(cases, 4);
  });

  it('git: repository paths other than an app, deleting main, trees with ".." or ".git"', async () => {
    const paths = ['/../x', '/..', '/Owner', '/owner;id', '/a/b', '/.git', '/-x', '/owner.git.git', `/${'a'.repeat(64)}`, '/$(id)', '/owner%2f..', '/~root'];
    const cases: Case[] = paths.map((repoPath): Case => ({
      category: 'git push: repository path',
      input: remote(repoPath),
      run: () => pushOutcome([remote(repoPath), 'main']),
      code: 1,
      says: [/^paas: .*(is not an app|refused)/m],
    }));
    cases.push({ category: 'git push: refs', input: 'git push paas :main', run: () => pushOutcome(['paas', ':main']), code: 1, says: ['deleting main is refused: it is the branch paas deploys'] });
    const entries: [string, string, RegExp][] = [
      ['..', '100644', /hasDotdot|contains '\.\.'/],
      ['.', '100644', /hasDot|contains '\.'/],
      ['.git', '40000', /hasDotgit|contains '\.git'/],
      ['.GIT', '100644', /hasDotgit|contains '\.git'/],
      ['git~1', '100644', /hasDotgit|contains '\.git'/],
      ['.git.', '100644', /hasDotgit|contains '\.git'/],
      ['a/b', '100644', /fullPathname|contains full pathnames/],
      ['', '100644', /emptyName|empty filename/],
    ];
    for (const [name, mode, says] of entries) {
      cases.push({
        category: 'git push: tree entries',
        input: `a tree entry ${quote(name)} (mode ${mode})`,
        run: async () => pushOutcome(['paas', `${await commitWithEntry(name, mode)}:refs/heads/main`]),
        code: 1,
        says: [says],
      });
    }
    // git-receive-pack writes nothing when it refuses; one push at a time (they share the repository).
    await expectRefused(cases, 1);
  });

  it('the deploy session\'s source archive, sent to the agent directly: paths, links, devices, duplicates, limits, garbage', async () => {
    const archives: [string, Entry[], string][] = [
      ['../evil', [DOCKERFILE, { name: '../evil', body: 'x' }], '"../evil" is an absolute path, climbs out with ".."'],
      ['a/../../evil', [DOCKERFILE, { name: 'a/../../evil', body: 'x' }], '"a/../../evil"'],
      ['./../evil', [DOCKERFILE, { name: './../evil', body: 'x' }], '"./../evil"'],
      ['/etc/cron.d/evil', [DOCKERFILE, { name: '/etc/cron.d/evil', body: '* * * * * root touch /tmp/pwned\n' }], '"/etc/cron.d/evil" is an absolute path'],
      ['a\\..\\evil', [DOCKERFILE, { name: 'a\\..\\evil', body: 'x' }], '"a\\\\..\\\\evil"'],
      [`a segment of 256 bytes`, [DOCKERFILE, { name: `${'s'.repeat(256)}/x`, body: 'x' }], `"${'s'.repeat(20)}`],
      ['a character device', [DOCKERFILE, { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], '"null" is a device file'],
      ['a block device', [DOCKERFILE, { name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], '"sda" is a device file'],
      ['a fifo', [DOCKERFILE, { name: 'pipe', type: 'fifo' }], '"pipe" is a named pipe'],
      ['a hard link', [DOCKERFILE, { name: 'a', body: 'x' }, { name: 'b', type: 'link', linkname: 'a' }], '"b" is a hard link'],
      ['a hard link to /etc/shadow', [DOCKERFILE, { name: 'shadow', type: 'link', linkname: '/etc/shadow' }], '"shadow" is a hard link'],
      ['the same file twice', [DOCKERFILE, { name: 'a', body: 'x' }, { name: 'a', body: 'y' }], '"a" appears twice'],
      ['a file, then a link of the same name', [DOCKERFILE, { name: 'a', body: 'x' }, { name: 'a', type: 'symlink', linkname: 'b' }], '"a" appears twice'],
      ['a link, then a file of the same name', [DOCKERFILE, { name: 'b', body: 'x' }, { name: 'a', type: 'symlink', linkname: 'b' }, { name: 'a', body: 'y' }], '"a" appears twice'],
      ['a directory, then a file of the same name', [DOCKERFILE, { name: 'd', type: 'directory' }, { name: 'd', body: 'x' }], '"d" appears twice'],
      ['a file, then entries under it', [DOCKERFILE, { name: 'f', body: 'x' }, { name: 'f/x', body: 'y' }], '"f" is not a directory, but entries lie under it'],
      ['an entry under a symlinked directory', [DOCKERFILE, { name: 'd', type: 'directory' }, { name: 'l', type: 'symlink', linkname: 'd' }, { name: 'l/x', body: 'x' }], '"l" is not a directory, but entries lie under it'],
      ['an entry under a link to a directory through ./', [DOCKERFILE, { name: 'd', type: 'directory' }, { name: 'l', type: 'symlink', linkname: './d/../d' }, { name: 'l/x', body: 'x' }], '"l" is not a directory, but entries lie under it'],
      // (A link that leads out of the app, `up -> ..` or `etc -> /etc`, is dropped with a message, not refused: an entry
      // under it then lands in a directory of that name inside the tree. Not counted here.)
      ['.paas/Dockerfile as a symlink', [{ name: 'x', body: 'FROM scratch\n' }, { name: '.paas/Dockerfile', type: 'symlink', linkname: '../x' }], '".paas/Dockerfile" must be a regular file'],
      ['.paas/Dockerfile as a directory', [{ name: '.paas/Dockerfile', type: 'directory' }], '".paas/Dockerfile" must be a regular file'],
      ['.paas/Dockerfile as a hard link', [{ name: 'x', body: 'FROM scratch\n' }, { name: '.paas/Dockerfile', type: 'link', linkname: 'x' }], '".paas/Dockerfile" must be a regular file'],
      ['.dockerignore as a symlink', [DOCKERFILE, { name: '.dockerignore', type: 'symlink', linkname: '/etc/shadow' }], '".dockerignore" must be a regular file'],
      ['no .paas/Dockerfile', [{ name: 'index.html', body: 'x' }], 'the source archive has no .paas/Dockerfile'],
    ];
    const cases: Case[] = archives.map(([input, entries, says]): Case => ({
      category: 'deploy archive entries',
      input,
      run: async () => { const archive = gzipSync(await tar(entries)); return deploySession((app) => framed(ownBuild(app), archive)); },
      code: ExitCode.usage,
      says: [says],
    }));
    const dockerfileTar = await tar([DOCKERFILE]);
    const withoutEnd = dockerfileTar.subarray(0, dockerfileTar.length - 1024);
    const raw: [string, () => Promise<Buffer> | Buffer, string | RegExp][] = [
      ['a plain (not gzip\'d) tar with ../evil', () => tar([DOCKERFILE, { name: '../evil', body: 'x' }]), '"../evil"'],
      ['a header claiming a 3 GB file', () => Buffer.concat([withoutEnd, rawHeader('big', 3 * 1024 ** 3), Buffer.alloc(8192)]), /the source archive was refused: it holds more than 2\.\d GB/],
      ['a .paas/Dockerfile header claiming 2 MB', () => Buffer.concat([rawHeader('.paas/Dockerfile', 2 * 1024 ** 2), Buffer.alloc(8192)]), '".paas/Dockerfile" is larger than 1.0 MB'],
      ['200,001 entries', () => gzipSync(Buffer.concat([withoutEnd, ...Array.from({ length: 200_001 }, (_, i) => rawHeader(`.paas/d${i}/`, 0, '5')), Buffer.alloc(1024)])), 'it holds more than 200000 entries'],
      ['garbage, not a tar', () => Buffer.from('this is not a tar archive, only text '.repeat(40)), 'it is not a valid tar archive'],
      ['gzip\'d garbage', () => gzipSync(Buffer.from('garbage '.repeat(200))), 'it is not a valid tar archive'],
      ['a truncated tar', () => gzipSync(dockerfileTar.subarray(0, 700)), 'it is not a valid tar archive'],
      ['an empty archive', () => Buffer.alloc(0), 'the source archive has no .paas/Dockerfile'],
    ];
    for (const [input, archive, says] of raw) {
      cases.push({
        category: 'deploy archive limits and garbage',
        input,
        run: async () => { const bytes = await archive(); return deploySession((app) => framed(ownBuild(app), bytes)); },
        code: ExitCode.usage,
        says: [says],
      });
    }
    cases.push({
      category: 'deploy archive limits and garbage', input: 'gzip\'s magic bytes, then no gzip stream',
      run: () => deploySession((app) => framed(ownBuild(app), Buffer.from([0x1f, 0x8b, 0x01, 0x02, 0x03, 0x04, 0x05]))), code: ExitCode.usage, says: ['it is not a valid tar archive'],
    });
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(2 * 1024 * 1024);
    cases.push({ category: 'deploy archive limits and garbage', input: 'a data frame of 2 MB', run: () => deploySession((app) => Buffer.concat([Buffer.from(ownBuild(app)), frame, Buffer.alloc(64)])), code: ExitCode.usage, says: ['a data frame of 2097152 bytes is larger than 1048576'] });
    cases.push({ category: 'deploy archive limits and garbage', input: 'a request line of 5 MB', run: () => deploySession(Buffer.alloc(5 * 1024 * 1024, 0x61)), code: ExitCode.usage, says: ['a request line is longer than 4194304 bytes'] });
    await expectRefused(cases, 3);
  });

  it('the deploy session\'s build request and release spec, sent to the agent directly, with and without a build', async () => {
    const archive = gzipSync(await tar([DOCKERFILE, { name: 'index.html', body: 'x' }]));
    const builds: [string, string, string][] = [
      ['dockerfile ../Dockerfile', buildLine('paas/hostile:t1', { dockerfile: '../Dockerfile' }), 'dockerfile: "../Dockerfile" is not a path inside the context'],
      ['dockerfile /etc/passwd', buildLine('paas/hostile:t1', { dockerfile: '/etc/passwd' }), 'dockerfile: "/etc/passwd" is not a path inside the context'],
      ['dockerfile Dockerfile', buildLine('paas/hostile:t1', { dockerfile: 'Dockerfile' }), 'expected .paas/Dockerfile'],
      ['requires "a b"', buildLine('paas/hostile:t1', { requires: ['a b'] }), 'requires: "a b" is not an image reference'],
      ['requires "$(id)"', buildLine('paas/hostile:t1', { requires: ['$(id)'] }), 'requires: "$(id)" is not an image reference'],
      ['buildArgs 1A', buildLine('paas/hostile:t1', { buildArgs: { '1A': 'x' } }), 'buildArgs: "1A" is not a valid variable name'],
      ['buildArgs A-B', buildLine('paas/hostile:t1', { buildArgs: { 'A-B': 'x' } }), 'buildArgs: "A-B" is not a valid variable name'],
      ['timeoutMs 0', buildLine('paas/hostile:t1', { timeoutMs: 0 }), 'timeoutMs: expected a whole number of milliseconds from 1000'],
      ['timeoutMs 7 h', buildLine('paas/hostile:t1', { timeoutMs: 7 * 3_600_000 }), 'timeoutMs: expected a whole number of milliseconds'],
      ['tag "paas/x:a b"', buildLine('paas/x:a b'), '"paas/x:a b" is not an image reference'],
      ['the tag of another app\'s image', buildLine(`paas/${OWNER}:t1`), `"paas/${OWNER}:t1" is not an image of hostile-`],
      ['not JSON', 'build me\n', 'a deploy request is not JSON'],
      ['neither build nor release', '{"run": "rm -rf /"}\n', 'a deploy request is neither {build} nor {release}'],
    ];
    const cases: Case[] = builds.map(([input, line, says]): Case => ({
      category: 'deploy build requests',
      input,
      run: () => deploySession(framed(line, archive)),
      code: ExitCode.usage,
      says: [says],
    }));
    const specs: [string, Record<string, unknown>, string][] = [
      ['image with a space', { image: 'paas/hostile:t 1' }, 'image: "paas/hostile:t 1" is not an image reference'],
      ['image $(id)', { image: '$(id)' }, 'image: "$(id)" is not an image reference'],
      ['version 0', { version: 0 }, 'version: expected a whole number >= 1'],
      ['version -1', { version: -1 }, 'version: expected a whole number >= 1'],
      ['version 1.5', { version: 1.5 }, 'version: expected a whole number >= 1'],
      ['version "1"', { version: '1' }, 'version: expected a whole number >= 1'],
      ['port 0', { port: 0 }, 'port: expected 1..65535'],
      ['port 70000', { port: 70_000 }, 'port: expected 1..65535'],
      ['formation web 101', { formation: { web: 101 } }, 'formation.web: expected 0..100 replicas'],
      ['formation web -1', { formation: { web: -1 } }, 'formation.web: expected 0..100 replicas'],
      ['formation of 120 in all', { processes: { web: 'a', worker: 'b' }, formation: { web: 60, worker: 60 } }, 'formation: 120 containers in all, at most 100'],
      ['21 process types', { processes: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`t${i}`, 'x'])) }, 'processes: 21 process types, at most 20 are allowed'],
      ['process type Web', { processes: { Web: 'x' }, formation: {} }, 'processes: invalid process type "Web"'],
      ['process type ../x', { processes: { '../x': 'x' }, formation: {} }, 'processes: invalid process type "../x"'],
      ['a command too long', { processes: { web: 'x'.repeat(16_385) } }, 'processes.web: expected a command of 1 to 16384 characters'],
      ['an empty command', { processes: { web: ' ' } }, 'processes.web: expected a command of 1 to 16384 characters'],
      ['env with a NUL byte', { env: { A: 'a\u0000b' } }, 'env.A: expected a string of at most 32 KiB without NUL bytes'],
      ['env PORT', { env: { PORT: '1' } }, 'env: PORT is set by paas'],
      ['env PAAS_RELEASE', { env: { PAAS_RELEASE: 'v9' } }, 'env: PAAS_RELEASE is set by paas'],
      ['env key 1A', { env: { '1A': 'x' } }, 'env: "1A" is not a valid variable name'],
      ['env value not a string', { env: { A: 5 } }, 'env.A: expected a string of at most 32 KiB without NUL bytes'],
      ['another app\'s image', { image: `paas/${OWNER}:t1` }, `image: "paas/${OWNER}:t1" is not an image of hostile-`],
      ['an image ID of free text', { imageId: 'x; rm -rf /' }, 'imageId: expected sha256:<64 hex digits>'],
      ['a NUL in a command', { processes: { web: 'node\u0000x' } }, 'processes.web: expected a command of 1 to 16384 characters, without NUL bytes'],
      ['a NUL in the release command', { releaseCommand: 'migrate\u0000' }, 'releaseCommand: expected a command of 1 to 16384 characters, without NUL bytes'],
      ['processes null', { processes: null }, 'processes: expected a map of process type to command'],
      ['formation null', { formation: null }, 'formation: expected a map of process type to replicas'],
      ['env null', { env: null }, 'env: expected a map of variable name to value'],
      ['limits of web null', { limits: { web: null } }, 'limits.web: expected { memoryBytes, cpus }'],
      ['keepReleases 0', { keepReleases: 0 }, 'keepReleases: expected 1..100'],
      ['keepReleases "x"', { keepReleases: 'x' }, 'keepReleases: expected 1..100'],
      ['drainMs -5', { drainMs: -5 }, 'drainMs: expected 0 to 600000 ms'],
      ['stopTimeoutSeconds 1e9', { stopTimeoutSeconds: 1e9 }, 'stopTimeoutSeconds: expected 0 to 3600 s'],
      ['a health check path with CR/LF', { healthcheck: { path: '/up\r\nX: y', timeoutMs: 1000, intervalMs: 100, successes: 1 } }, 'healthcheck.path: expected a path starting with "/"'],
      ['a health check timeout of 1e12 ms', { healthcheck: { path: '/up', timeoutMs: 1e12, intervalMs: 100, successes: 1 } }, 'healthcheck.timeoutMs: expected 1 ms to 1 h'],
      ['a health check interval of -1', { healthcheck: { path: '/up', timeoutMs: 1000, intervalMs: -1, successes: 1 } }, 'healthcheck.intervalMs: expected 1 ms to 1 h'],
      ['a 1 MB description', { description: 'x'.repeat(1_000_000) }, 'description: expected one line of at most 500 characters'],
      ['createdBy with a newline', { createdBy: 'me\nroot' }, 'createdBy: expected one line of at most 200 characters'],
      ['domain a.com;', { domains: ['a.com;'] }, 'domains: "a.com;"'],
      ['domain with a newline', { domains: ['a.com\nserver_name evil.com'] }, 'is not a valid hostname'],
      ['domain *.localhost', { domains: ['*.localhost'] }, 'domains: "*.localhost"'],
      ['101 domains', { domains: Array.from({ length: 101 }, (_, i) => `d${i}.example.com`) }, 'domains: expected a list of at most 100 host names'],
      ['balance random', { balance: 'random' }, 'balance: "random" is not a strategy'],
      ['memory of 1 byte', { limits: { web: { memoryBytes: 1 } } }, 'limits.web.memory: expected a whole number of bytes >= 6m'],
      ['cpus -1', { limits: { web: { cpus: -1 } } }, 'limits.web.cpus: expected a number of CPUs above 0'],
      ['app ../x', { app: '../x' }, 'this session deploys'],
      ['a bad cron schedule', { cron: [cronTask({ schedule: '61 * * * *' })] }, 'cron[0].schedule: "61 * * * *" is not a valid schedule: invalid value for minute: 61'],
      ['a cron schedule @reboot', { cron: [cronTask({ schedule: '@reboot' })] }, 'cron[0].schedule: "@reboot" is not supported'],
      ['a cron schedule with a newline', { cron: [cronTask({ schedule: '* * * * *\n* * * * * root id' })] }, 'cron[0].schedule: "* * * * *\\n* * * * * root id" contains control characters'],
      ['a NUL in a cron command', { cron: [cronTask({ command: 'report\u0000x' })] }, 'cron[0].command: expected a command of 1 to 16384 characters, without NUL bytes'],
      ['1000 cron tasks', { cron: Array.from({ length: 1000 }, (_, i) => cronTask({ id: `t${i}` })) }, 'cron: 1000 tasks, at most 50 are allowed'],
      ['a cron task id ../x', { cron: [cronTask({ id: '../x' })] }, 'cron[0].id: "../x" is not a valid task name'],
      ['a script of its own', { scripts: { preboot: 'id' } }, 'scripts: "preboot" is not a script'],
      ['a NUL in a predeploy script', { scripts: { predeploy: 'migrate\u0000' } }, 'scripts.predeploy: expected a command of 1 to 16384 characters, without NUL bytes'],
      ['envRequired PORT', { envRequired: ['PORT'] }, 'envRequired: PORT is set by paas'],
      ['envSecrets of 201 names', { envSecrets: Array.from({ length: 201 }, (_, i) => `S${i}`) }, 'envSecrets: expected a list of at most 200 variable names'],
      ['tls naming a key file', { tls: { hsts: false, redirect: true, keyFile: '/etc/shadow' } }, 'tls: expected { hsts: true|false, redirect: true|false }'],
      ['tls as a string', { tls: 'auto' }, 'tls: expected { hsts: true|false, redirect: true|false }'],
    ];
    for (const [input, change, says] of specs) {
      cases.push({
        category: 'deploy release specs (no build)',
        input,
        run: async () => {
          sessions += 1;
          const app = `hostile-${sessions}`;
          return agent(['deploy', '--app', app, '--by', 'me', '--command', 'test', '--wait', '0'], `${JSON.stringify({ release: releaseSpec(app, change) })}\n`);
        },
        code: ExitCode.usage,
        says: [says],
      });
    }
    // After a build of the session's own tag (FROM scratch: no base image needed): the spec is refused, the image pruned.
    for (const [input, change, says] of specs.filter(([input]) => ['image with a space', 'version 0', 'formation web 101', '21 process types', 'env with a NUL byte', 'env PORT', 'domain a.com;', 'app ../x'].includes(input))) {
      cases.push({
        category: 'deploy release specs (after a build)',
        input,
        run: async () => {
          sessions += 1;
          const app = `hostile-${sessions}`;
          const spec = releaseSpec(app, { image: `paas/${app}:t1`, ...change });
          const input = Buffer.concat([framed(buildLine(`paas/${app}:t1`), archive), Buffer.from(`${JSON.stringify({ release: spec })}\n`)]);
          return agent(['deploy', '--app', app, '--by', 'me', '--command', 'test', '--wait', '0'], input);
        },
        code: ExitCode.usage,
        // The spec's image must be the one built: the others are refused for it first.
        says: [input === 'image with a space' ? 'the release is of "paas/' : input === 'app ../x' ? 'this session deploys' : says],
      });
    }
    await expectRefused(cases, 3);
    // What the builds above made is gone from the host's engine.
    const images = await onHost(host, 'docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=paas/hostile-*');
    expect(images.stdout.trim()).toBe('');
  });

  it('other agent verbs called directly with bad arguments and stdin', async () => {
    // A well-formed key (the pusher's, already allowed: were a case to get past its check, it would still write nothing).
    const validKey = readFileSync(`${pusherKey}.pub`, 'utf8').trim();
    const calls: [string, string[], string | Buffer, string][] = [
      ['releases --app ../x', ['releases', '--app', '../x'], '', 'invalid app name "../x"'],
      ['releases --app ""', ['releases', '--app', ''], '', 'invalid app name ""'],
      ['releases --app "a b"', ['releases', '--app', 'a b'], '', 'invalid app name "a b"'],
      ['releases (no --app)', ['releases'], '', '--app is required'],
      ['ps --app ../x', ['ps', '--app', '../x'], '', 'invalid app name "../x"'],
      ['app-info --app a/b', ['app-info', '--app', 'a/b'], '', 'invalid app name "a/b"'],
      ['config-show --app ../x', ['config-show', '--app', '../x'], '', 'invalid app name "../x"'],
      ['outcome --app $(id)', ['outcome', '--app', '$(id)'], '', 'invalid app name "$(id)"'],
      ['lock --app ..', ['lock', '--app', '..'], '', 'invalid app name ".."'],
      ['destroy --app ../x', ['destroy', '--app', '../x'], '', 'invalid app name "../x"'],
      ['deploy --app ../x', ['deploy', '--app', '../x'], '', 'invalid app name "../x"'],
      ['logs --tail -1', ['logs', '--app', OWNER, '--tail', '-1'], '', '--tail: expected a whole number 0..100000'],
      ['logs --tail 1e9', ['logs', '--app', OWNER, '--tail', '1000000000'], '', '--tail: expected a whole number 0..100000'],
      ['logs --tail abc', ['logs', '--app', OWNER, '--tail', 'abc'], '', '--tail: expected a whole number 0..100000'],
      ['logs --process web;id', ['logs', '--app', OWNER, '--process', 'web;id'], '', '"web;id" is not a process type or process'],
      ['logs --process ../web', ['logs', '--app', OWNER, '--process', '../web'], '', '"../web" is not a process type or process'],
      ['lb-set --strategy random', ['lb-set', '--app', OWNER, '--strategy', 'random'], '', '"random" is not a strategy'],
      ['lb-set --strategy ""', ['lb-set', '--app', OWNER, '--strategy', ''], '', 'is not a strategy'],
      ['lb-set --weight web.1=-5', ['lb-set', '--app', OWNER, '--strategy', 'weighted', '--weight', 'web.1=-5'], '', 'the weight of web.1 must be a whole number from 1 to 1000'],
      ['lb-set --weight x=1', ['lb-set', '--app', OWNER, '--strategy', 'weighted', '--weight', 'x=1'], '', '"x" is not a web replica'],
      ['drain --id ../../x', ['drain', '--app', OWNER, '--id', '../../x'], '', '--id: expected 8 hex digits'],
      ['drain --id ""', ['drain', '--app', OWNER, '--id', ''], '', '--id: expected 8 hex digits'],
      ['drain --app ../x', ['drain', '--app', '../x', '--id', '0123abcd'], '', 'invalid app name "../x"'],
      ['config-set, stdin not JSON', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], 'not json', 'the config change on stdin is not JSON'],
      ['config-set, stdin {}', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{}', 'the config change on stdin is not {set: {KEY: value}, unset: [KEY]}'],
      ['config-set, key 1A', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{"set":{"1A":"x"},"unset":[]}', '"1A" is not a valid variable name'],
      ['config-set, key PORT', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{"set":{"PORT":"1"},"unset":[]}', 'cannot set PORT'],
      ['config-set, a NUL byte', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{"set":{"A":"a\\u0000b"},"unset":[]}', 'the value of A contains a NUL byte'],
      ['config-set, unset ../x', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{"set":{},"unset":["../x"]}', '"../x" is not a valid variable name'],
      ['config-set, empty change', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], '{"set":{},"unset":[]}', 'the config change is empty'],
      ['config-set, 17 MB of stdin', ['config-set', '--app', OWNER, '--version', '9', '--lock-token', 'x'], Buffer.alloc(17 * 1024 * 1024, 0x61), 'the request on stdin is larger than 16777216 bytes'],
      ['certs-add, a garbage PEM', ['certs-add', '--app', OWNER], '{"cert":"garbage","key":"garbage"}', 'this is not a PEM certificate'],
      ['certs-add, a PEM of no certificate', ['certs-add', '--app', OWNER], '{"cert":"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n","key":"x"}', 'the certificate'],
      ['certs-add, cert not a string', ['certs-add', '--app', OWNER], '{"cert":5,"key":"x"}', 'expected {"cert": PEM, "key": PEM} on stdin'],
      ['certs-add, stdin not JSON', ['certs-add', '--app', OWNER], 'not json', 'the certificate request on stdin is not JSON'],
      ['certs-add, stdin null', ['certs-add', '--app', OWNER], 'null', 'expected {"cert": PEM, "key": PEM} on stdin'],
      ['rollback --to ../1', ['rollback', '--app', OWNER, '--to', '../1', '--version', '9'], '', '--to: "../1" is not a release number'],
      ['certs-add, 17 MB of stdin', ['certs-add', '--app', OWNER], Buffer.alloc(17 * 1024 * 1024, 0x61), 'the request on stdin is larger than 16777216 bytes'],
      ['keys-add --name "a b"', ['keys-add', '--name', 'a b'], validKey, '"a b" is not a valid key name'],
      ['keys-add --name ../x', ['keys-add', '--name', '../x'], validKey, '"../x" is not a valid key name'],
      ['keys-add --name ""', ['keys-add', '--name', ''], validKey, '"" is not a valid key name'],
      ['keys-add, options before the key', ['keys-add', '--name', 'evil'], `command="sh" ${validKey}`, 'the key line starts with options'],
      ['keys-add, two keys', ['keys-add', '--name', 'evil'], `${validKey}\n${validKey}`, 'found 2 lines; pass one public key at a time'],
      ['keys-add, malformed base64', ['keys-add', '--name', 'evil'], 'ssh-ed25519 AAAA!!!! x', 'the ssh-ed25519 key data is malformed'],
      ['keys-add, an unknown key type', ['keys-add', '--name', 'evil'], 'ssh-evil AAAA x', 'the public key'],
      ['domains-add --name a;b.com', ['domains-add', '--app', OWNER, '--name', 'a;b.com'], '', '"a;b.com" is not a valid hostname'],
      ['domains-add --name with a newline', ['domains-add', '--app', OWNER, '--name', 'a.com\nserver_name evil'], '', 'is not a valid hostname'],
      ['domains-add --name other.localhost', ['domains-add', '--app', OWNER, '--name', 'other.localhost'], '', 'is under this host\'s base domain localhost'],
      ['images --ref "a b"', ['images', '--ref', 'a b'], '', 'requires: "a b" is not an image reference'],
      ['run without a command', ['run', '--app', OWNER], '', 'no command to run'],
      ['cron-run --id ../x', ['cron-run', '--app', OWNER, '--id', '../x'], '', `${OWNER} has no scheduled task "../x"`],
      ['cron-suspend --id "a b"', ['cron-suspend', '--app', OWNER, '--id', 'a b'], '', `${OWNER} has no scheduled task "a b"`],
      ['cron --app ../x', ['cron', '--app', '../x'], '', 'invalid app name "../x"'],
      ['volumes --app ../x', ['volumes', '--app', '../x'], '', 'invalid app name "../x"'],
      ['volumes-add --volume ../x:/y', ['volumes-add', '--app', OWNER, '--volume', '../x:/y', '--version', '9'], '', '"../x" is not a valid volume name'],
      ['volumes-add --volume x:/etc', ['volumes-add', '--app', OWNER, '--volume', 'x:/etc', '--version', '9'], '', 'would hide a system directory'],
      ['volumes-add --volume x:/a/../../etc', ['volumes-add', '--app', OWNER, '--volume', 'x:/a/../../etc', '--version', '9'], '', '".." parts'],
      ['volumes-add --volume "x:/a b"', ['volumes-add', '--app', OWNER, '--volume', 'x:/a b', '--version', '9'], '', 'only letters, digits'],
      ['volumes-add --process ../web', ['volumes-add', '--app', OWNER, '--volume', 'x:/x', '--process', '../web', '--version', '9'], '', 'is not a valid process type'],
      ['volumes-remove --name ../x', ['volumes-remove', '--app', OWNER, '--name', '../x', '--version', '9'], '', 'has no volume ../x added with volumes:add'],
      ['volumes-backup --name ../x', ['volumes-backup', '--app', OWNER, '--name', '../x'], '', '"../x" is not a valid volume name'],
      ['services-create --kind mysql', ['services-create', '--kind', 'mysql', '--name', 'x'], '', '"mysql" is not a kind of service'],
      ['services-create --name ../x', ['services-create', '--kind', 'postgres', '--name', '../x'], '', '"../x" is not a valid service name'],
      ['services-create --version "15;id"', ['services-create', '--kind', 'postgres', '--name', 'x', '--version', '15;id'], '', 'is not a version paas runs'],
      ['services-info --name ../x', ['services-info', '--name', '../x'], '', '"../x" is not a valid service name'],
      ['services-link --name ../x', ['services-link', '--name', '../x', '--app', OWNER, '--version', '9'], '', '"../x" is not a valid service name'],
      ['services-restore --name nope', ['services-restore', '--name', 'nope'], '', 'this host has no service nope'],
      ['services-restore --to ../x', ['services-restore', '--name', 'nope', '--to', '../x'], '', '"../x" is not a valid service name'],
      ['services-backups-target --kind ftp', ['services-backups-target', '--name', 'nope', '--kind', 'ftp'], '', '"ftp" is not a kind of backup target'],
      ['services-destroy --name nope', ['services-destroy', '--name', 'nope'], '', 'this host has no service nope'],
      ['an unknown verb', ['rm', '-rf', '/'], '', 'unknown agent verb "rm"'],
    ];
    const cases = calls.map(([input, args, stdin, says]): Case => ({
      category: 'other agent verbs',
      input,
      run: () => agent(args, stdin),
      code: ExitCode.usage,
      says: [says],
    }));
    // Those refused under the owner's lock (domains-add of a valid name, lb-set's weights), one at a time: two at once
    // would be refused for the lock instead.
    const underLock = (item: Case) => /^(lb-set --weight|domains-add --name other|cron-suspend|volumes-add|volumes-remove)/.test(item.input);
    const failures = [...await refuseAll(cases.filter((c) => !underLock(c)), 3), ...await refuseAll(cases.filter(underLock), 1)];
    expect(failures, failures.join('\n')).toEqual([]);
    await expectHostUnchanged();
  });

  it('tried at least 200 hostile inputs, and every one was refused', () => {
    const tried = [...tally.values()].reduce((sum, c) => sum + c.tried, 0);
    const refused = [...tally.values()].reduce((sum, c) => sum + c.refused, 0);
    expect(tried).toBeGreaterThanOrEqual(200);
    expect(refused).toBe(tried);
  });
});
