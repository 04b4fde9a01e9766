import { describe, expect, it } from 'vitest';
import { AttachScanner, type AttachOutcome } from '../../src/host/run.js';

const ATTACHED = '{"type":"event","message":"paas-shop-run-1a2b3c4d","step":"attached"}';

/** Feeds the chunks in order; the first outcome, with what was said before it. */
function scan(chunks: Buffer[]): { outcome: AttachOutcome | undefined; said: string[] } {
  const scanner = new AttachScanner();
  for (const chunk of chunks) {
    const outcome = scanner.push(chunk);
    if (outcome) return { outcome, said: scanner.said() };
  }
  return { outcome: undefined, said: scanner.said() };
}

/** What runOnHost writes to stdout once attached (the rest of that chunk, then every later chunk as is), and what was said before. */
function attach(chunks: Buffer[]): { output: Buffer; said: string[] } | undefined {
  const scanner = new AttachScanner();
  for (const [index, chunk] of chunks.entries()) {
    const outcome = scanner.push(chunk);
    if (outcome?.kind === 'attached') return { output: Buffer.concat([outcome.rest, ...chunks.slice(index + 1)]), said: scanner.said() };
    if (outcome) return undefined;
  }
  return undefined;
}

/** The stream cut at every point into two chunks, and one byte at a time. */
function splits(stream: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let cut = 0; cut <= stream.length; cut += 1) ways.push([stream.subarray(0, cut), stream.subarray(cut)]);
  ways.push([...stream].map((byte) => Buffer.from([byte])));
  return ways;
}

describe('the head of a paas run channel', () => {
  it('attaches after any number of lines that are not the agent speaking, and keeps them', () => {
    const before = [
      'sudo: unable to resolve host web1: Name or service not known',
      '',
      'Welcome!',
      '[1,2]',
      '"a JSON string"',
      'null',
      '{"type":"event","message":"not yet","step":"pulling"}',
    ];
    const stream = Buffer.from(`${before.join('\n')}\n${ATTACHED}\nhello\n`);
    for (const chunks of splits(stream)) {
      expect(attach(chunks)).toEqual({ output: Buffer.from('hello\n'), said: before });
    }
  });

  it('hands on the bytes after the attached line exactly, binary or not', () => {
    const output = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0d, 0x0a, 0xe2, 0x82, 0x0a, 0xc3, 0x28, 0x0a, 0x0a, 0x7b]);
    const stream = Buffer.concat([Buffer.from(`warning\r\n${ATTACHED}\r\n`), output]);
    for (const chunks of splits(stream)) expect(attach(chunks)?.output).toEqual(output);
  });

  it('keeps a UTF-8 character split between chunks whole', () => {
    const line = 'sudo: ошибка ✓ 日本 🚀';
    const stream = Buffer.from(`${line}\n${ATTACHED}\n`);
    for (const chunks of splits(stream)) expect(attach(chunks)?.said).toEqual([line]);
  });

  it('returns the agent\'s error, after whatever came first', () => {
    const error = { type: 'error', kind: 'usage', message: 'shop has no release on this host yet', hint: 'deploy it first: paas deploy' };
    for (const chunks of splits(Buffer.from(`sudo: a warning\n${JSON.stringify(error)}\n`))) {
      expect(scan(chunks)).toEqual({ outcome: { kind: 'error', message: error }, said: ['sudo: a warning'] });
    }
  });

  it('waits for the end of a line, and says what came so far', () => {
    const partial = Buffer.from(`Welcome\n${ATTACHED.slice(0, 20)}`);
    expect(scan([partial])).toEqual({ outcome: undefined, said: ['Welcome', ATTACHED.slice(0, 20)] });
    expect(scan([Buffer.from('no newline at all')])).toEqual({ outcome: undefined, said: ['no newline at all'] });
  });
});
