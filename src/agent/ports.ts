import net from 'node:net';
import { engineGet } from './engine.js';

/** Loopback ports paas gives web replicas; below Linux's default ephemeral range (32768+). */
export const PORT_RANGE = { from: 20000, to: 29999 } as const;

/** Host ports that containers on this engine have bound, running or stopped (they come back). */
export async function boundByContainers(): Promise<Set<number>> {
  const listed = await engineGet<{ Id: string }[]>('/containers/json?all=1');
  if (listed.status !== 200 || !listed.body) throw new Error(`the Docker Engine did not list its containers (${listed.status})`);
  // A container listed above may be gone by now (an earlier release's drain removes its own): 404, skipped.
  const inspected = await Promise.all(listed.body.map((c) => engineGet<{ HostConfig?: { PortBindings?: Record<string, { HostPort?: string }[] | null> | null } }>(`/containers/${c.Id}/json`)));
  const ports = new Set<number>();
  for (const { body } of inspected) {
    for (const bindings of Object.values(body?.HostConfig?.PortBindings ?? {})) {
      for (const binding of bindings ?? []) if (binding.HostPort) ports.add(Number(binding.HostPort));
    }
  }
  return ports;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` free loopback ports in PORT_RANGE, picked at random so concurrent deploys rarely meet.
 * `taken`: ports containers hold (boundByContainers, maybe read a moment ago); each pick is also
 * checked by listening on it.
 */
export async function allocatePorts(count: number, taken?: Set<number>): Promise<number[]> {
  taken ??= await boundByContainers();
  const chosen: number[] = [];
  const size = PORT_RANGE.to - PORT_RANGE.from + 1;
  for (let attempt = 0; chosen.length < count && attempt < size; attempt += 1) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * size);
    if (taken.has(port) || chosen.includes(port)) continue;
    if (await canListen(port)) chosen.push(port);
  }
  if (chosen.length < count) throw new Error(`no free loopback port in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
  return chosen;
}
