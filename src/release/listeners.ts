/** Which sockets listen on a port, from the kernel's /proc/net/tcp and tcp6 tables (pure). */

export interface Listener { port: number; inode: string }

/** The LISTEN sockets (state 0A) of a /proc/net/tcp or tcp6 table: their local port and inode. */
export function parseListeners(table: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    if (fields.length < 10 || fields[3] !== '0A') continue;
    const port = Number.parseInt(fields[1]!.split(':').at(-1) ?? '', 16);
    if (Number.isInteger(port) && /^\d+$/.test(fields[9]!)) listeners.push({ port, inode: fields[9]! });
  }
  return listeners;
}
