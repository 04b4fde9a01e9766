import { execa } from 'execa';
import { appendFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestHost } from './hosts.js';

/** A command run inside a sandbox host (as root), not through paas. */
export const onHost = (host: TestHost, ...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });

/**
 * The agent's failpoints (src/agent/failpoints.ts): a file /run/paas/failpoints/<name> on the
 * host holding `kill` (the agent kills itself with SIGKILL there) or `pause` (it waits there,
 * having written <name>.reached, until the file goes).
 */
export const failpoints = {
  async arm(host: TestHost, name: string, action: 'kill' | 'pause'): Promise<void> {
    const dir = '/run/paas/failpoints';
    const result = await onHost(host, 'sh', '-c', 'mkdir -p "$1" && rm -f "$1/$2.reached" && printf %s "$3" > "$1/$2"', 'sh', dir, name, action);
    if (result.exitCode !== 0) throw new Error(`cannot arm ${name}: ${result.stderr}`);
  },
  async disarm(host: TestHost, name: string): Promise<void> {
    await onHost(host, 'rm', '-f', `/run/paas/failpoints/${name}`, `/run/paas/failpoints/${name}.reached`);
  },
  /** Waits until an agent paused at the point (or the timeout passes: false). */
  async reached(host: TestHost, name: string, timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await onHost(host, 'test', '-f', `/run/paas/failpoints/${name}.reached`)).exitCode === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  },
};

/** Whether the app's lock on the host is free now (flock(1) on the agent's lock file). */
export async function lockFree(host: TestHost, app: string): Promise<boolean> {
  // No lock file (a host that just restarted: /run is empty) is no lock.
  return (await onHost(host, 'sh', '-c', '[ ! -e "$1" ] || flock --nonblock --exclusive "$1" true', 'sh', `/run/paas/locks/${app}.lock`)).exitCode === 0;
}

export async function waitLockFree(host: TestHost, app: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await lockFree(host, app)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the lock of ${app} is still held after ${timeoutMs} ms`);
}

/**
 * A TCP proxy to a host's sshd whose cut() drops every connection open through it at that moment
 * (an SSH connection that breaks); connections made afterwards go through again.
 */
export function cuttableProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return {
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    cut: () => { const open = sockets.size; for (const s of sockets) s.destroy(); sockets.clear(); return open; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** Trusts the host's key at another address (a proxy in front of it), in the world's known_hosts. */
export function trustAt(paasHome: string, port: number, host: TestHost): void {
  appendFileSync(path.join(paasHome, 'known_hosts'), `[127.0.0.1]:${port} ${host.hostKey.split(' ').slice(0, 2).join(' ')}\n`);
}

/** What hashes one path: a link's target, a file's mode and content, a directory's mode. */
const DESCRIBE = 'for f; do if [ -L "$f" ]; then printf "%s -> %s\\n" "$f" "$(readlink "$f")"; elif [ -f "$f" ]; then printf "%s %s %s\\n" "$f" "$(stat -c %a "$f")" "$(sha256sum < "$f" | cut -c1-64)"; elif [ -d "$f" ]; then printf "%s/ %s\\n" "$f" "$(stat -c %a "$f")"; else printf "%s ?\\n" "$f"; fi; done';

/**
 * The listing (path, mode, content hash, link target) of every entry under the given directories
 * on the host, minus `exclude` (find -path patterns): "byte-identical" is this equal before and after.
 */
export async function hostListing(host: TestHost, dirs: string[], exclude: string[] = []): Promise<string> {
  const prune = exclude.flatMap((p) => ['-path', p, '-prune', '-o']);
  const result = await onHost(host, 'sh', '-c', `find "$@" | LC_ALL=C sort -z | xargs -0 -r sh -c '${DESCRIBE}' sh`, 'sh', ...dirs, ...prune, '-print0');
  if (result.exitCode !== 0) throw new Error(`cannot list the host: ${result.stderr}`);
  return result.stdout;
}
