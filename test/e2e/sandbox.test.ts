import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import Docker from 'dockerode';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SshConnection } from '../../src/ssh/client.js';
import { PaasError } from '../../src/errors.js';
import { freeLoopbackPorts, sandboxDown, sandboxUp } from '../../src/sandbox/index.js';
import { paas, paasJson, runId, scratchDir } from './helpers.js';

interface SandboxJson {
  name: string;
  container: string;
  url: string;
  sshPort: number;
  httpPort: number;
  httpsPort: number;
  keyPath: string;
  knownHostsPath: string;
  hostKey: string;
}

const docker = new Docker();
const home = scratchDir('paas-home-');
const env = { PAAS_HOME: home.dir };
const name = `t-${runId}`;
const restarted = `t-${runId}-r`;
const raced = `t-${runId}-p`;

afterAll(async () => {
  await paas(['sandbox:down', name], { env });
  await paas(['sandbox:down', restarted], { env });
  await paas(['sandbox:down', raced], { env });
  home.cleanup();
});

/** The first bytes a server on 127.0.0.1:port sends ('' when nothing answers within a second). */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('data', (data) => { socket.destroy(); resolve(data.toString('latin1')); });
    socket.once('error', () => resolve(''));
    socket.once('close', () => resolve(''));
    socket.once('timeout', () => { socket.destroy(); resolve(''); });
  });
}

async function sshBannerWithin(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline && !seen.startsWith('SSH-')) {
    seen = await banner(port);
    if (!seen.startsWith('SSH-')) await new Promise((r) => setTimeout(r, 250));
  }
  return seen;
}

/** Accepts only the given "type base64" host keys; anything else is refused as a host-key error. */
function target(sandbox: SandboxJson, hostKeys: string[]) {
  const accepted = new Set(hostKeys.map((k) => k.split(' ')[1]));
  return {
    host: '127.0.0.1', port: sandbox.sshPort, username: 'root', privateKey: readFileSync(sandbox.keyPath),
    verifyHostKey: (key: Buffer) => (accepted.has(key.toString('base64')) ? undefined : new PaasError('hostKey', 'not trusted')),
  };
}

describe('sandbox servers', () => {
  it('comes up, accepts SSH with its key, runs docker inside, and goes down leaving nothing', async () => {
    const sandbox = await paasJson<SandboxJson>(['sandbox:up', name], { env });
    expect(sandbox.url).toBe(`ssh://root@127.0.0.1:${sandbox.sshPort}`);
    expect(sandbox.httpPort).toBeGreaterThan(0);

    // Ports are published on loopback only.
    const inspect = await docker.getContainer(sandbox.container).inspect();
    for (const bindings of Object.values(inspect.NetworkSettings.Ports)) {
      for (const binding of bindings ?? []) expect(binding.HostIp).toBe('127.0.0.1');
    }

    // Its host key is the one recorded in its known_hosts file.
    const knownHosts = readFileSync(sandbox.knownHostsPath, 'utf8').trim();
    expect(knownHosts).toBe(`[127.0.0.1]:${sandbox.sshPort} ${sandbox.hostKey.split(' ').slice(0, 2).join(' ')}`);
    const ssh = await SshConnection.connect(target(sandbox, [knownHosts.split(' ').slice(1).join(' ')]));
    try {
      const version = await ssh.exec(['docker', 'version', '--format', '{{.Server.Version}}']);
      expect(version.code, version.stderr).toBe(0);
      expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      // Its engine is its own: none of the laptop's images are there.
      const images = await ssh.exec(['docker', 'images', '-q']);
      expect(images.stdout.trim()).toBe('');
      // Arguments arrive byte-exact through the one quoting function.
      const hostile = ["it's", '$(touch /tmp/pwned)', 'a b;c', '`id`', '"q"', '\\', '\n', ''];
      const echoed = await ssh.exec(['printf', '%s\\0', ...hostile]);
      expect(echoed.stdout.split('\0').slice(0, -1)).toEqual(hostile);
      expect((await ssh.exec(['test', '-e', '/tmp/pwned'])).code).toBe(1);
    } finally {
      ssh.close();
    }

    // A host key other than the recorded one is refused.
    const stranger = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ').slice(0, 2).join(' ');
    const refused = await SshConnection.connect(target(sandbox, [stranger])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PaasError);
    expect((refused as PaasError).kind).toBe('hostKey');

    // Idempotent: up again returns the same running sandbox; list shows it.
    const again = await paasJson<SandboxJson>(['sandbox:up', name], { env });
    expect(again.container).toBe(sandbox.container);
    const listed = await paasJson<SandboxJson[]>(['sandbox:list'], { env });
    expect(listed.map((s) => s.name)).toContain(name);

    const down = await paasJson<{ removed: string[] }>(['sandbox:down', name], { env });
    expect(down.removed).toHaveLength(3);
    await expect(docker.getContainer(sandbox.container).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getVolume(`paas-sandbox-${name}-docker`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(existsSync(sandbox.keyPath)).toBe(false);
    const listedAfter = await paasJson<SandboxJson[]>(['sandbox:list'], { env });
    expect(listedAfter.map((s) => s.name)).not.toContain(name);
  });

  it('keeps its ports across a docker restart, and comes back whole: sshd, its Docker Engine and nginx', async () => {
    const sandbox = await paasJson<SandboxJson>(['sandbox:up', restarted], { env });
    const ports = [sandbox.sshPort, sandbox.httpPort, sandbox.httpsPort];
    expect(new Set(ports).size).toBe(3);
    // Published with fixed host ports, on loopback only.
    const bindings = (await docker.getContainer(sandbox.container).inspect()).HostConfig.PortBindings as Record<string, { HostIp: string; HostPort: string }[]>;
    expect(bindings).toEqual({
      '22/tcp': [{ HostIp: '127.0.0.1', HostPort: String(sandbox.sshPort) }],
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(sandbox.httpPort) }],
      '443/tcp': [{ HostIp: '127.0.0.1', HostPort: String(sandbox.httpsPort) }],
    });

    await docker.getContainer(sandbox.container).restart();
    expect(await sshBannerWithin(sandbox.sshPort, 60_000)).toMatch(/^SSH-2\.0-/);
    const again = await paasJson<SandboxJson>(['sandbox:up', restarted], { env });
    expect({ container: again.container, url: again.url, ports: [again.sshPort, again.httpPort, again.httpsPort] })
      .toEqual({ container: sandbox.container, url: sandbox.url, ports });

    // The same host key on the same port, the inner engine answering, nginx running again (/run is a fresh tmpfs).
    const knownHosts = readFileSync(again.knownHostsPath, 'utf8').trim();
    const ssh = await SshConnection.connect(target(again, [knownHosts.split(' ').slice(1).join(' ')]));
    try {
      const version = await ssh.exec(['docker', 'version', '--format', '{{.Server.Version}}']);
      expect(version.code, version.stderr).toBe(0);
      const nginx = await ssh.exec(['sh', '-c', 'kill -0 "$(cat /run/nginx.pid)" && nginx -t']);
      expect(nginx.code, nginx.stderr).toBe(0);
      expect((await ssh.exec(['test', '-d', '/run/sshd'])).code).toBe(0);
      // The inner engine was stopped, not killed: it stopped its containers itself and left its state clean.
      expect((await ssh.exec(['cat', '/var/log/dockerd.log'])).stdout).toContain('Daemon shutdown complete');
    } finally {
      ssh.close();
    }
  });

  it('tries other ports when one it chose is taken by the time the container starts', async () => {
    // Something takes the SSH port between the choice and the start.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    const picks = [{ ...(await freeLoopbackPorts()), ssh: taken }, await freeLoopbackPorts()];
    const lines: string[] = [];
    vi.stubEnv('PAAS_HOME', home.dir);
    try {
      const info = await sandboxUp(docker, raced, (line) => lines.push(line), { freePorts: async () => picks.shift() ?? freeLoopbackPorts() });
      expect(info.sshPort).not.toBe(taken);
      expect(await banner(info.sshPort)).toMatch(/^SSH-2\.0-/);
      expect(lines.filter((line) => line.startsWith('a port was taken meanwhile'))).toHaveLength(1);
      expect(lines.find((line) => line.startsWith('a port was taken meanwhile'))).toContain(`127.0.0.1:${taken}`);
      // The first container went: only one has the name.
      expect((await docker.listContainers({ all: true, filters: { label: [`paas.sandbox=${raced}`] } })).map((c) => c.Id)).toEqual([info.container]);
    } finally {
      squatter.close();
      await sandboxDown(docker, raced);
      vi.unstubAllEnvs();
    }
  });

  it('rejects a name that is not a plain label', async () => {
    const result = await paas(['sandbox:up', 'Bad;Name'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('invalid sandbox name');
  });
});
