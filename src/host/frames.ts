/*
 * stdin of `paas run` without a TTY travels framed: [4-byte big-endian length][bytes], and a
 * frame of length 0 means "the user's stdin ended". The agent can then tell the end of the
 * user's input (close the container's stdin, let it finish) from a dropped connection or Ctrl-C
 * (the SSH channel's stdin ends with no end frame: remove the container).
 */

export const MAX_FRAME = 1 << 20;

export function encodeFrame(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME) {
    const part = data.subarray(at, at + MAX_FRAME);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(part.length);
    frames.push(header, part);
  }
  return frames;
}

export const END_FRAME = Buffer.alloc(4);

/** Incremental decoder: push chunks as they come; onData for payloads, onEnd once at the end frame. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  ended = false;

  constructor(private readonly onData: (data: Buffer) => void, private readonly onEnd: () => void) {}

  push(chunk: Buffer): void {
    if (this.ended) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length > MAX_FRAME) throw new Error(`stdin frame of ${length} bytes is larger than ${MAX_FRAME}`);
      if (length === 0) {
        this.ended = true;
        this.pending = Buffer.alloc(0);
        this.onEnd();
        return;
      }
      if (this.pending.length < 4 + length) return;
      this.onData(this.pending.subarray(4, 4 + length));
      this.pending = this.pending.subarray(4 + length);
    }
  }
}
