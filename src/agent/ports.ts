import net from 'node:net';
import { docker } from './exec.js';

/** Loopback ports paas gives web replicas; below Linux's default ephemeral range (32768+). */
export const PORT_RANGE = { from: 20000, to: 29999 } as const;

/** Host ports that containers on this engine have bound, running or stopped (they come back). */
async function boundByContainers(): Promise<Set<number>> {
  const ids = (await docker(['ps', '--all', '--quiet'])).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return new Set();
  // A container listed above may be gone by now (an earlier release's drain removes its own):
  // docker then exits 1 but still prints the others.
  const { stdout } = await docker(['inspect', '--format', '{{json .HostConfig.PortBindings}}', ...ids], { check: false });
  const ports = new Set<number>();
  for (const match of stdout.matchAll(/"HostPort":"(\d+)"/g)) ports.add(Number(match[1]));
  return ports;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` free loopback ports in PORT_RANGE, picked at random so concurrent deploys rarely meet. */
export async function allocatePorts(count: number): Promise<number[]> {
  const taken = await boundByContainers();
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
