/*
 * stdin of `paas run` without a TTY (and a deploy session's source archive) travels framed: [4-byte big-endian length][bytes], and a
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

// The agent reads frames with MessageReader.frames (src/agent/messages.ts).
