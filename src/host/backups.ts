import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { END_FRAME, MAX_FRAME, encodeFrame } from '../agent/protocol.js';
import { PaasError } from '../errors.js';
import { asRoot, type HostAgent } from './agent.js';

/**
 * Brings an encrypted backup from the host to FILE, as it is (the agent's raw verb `backup-read`
 * writes it to stdout): through FILE.partial, renamed once the host said it sent it all.
 */
export async function downloadBackup(agent: HostAgent, service: string, id: string, file: string): Promise<number> {
  await agent.install();
  const channel = await agent.ssh.openChannel(asRoot(agent.ssh, ['node', agent.path, 'backup-read', service, id]));
  const partial = `${file}.partial`;
  let stderr = '';
  channel.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 8192) stderr += chunk.toString('utf8'); });
  const code = new Promise<number>((resolve) => channel.on('exit', (exit: number | null) => resolve(exit ?? 255)));
  try {
    await pipeline(channel, createWriteStream(partial, { mode: 0o600 }));
    const exit = await code;
    if (exit !== 0) throw new PaasError('host', `the host could not send backup ${id} of ${service}`, { details: stderr.trim().split('\n').slice(-5), hint: `see \`paas services:backups ${service}\`` });
    await fs.rename(partial, file);
    return (await fs.stat(file)).size;
  } finally {
    await fs.rm(partial, { force: true });
  }
}

/** The stdin of `services-restore --upload`: a JSON line ({key?}), then FILE in frames, then the end frame. */
export function uploadStream(file: string, key: string | undefined): Readable {
  async function* frames() {
    yield Buffer.from(`${JSON.stringify(key ? { key } : {})}\n`);
    for await (const chunk of createReadStream(file, { highWaterMark: MAX_FRAME })) yield* encodeFrame(chunk as Buffer);
    yield END_FRAME;
  }
  return Readable.from(frames());
}
