import { describe, expect, it } from 'vitest';
import { END_FRAME, FrameDecoder, encodeFrame } from '../../src/host/frames.js';

function decodeAll(chunks: Buffer[]): { data: Buffer; ended: boolean } {
  const parts: Buffer[] = [];
  let ended = false;
  const decoder = new FrameDecoder((d) => parts.push(Buffer.from(d)), () => { ended = true; });
  for (const chunk of chunks) decoder.push(chunk);
  return { data: Buffer.concat(parts), ended };
}

describe('stdin frames of paas run', () => {
  it('round-trips bytes split at any point, then the end frame', () => {
    const payload = Buffer.from('héllo\n\0\xff world', 'latin1');
    const stream = Buffer.concat([...encodeFrame(payload), ...encodeFrame(Buffer.from('!')), END_FRAME]);
    for (let cut = 0; cut <= stream.length; cut += 1) {
      expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual({ data: Buffer.concat([payload, Buffer.from('!')]), ended: true });
    }
    // One byte at a time.
    expect(decodeAll([...stream].map((b) => Buffer.from([b])))).toEqual({ data: Buffer.concat([payload, Buffer.from('!')]), ended: true });
  });
  it('no end frame: not ended (the agent reads that as a dropped connection)', () => {
    expect(decodeAll(encodeFrame(Buffer.from('abc')))).toEqual({ data: Buffer.from('abc'), ended: false });
  });
  it('splits large chunks into frames of at most 1 MiB', () => {
    const frames = encodeFrame(Buffer.alloc((1 << 20) + 5, 7));
    expect(frames.map((f) => f.length)).toEqual([4, 1 << 20, 4, 5]);
    expect(frames[0]!.readUInt32BE(0)).toBe(1 << 20);
  });
  it('refuses an oversized frame header', () => {
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE((1 << 20) + 1);
    expect(() => decodeAll([bad])).toThrow('larger than');
  });
});
