import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';

const world = testWorld('cut');
const app = 'cutme';
const example = copyExample('static');
let host: TestHost;

/** A TCP proxy to the sandbox's sshd that cuts every connection once `cutAfter` bytes went up. */
function cuttingProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  const state = { cutAfter: Infinity, forwarded: 0, cut: false };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('data', (chunk: Buffer) => {
      state.forwarded += chunk.length;
      if (state.forwarded > state.cutAfter) {
        state.cut = true;
        for (const socket of sockets) socket.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return {
    state,
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

let proxy: ReturnType<typeof cuttingProxy>;
let proxyPort: number;

beforeAll(async () => {
  host = await world.addHost('a');
  proxy = cuttingProxy(host.sshPort);
  proxyPort = await proxy.listen();
  // The proxy's address presents the sandbox's host key: trust it there too.
  appendFileSync(path.join(world.env.PAAS_HOME!, 'known_hosts'), `[127.0.0.1]:${proxyPort} ${host.hostKey.split(' ').slice(0, 2).join(' ')}\n`);
});
afterAll(async () => {
  await proxy.close();
  await world.cleanup();
  example.cleanup();
});

describe('an SSH connection cut in the middle of the push', () => {
  it('leaves the host unchanged, and the retry succeeds', async () => {
    const deploy = (via: string, ...extra: string[]) => world.cli(['deploy', example.dir, '--app', app, '--host', via, '--identity', host.keyPath, ...extra]);
    expect((await deploy(host.url)).exitCode).toBe(0);
    expect((await viaNginx(host, app)).body).toContain('version 1');

    // v2 brings 20 MB that do not compress: its push takes a while, and is cut after 5 MB.
    writeFileSync(path.join(example.dir, 'big.bin'), randomBytes(20 * 1024 * 1024));
    const index = path.join(example.dir, 'index.html');
    writeFileSync(index, readFileSync(index, 'utf8').replace('version 1', 'version 2'));
    proxy.state.cutAfter = 5 * 1024 * 1024;
    const cut = await deploy(`ssh://root@127.0.0.1:${proxyPort}`);
    expect(proxy.state.cut).toBe(true);
    expect(cut.exitCode, cut.stderr.slice(-2000)).toBe(8);
    expect(cut.stderr).toMatch(/SSH connection was lost|cannot connect over SSH|connection/i);

    // The host is as it was: v1 serves, v1 is the current release, no v2 container runs.
    expect((await viaNginx(host, app)).body).toContain('version 1');
    const info = await world.cliJson<{ current: number; containers: { name: string }[] }[]>(['apps:info', '--app', app, ...world.at(host)]);
    expect(info[0]!.current).toBe(1);
    expect(info[0]!.containers.map((c) => c.name)).toEqual([`paas-${app}.web.1.v1`]);

    // The retry (the lock of the cut session is free again) deploys v2.
    const retry = await deploy(host.url, '--wait', '--json');
    expect(retry.exitCode, retry.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(retry.stdout).release).toBe(2);
    expect((await viaNginx(host, app)).body).toContain('version 2');
  });
});
