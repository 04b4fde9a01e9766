import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type Docker from 'dockerode';
import ssh2 from 'ssh2';
import tarStream from 'tar-stream';
import { PaasError } from '../errors.js';
import { ensureImage, followProgress, imageExists } from '../docker/engine.js';
import { paasHome } from '../util/home.js';
import { templatesDir } from '../util/paths.js';
import { createBuildContext } from '../build/context.js';
import { addKnownHost, knownHostLine, removeKnownHost } from '../ssh/known-hosts.js';

export const SANDBOX_LABEL = 'paas.sandbox';
/** How the sandbox was made (flavour, image store, user), on its container, so a later `sandbox:up` says the same. */
const FLAVOUR_LABEL = 'paas.sandbox.flavour';
const USER_LABEL = 'paas.sandbox.user';
const CONTAINERD_STORE_LABEL = 'paas.sandbox.containerd-store';

/**
 * The kinds of host a sandbox can be: Debian's own packages of each suite (bookworm: Docker
 * Engine 20.10 with BuildKit in its CLI; trixie: 26.1 with the buildx plugin, containerd 1.7).
 */
export const SANDBOX_FLAVOURS = {
  bookworm: { suite: 'bookworm', extraPackages: '', containerdStore: false },
  trixie: { suite: 'trixie', extraPackages: 'docker-cli docker-buildx', containerdStore: true },
} as const;
export type SandboxFlavour = keyof typeof SANDBOX_FLAVOURS;

export interface SandboxOptions {
  identity?: string;
  /** Default bookworm. */
  flavour?: SandboxFlavour;
  /** The engine's containerd image store (its containerd-snapshotter feature), where the flavour's engine has it. */
  containerdStore?: boolean;
  /** SSH only as this user, with passwordless sudo; root's login refused. */
  user?: string;
  freePorts?: () => Promise<SandboxPorts>;
}

const USER_PATTERN = /^[a-z_][a-z0-9_-]{0,30}$/;

/** The options as given, checked (before anything is made). */
export function checkSandboxOptions(options: SandboxOptions): { flavour: SandboxFlavour; containerdStore: boolean; user?: string } {
  const flavour = options.flavour ?? 'bookworm';
  if (!Object.hasOwn(SANDBOX_FLAVOURS, flavour)) {
    throw new PaasError('usage', `--flavour: ${JSON.stringify(flavour)} is not a sandbox flavour`, { hint: `one of ${Object.keys(SANDBOX_FLAVOURS).join(', ')}` });
  }
  if (options.containerdStore && !SANDBOX_FLAVOURS[flavour].containerdStore) {
    throw new PaasError('usage', `--containerd-store: the ${flavour} flavour's Docker Engine has no containerd image store`, { hint: 'use --flavour trixie (Docker Engine 26)' });
  }
  if (options.user !== undefined && (!USER_PATTERN.test(options.user) || options.user === 'root')) {
    throw new PaasError('usage', `--user: ${JSON.stringify(options.user)} is not a user name paas makes`, { hint: 'lowercase letters, digits, _ and -, starting with a letter or _, not root (e.g. admin)' });
  }
  return { flavour, containerdStore: options.containerdStore ?? false, ...(options.user !== undefined ? { user: options.user } : {}) };
}
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

export interface SandboxInfo {
  name: string;
  container: string;
  state: string;
  flavour: SandboxFlavour;
  containerdStore: boolean;
  /** Who SSH logs in as: root, or the --user with passwordless sudo. */
  user: string;
  /** ssh://USER@127.0.0.1:PORT */
  url: string;
  sshPort: number;
  httpPort: number;
  httpsPort: number;
  /** Private key that logs in as the user. */
  keyPath: string;
  /** known_hosts file holding the sandbox's host key. */
  knownHostsPath: string;
  hostKey: string;
}

export function checkSandboxName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new PaasError('usage', `invalid sandbox name ${JSON.stringify(name)}`, {
      hint: 'use lowercase letters, digits and dashes, starting with a letter or digit, at most 31 characters',
    });
  }
}

export const containerName = (name: string) => `paas-sandbox-${name}`;
export const volumeName = (name: string) => `paas-sandbox-${name}-docker`;
export const sandboxDir = (name: string) => path.join(paasHome(), 'sandboxes', name);

/** The sandbox image of a flavour; its tag changes whenever the template does, so an edit rebuilds it. */
export function sandboxImage(flavour: SandboxFlavour = 'bookworm'): string {
  const dir = path.join(templatesDir, 'sandbox');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  if (flavour !== 'bookworm') hash.update(JSON.stringify(SANDBOX_FLAVOURS[flavour]));
  return `paas-sandbox:${hash.digest('hex').slice(0, 12)}${flavour === 'bookworm' ? '' : `-${flavour}`}`;
}

/** The ports on 127.0.0.1 that a sandbox's SSH, HTTP and HTTPS are published on. */
export interface SandboxPorts { ssh: number; http: number; https: number }

/**
 * The docker create options for a sandbox: the Docker-in-Docker flags that work, ports on
 * loopback only. The host ports are fixed (not left to the engine, which picks new ones at
 * every start), so a `docker restart` keeps the sandbox's URL.
 */
export function sandboxContainerSpec(name: string, image: string, ports: SandboxPorts, made: { flavour: SandboxFlavour; containerdStore: boolean; user?: string } = { flavour: 'bookworm', containerdStore: false }): Docker.ContainerCreateOptions {
  const loopback = (port: number) => [{ HostIp: '127.0.0.1', HostPort: String(port) }];
  return {
    name: containerName(name),
    Image: image,
    Hostname: name,
    Labels: {
      [SANDBOX_LABEL]: name, [FLAVOUR_LABEL]: made.flavour,
      ...(made.containerdStore ? { [CONTAINERD_STORE_LABEL]: 'true' } : {}),
      ...(made.user ? { [USER_LABEL]: made.user } : {}),
    },
    ExposedPorts: { '22/tcp': {}, '80/tcp': {}, '443/tcp': {} },
    HostConfig: {
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Tmpfs: { '/run': 'rw,exec', '/tmp': 'rw,exec' },
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup'],
      Mounts: [{ Type: 'volume', Source: volumeName(name), Target: '/var/lib/docker' }],
      PortBindings: { '22/tcp': loopback(ports.ssh), '80/tcp': loopback(ports.http), '443/tcp': loopback(ports.https) },
    },
  };
}

export async function ensureSandboxImage(docker: Docker, flavour: SandboxFlavour, report: (line: string) => void): Promise<string> {
  const image = sandboxImage(flavour);
  if (await imageExists(docker, image)) return image;
  const { suite, extraPackages } = SANDBOX_FLAVOURS[flavour];
  await ensureImage(docker, `debian:${suite}-slim`, 'the sandbox image');
  report(`building ${image} (once; Debian ${suite}'s packages docker.io, openssh-server, nginx${extraPackages ? `, ${extraPackages}` : ''})`);
  const context = createBuildContext(path.join(templatesDir, 'sandbox'), { dockerignore: '' });
  const stream = await docker.buildImage(context, { t: image, rm: true, forcerm: true, buildargs: { SUITE: suite, EXTRA_PACKAGES: extraPackages } });
  const tail: string[] = [];
  const events = await followProgress(docker, stream, (e) => {
    const line = e.stream?.trim();
    if (line) { tail.push(line); if (tail.length > 20) tail.shift(); report(line); }
  });
  const failure = events.find((e) => e.error);
  if (failure) throw new PaasError('sandbox', `building the sandbox image failed: ${failure.error}`, { details: tail, hint: 'check that Debian\'s package mirror is reachable from containers' });
  return image;
}

function describeMade(made: { flavour: SandboxFlavour; containerdStore: boolean; user: string }): string {
  return `${made.flavour}${made.containerdStore ? ' with the containerd image store' : ''}, SSH as ${made.user}`;
}

/** An existing private key to log in with instead of a fresh one (several sandboxes, one key). */
async function existingKey(file: string): Promise<{ private: string; public: string }> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new PaasError('usage', `cannot read the key ${file} (${error.code ?? error.message})`, { hint: 'pass the path of a private key file' });
  });
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) {
    throw new PaasError('usage', `${file} is not an unencrypted private key`, { hint: 'pass a private key without a passphrase (e.g. one made by paas sandbox:up)' });
  }
  return { private: text, public: `${key.type} ${key.getPublicSSH().toString('base64')}` };
}

/**
 * A fresh ed25519 key pair. About 1 in 200 of the keys ssh2 generates is malformed (neither ssh2
 * nor ssh-keygen can load it: the sandbox would refuse every login, or sshd its host key), so a
 * pair is made again until ssh2 reads its own private key back.
 */
export function sandboxKeyPair(comment: string, attempts = 20): { private: string; public: string } {
  for (let attempt = 1; ; attempt += 1) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
    if (attempt >= attempts) throw new PaasError('sandbox', `could not generate a usable ed25519 key in ${attempts} attempts`, { hint: 'check the ssh2 package of this paas checkout (`npm ls ssh2`)' });
  }
}

async function writeKeys(name: string, identity?: string): Promise<{ keyPath: string; hostKey: { private: string; public: string } }> {
  const dir = sandboxDir(name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const client = identity ? await existingKey(identity) : sandboxKeyPair(`paas-sandbox-${name}`);
  const hostKey = sandboxKeyPair(`paas-sandbox-${name}-host`);
  const keyPath = path.join(dir, 'id_ed25519');
  await fs.writeFile(keyPath, client.private, { mode: 0o600 });
  await fs.writeFile(`${keyPath}.pub`, `${client.public}\n`, { mode: 0o644 });
  return { keyPath, hostKey };
}

function filesArchive(files: { name: string; content: string; mode: number }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const file of files) pack.entry({ name: file.name, mode: file.mode, uid: 0, gid: 0 }, file.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (chunk: unknown) => { chunks.push(chunk as Buffer); });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

/** The host port of a container port: the fixed one it was created with, else (a sandbox of an older paas) the one the engine picked at start. */
function publishedPort(inspect: Docker.ContainerInspectInfo, port: string): number {
  const fixed = Number((inspect.HostConfig.PortBindings as Record<string, { HostPort?: string }[] | undefined> | undefined)?.[port]?.[0]?.HostPort);
  if (fixed > 0) return fixed;
  const binding = inspect.NetworkSettings.Ports?.[port]?.[0];
  return binding ? Number(binding.HostPort) : 0;
}

/** Three different ports free on 127.0.0.1 now: each one the kernel's pick for port 0, released again. */
export async function freeLoopbackPorts(): Promise<SandboxPorts> {
  const servers = await Promise.all([0, 1, 2].map(() => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const [ssh, http, https] = servers.map((server) => (server.address() as net.AddressInfo).port) as [number, number, number];
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return { ssh, http, https };
}

/** Whether the engine refused to start a container because a host port it publishes is in use. */
export function portTaken(error: unknown): boolean {
  return /port is already allocated|address already in use/i.test(error instanceof Error ? error.message : String(error));
}

async function describe(docker: Docker, name: string): Promise<SandboxInfo | undefined> {
  let inspect: Docker.ContainerInspectInfo;
  try {
    inspect = await docker.getContainer(containerName(name)).inspect();
  } catch {
    return undefined;
  }
  const dir = sandboxDir(name);
  const sshPort = publishedPort(inspect, '22/tcp');
  const knownHostsPath = path.join(dir, 'known_hosts');
  const hostKey = await fs.readFile(path.join(dir, 'host_key.pub'), 'utf8').catch(() => '');
  const labels = inspect.Config.Labels ?? {};
  const user = labels[USER_LABEL] ?? 'root';
  return {
    name,
    container: inspect.Id,
    state: inspect.State.Status,
    flavour: (labels[FLAVOUR_LABEL] ?? 'bookworm') as SandboxFlavour,
    containerdStore: labels[CONTAINERD_STORE_LABEL] === 'true',
    user,
    url: `ssh://${user}@127.0.0.1:${sshPort}`,
    sshPort,
    httpPort: publishedPort(inspect, '80/tcp'),
    httpsPort: publishedPort(inspect, '443/tcp'),
    keyPath: path.join(dir, 'id_ed25519'),
    knownHostsPath,
    hostKey: hostKey.trim(),
  };
}

/** paas's own known_hosts, consulted beside ~/.ssh/known_hosts: sandboxes are trusted through it. */
export const paasKnownHostsFile = () => path.join(paasHome(), 'known_hosts');

/**
 * Records the sandbox's host key for its SSH port, in its own known_hosts file (for
 * `ssh -o UserKnownHostsFile=`) and in paas's. A new sandbox can get a port an old one had (and
 * a sandbox of an older paas a new port at each start), so any earlier entry for the port is replaced.
 */
async function writeKnownHosts(info: SandboxInfo): Promise<void> {
  const [, blob] = info.hostKey.split(' ');
  const key = Buffer.from(blob!, 'base64');
  await fs.writeFile(info.knownHostsPath, `${knownHostLine('127.0.0.1', info.sshPort, key)}\n`);
  await removeKnownHost(paasKnownHostsFile(), '127.0.0.1', info.sshPort);
  await addKnownHost(paasKnownHostsFile(), '127.0.0.1', info.sshPort, key);
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    // sshd speaks first: a banner means it is really up, not just the port proxy.
    socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('SSH-')); });
    socket.once('error', () => resolve(false));
    // docker-proxy accepts and then hangs up while nothing listens inside yet.
    socket.once('close', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

async function innerDockerAnswers(docker: Docker, container: string): Promise<boolean> {
  const exec = await docker.getContainer(container).exec({ Cmd: ['docker', 'version', '--format', '{{.Server.Version}}'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise((resolve) => { stream.on('end', resolve); stream.on('error', resolve); stream.resume(); });
  return (await exec.inspect()).ExitCode === 0;
}

/** 3 minutes: a sandbox's inner Docker Engine was seen to take more than 90 s to answer on a busy 2-core machine (CI with other work running). */
async function waitReady(docker: Docker, info: SandboxInfo, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = (await docker.getContainer(info.container).inspect()).State;
    if (!state.Running) break;
    if ((await tcpAccepts(info.sshPort)) && (await innerDockerAnswers(docker, info.container))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const logs = (await docker.getContainer(info.container).logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
  throw new PaasError('sandbox', `sandbox ${info.name} did not become ready (sshd and its Docker Engine) within ${timeoutMs / 1000} s`, {
    details: logs.split('\n').filter(Boolean).slice(-20),
    hint: `look inside with \`docker exec -it ${containerName(info.name)} cat /var/log/dockerd.log\`, then \`paas sandbox:down ${info.name}\``,
  });
}

/** Creates (or starts again) the sandbox NAME and waits until SSH and its inner engine answer. */
export async function sandboxUp(docker: Docker, name: string, report: (line: string) => void = () => {}, options: SandboxOptions = {}): Promise<SandboxInfo> {
  checkSandboxName(name);
  const made = checkSandboxOptions(options);
  const existing = await describe(docker, name);
  const asked = (options.flavour !== undefined || options.containerdStore !== undefined || options.user !== undefined);
  if (existing && asked && (existing.flavour !== made.flavour || existing.containerdStore !== made.containerdStore || existing.user !== (made.user ?? 'root'))) {
    throw new PaasError('usage', `the sandbox ${name} exists as ${describeMade(existing)}, not ${describeMade({ ...made, user: made.user ?? 'root' })}`, {
      hint: `remove it with \`paas sandbox:down ${name}\` first, or run \`paas sandbox:up ${name}\` without those flags`,
    });
  }
  if (existing && !existing.hostKey) {
    throw new PaasError('sandbox', `a sandbox named ${name} exists, but its keys are not in ${sandboxDir(name)}`, {
      hint: `it was made with another PAAS_HOME: use that one, or remove it with \`paas sandbox:down ${name}\` and start it again`,
    });
  }
  if (existing) {
    if (existing.state !== 'running') {
      report(`starting the existing sandbox ${name}`);
      await docker.getContainer(existing.container).start().catch((error: unknown) => {
        if (!portTaken(error)) throw error;
        throw new PaasError('sandbox', `sandbox ${name} cannot start: one of its ports (127.0.0.1:${existing.sshPort}, ${existing.httpPort}, ${existing.httpsPort}) is taken`, {
          details: [error instanceof Error ? error.message : String(error)],
          hint: `stop what listens there (\`ss -ltnp\`), or remove the sandbox with \`paas sandbox:down ${name}\` and start a new one`,
        });
      });
    }
    const info = (await describe(docker, name))!;
    await writeKnownHosts(info);
    await waitReady(docker, info);
    return info;
  }
  const image = await ensureSandboxImage(docker, made.flavour, report);
  const { keyPath, hostKey } = await writeKeys(name, options.identity);
  const publicKey = await fs.readFile(`${keyPath}.pub`, 'utf8');
  const files = await filesArchive([
    { name: 'etc/ssh/ssh_host_ed25519_key', content: hostKey.private, mode: 0o600 },
    { name: 'etc/ssh/ssh_host_ed25519_key.pub', content: `${hostKey.public}\n`, mode: 0o644 },
    ...(made.user
      ? [
          // The init script makes the user and puts the key in its home (sandbox/init.sh).
          { name: 'etc/paas-sandbox/user', content: `${made.user}\n`, mode: 0o644 },
          { name: 'etc/paas-sandbox/authorized_keys', content: publicKey, mode: 0o600 },
          // Read before paas-sandbox.conf: sshd takes the first value it reads.
          { name: 'etc/ssh/sshd_config.d/00-paas-user.conf', content: 'PermitRootLogin no\n', mode: 0o644 },
        ]
      : [{ name: 'root/.ssh/authorized_keys', content: publicKey, mode: 0o600 }]),
    ...(made.containerdStore ? [{ name: 'etc/docker/daemon.json', content: `${JSON.stringify({ features: { 'containerd-snapshotter': true } })}\n`, mode: 0o644 }] : []),
  ]);
  try {
    await createAndStart(docker, name, image, files, made, report, options.freePorts ?? freeLoopbackPorts);
    await fs.writeFile(path.join(sandboxDir(name), 'host_key.pub'), `${hostKey.public}\n`);
    const info = (await describe(docker, name))!;
    await writeKnownHosts(info);
    report(`waiting for sshd and the inner Docker Engine on 127.0.0.1:${info.sshPort}`);
    await waitReady(docker, info);
    return info;
  } catch (error) {
    await sandboxDown(docker, name).catch(() => {});
    throw error;
  }
}

/**
 * Creates the sandbox's container on free loopback ports, puts its keys in and starts it. A port
 * can be taken between choosing it and the start: then the container goes and new ports are tried.
 */
async function createAndStart(docker: Docker, name: string, image: string, files: Buffer, made: ReturnType<typeof checkSandboxOptions>, report: (line: string) => void, freePorts: () => Promise<SandboxPorts>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const ports = await freePorts();
    report(`creating container ${containerName(name)} (ssh 127.0.0.1:${ports.ssh}, http ${ports.http}, https ${ports.https})`);
    const container = await docker.createContainer(sandboxContainerSpec(name, image, ports, made));
    try {
      await container.putArchive(files, { path: '/' });
      await container.start();
      return;
    } catch (error) {
      if (!portTaken(error) || attempt >= attempts) throw error;
      report(`a port was taken meanwhile (${error instanceof Error ? error.message : String(error)}); trying others`);
      await container.remove({ force: true });
    }
  }
}

/** Removes the sandbox's container, its Docker volume and its keys. Quiet when there is nothing. */
export async function sandboxDown(docker: Docker, name: string): Promise<{ removed: string[] }> {
  checkSandboxName(name);
  const removed: string[] = [];
  const info = await describe(docker, name);
  if (info?.sshPort) await removeKnownHost(paasKnownHostsFile(), '127.0.0.1', info.sshPort);
  try {
    await docker.getContainer(containerName(name)).remove({ force: true, v: true });
    removed.push(`container ${containerName(name)}`);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  try {
    await docker.getVolume(volumeName(name)).remove();
    removed.push(`volume ${volumeName(name)}`);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  const dir = sandboxDir(name);
  if (await fs.stat(dir).then(() => true, () => false)) {
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(`keys ${dir}`);
  }
  return { removed };
}

export async function sandboxList(docker: Docker): Promise<SandboxInfo[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } });
  const names = containers.map((c) => c.Labels[SANDBOX_LABEL]!).filter(Boolean).sort();
  const infos = await Promise.all(names.map((name) => describe(docker, name)));
  return infos.filter((i): i is SandboxInfo => Boolean(i));
}
