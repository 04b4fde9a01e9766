import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MessageReader } from '../../src/agent/messages.js';
import { END_FRAME, encodeFrame } from '../../src/agent/protocol.js';

/** What the agent reads from these chunks: the data, and whether the end frame came (else stdin ended first, or a frame was refused). */
async function decodeAll(chunks: Buffer[]): Promise<{ data: Buffer; ended: boolean }> {
  const parts: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, callback) { parts.push(Buffer.from(chunk)); callback(); } });
  sink.on('error', () => {});
  const stdin = new PassThrough();
  const reading = new MessageReader(stdin).frames(sink).then(() => true, (error: unknown) => {
    if (String(error).includes('larger than')) throw error;
    return false;
  });
  for (const chunk of chunks) stdin.write(chunk);
  stdin.end();
  const ended = await reading;
  return { data: Buffer.concat(parts), ended };
}

describe('stdin frames of paas run', () => {
  it('round-trips bytes split at any point, then the end frame', async () => {
    const payload = Buffer.from('héllo\n\0\xff world', 'latin1');
    const stream = Buffer.concat([...encodeFrame(payload), ...encodeFrame(Buffer.from('!')), END_FRAME]);
    for (let cut = 0; cut <= stream.length; cut += 1) {
      expect(await decodeAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual({ data: Buffer.concat([payload, Buffer.from('!')]), ended: true });
    }
    // One byte at a time.
    expect(await decodeAll([...stream].map((b) => Buffer.from([b])))).toEqual({ data: Buffer.concat([payload, Buffer.from('!')]), ended: true });
  });
  it('no end frame: not ended (the agent reads that as a dropped connection)', async () => {
    expect(await decodeAll(encodeFrame(Buffer.from('abc')))).toEqual({ data: Buffer.from('abc'), ended: false });
  });
  it('splits large chunks into frames of at most 1 MiB', () => {
    const frames = encodeFrame(Buffer.alloc((1 << 20) + 5, 7));
    expect(frames.map((f) => f.length)).toEqual([4, 1 << 20, 4, 5]);
    expect(frames[0]!.readUInt32BE(0)).toBe(1 << 20);
  });
  it('refuses an oversized frame header', async () => {
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE((1 << 20) + 1);
    await expect(decodeAll([bad])).rejects.toThrow('larger than');
  });
});
