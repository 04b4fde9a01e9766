import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { PaasError } from '../errors.js';
import { MAX_FRAME } from './protocol.js';

const MAX_LINE = 4 * 1024 * 1024;
/** Above this much unread input, stdin pauses until it is read. */
const HIGH_WATER = 8 * 1024 * 1024;

/**
 * Reads a session's stdin (see the `deploy` verb): JSON lines, some followed by data in frames
 * ([4-byte big-endian length][bytes], a frame of length 0 ends it; the codec is in protocol.ts).
 * The end of stdin is the end of the session; it may come at any point (a dropped connection).
 */
export class MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      if (this.buffer.length > HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.on('end', () => { this.ended = true; this.notify(); });
    stream.on('error', (error) => { this.failure = error; this.ended = true; this.notify(); });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for more input; false when there will be none. */
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    this.stream.resume();
    await new Promise<void>((resolve) => { this.wake = resolve; });
    return true;
  }

  private take(length: number): Buffer {
    const taken = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return taken;
  }

  /** The next line (without its newline), or undefined when stdin ended between messages. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0) {
        const line = this.take(newline + 1).subarray(0, newline).toString('utf8');
        return line;
      }
      if (this.buffer.length > MAX_LINE) throw new PaasError('usage', `a request line is longer than ${MAX_LINE} bytes`);
      if (!(await this.more())) {
        if (this.buffer.length) throw this.cut('in the middle of a request line');
        return undefined;
      }
    }
  }

  /** Copies framed data into `sink` up to its end frame, then ends the sink. */
  async frames(sink: Writable): Promise<void> {
    try {
      for (;;) {
        while (this.buffer.length < 4) if (!(await this.more())) throw this.cut('in the middle of the data');
        const length = this.buffer.readUInt32BE(0);
        if (length > MAX_FRAME) throw new PaasError('usage', `a data frame of ${length} bytes is larger than ${MAX_FRAME}`);
        while (this.buffer.length < 4 + length) if (!(await this.more())) throw this.cut('in the middle of the data');
        this.take(4);
        if (length === 0) break;
        if (!sink.write(this.take(length))) await once(sink, 'drain');
      }
      sink.end();
    } catch (error) {
      sink.destroy(error as Error);
      throw error;
    }
  }

  private cut(where: string): Error {
    return this.failure ?? new PaasError('ssh', `the request ended ${where} (the connection was lost?)`);
  }
}
