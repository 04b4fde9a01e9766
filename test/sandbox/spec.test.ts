import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freeLoopbackPorts, portTaken, sandboxContainerSpec } from '../../src/sandbox/index.js';

describe('a sandbox container', () => {
  it('is created with the Docker-in-Docker flags that work and fixed ports on loopback only', () => {
    expect(sandboxContainerSpec('web1', 'paas-sandbox:0123456789ab', { ssh: 40022, http: 40080, https: 40443 })).toEqual({
      name: 'paas-sandbox-web1',
      Image: 'paas-sandbox:0123456789ab',
      Hostname: 'web1',
      Labels: { 'paas.sandbox': 'web1', 'paas.sandbox.flavour': 'bookworm' },
      ExposedPorts: { '22/tcp': {}, '80/tcp': {}, '443/tcp': {} },
      HostConfig: {
        CapAdd: ['ALL'],
        CapDrop: ['SYS_RESOURCE'],
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        Tmpfs: { '/run': 'rw,exec', '/tmp': 'rw,exec' },
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup'],
        Mounts: [{ Type: 'volume', Source: 'paas-sandbox-web1-docker', Target: '/var/lib/docker' }],
        PortBindings: {
          '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '40022' }],
          '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '40080' }],
          '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '40443' }],
        },
      },
    });
  });

  it('gets three different ports that are free on 127.0.0.1', async () => {
    const ports = await freeLoopbackPorts();
    const values = [ports.ssh, ports.http, ports.https];
    expect(new Set(values).size).toBe(3);
    for (const port of values) {
      expect(port).toBeGreaterThan(0);
      await new Promise<void>((resolve, reject) => {
        const server = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });

  it('tells a port taken at start from other failures', () => {
    expect(portTaken(new Error('(HTTP code 500) server error - driver failed programming external connectivity on endpoint paas-sandbox-a (0f3c): Bind for 127.0.0.1:40022 failed: port is already allocated'))).toBe(true);
    expect(portTaken(new Error('(HTTP code 500) server error - driver failed programming external connectivity on endpoint paas-sandbox-a: Error starting userland proxy: listen tcp4 127.0.0.1:40080: bind: address already in use'))).toBe(true);
    expect(portTaken(new Error('(HTTP code 404) no such container - No such image: paas-sandbox:0123'))).toBe(false);
    expect(portTaken('cgroup mountpoint does not exist')).toBe(false);
  });
});

describe('sandbox kinds', () => {
  it('labels the container with how it was made: flavour, image store, user', async () => {
    const { sandboxContainerSpec } = await import('../../src/sandbox/index.js');
    expect(sandboxContainerSpec('t', 'paas-sandbox:x-trixie', { ssh: 1, http: 2, https: 3 }, { flavour: 'trixie', containerdStore: true, user: 'admin' }).Labels)
      .toEqual({ 'paas.sandbox': 't', 'paas.sandbox.flavour': 'trixie', 'paas.sandbox.containerd-store': 'true', 'paas.sandbox.user': 'admin' });
  });

  it('refuses a flavour, image store or user it cannot make, before anything is made', async () => {
    const { checkSandboxOptions } = await import('../../src/sandbox/index.js');
    expect(checkSandboxOptions({})).toEqual({ flavour: 'bookworm', containerdStore: false });
    expect(checkSandboxOptions({ flavour: 'trixie', containerdStore: true, user: 'admin' })).toEqual({ flavour: 'trixie', containerdStore: true, user: 'admin' });
    expect(() => checkSandboxOptions({ flavour: 'jessie' as never })).toThrow(/--flavour: "jessie" is not a sandbox flavour/);
    expect(() => checkSandboxOptions({ containerdStore: true })).toThrow(/bookworm flavour's Docker Engine has no containerd image store/);
    for (const user of ['root', 'Admin', '-x', 'a b', 'x'.repeat(40), '../etc']) expect(() => checkSandboxOptions({ user }), user).toThrow(/--user: /);
  });

  it('names one image per flavour', async () => {
    const { sandboxImage } = await import('../../src/sandbox/index.js');
    expect(sandboxImage()).toMatch(/^paas-sandbox:[0-9a-f]{12}$/);
    expect(sandboxImage('trixie')).toMatch(/^paas-sandbox:[0-9a-f]{12}-trixie$/);
  });
});
