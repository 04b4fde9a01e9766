import { describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { END_FRAME, MAX_FRAME, VERB_FLAGS, encodeFrame, isVerb, parseVerbArgs, verbArgv } from '../../src/agent/protocol.js';

describe('the agent protocol', () => {
  it('encodes a verb\'s values as argv, leaving out what is not given', () => {
    expect(verbArgv('rollback', { app: 'shop', version: 7, by: 'ann@laptop', to: 3 })).toEqual(['--app', 'shop', '--version', '7', '--by', 'ann@laptop', '--to', '3']);
    expect(verbArgv('config-show', { app: 'shop', reveal: true, key: ['A', 'B'] })).toEqual(['--app', 'shop', '--reveal', '--key', 'A', '--key', 'B']);
    expect(verbArgv('config-show', { app: 'shop', reveal: false })).toEqual(['--app', 'shop']);
    expect(verbArgv('layers', {})).toEqual([]);
  });

  it('parses what it encodes: the same values back, lists and booleans always present', () => {
    const argv = verbArgv('drain', { app: 'shop', id: '0123abcd', after: 1000, container: ['a', 'b'] });
    expect(parseVerbArgs('drain', argv)).toEqual({ args: { app: 'shop', id: '0123abcd', after: 1000, container: ['a', 'b'], image: [] }, positionals: [] });
    expect(parseVerbArgs('logs', ['--app', 'shop'])).toEqual({ args: { app: 'shop', follow: false }, positionals: [] });
  });

  const refusal = (fn: () => unknown): PaasError => {
    try {
      fn();
    } catch (error) {
      if (error instanceof PaasError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it.each([
    [['--app', 'shop', '--evil', 'x'], 'releases', /releases: Unknown option '--evil'/],
    [['--app'], 'releases', /releases: Option '--app <value>' argument missing/],
    [[], 'releases', /^--app is required$/],
    [['--app', 'shop', '--version', '1.5'], 'rollback', /^--version: "1.5" is not a whole number$/],
    [['--app', 'shop', '--version', '-1'], 'rollback', /^--version: "-1" is not a whole number$/],
    [['--app', 'shop', '--tail', '-1'], 'logs', /^--tail: expected a whole number 0\.\.100000$/],
    [['--app', 'shop', '--tail', '100001'], 'logs', /^--tail: expected a whole number 0\.\.100000$/],
    [['--app', 'shop', '--version', '9', '--to', '../1'], 'rollback', /^--to: "\.\.\/1" is not a release number$/],
    [['--app', 'shop', '--constructor', 'x'], 'releases', /Unknown option '--constructor'/],
    [['--app', 'shop', 'stray'], 'releases', /Unexpected argument 'stray'/],
  ] as const)('refuses %j for %s', (argv, verb, message) => {
    const error = refusal(() => parseVerbArgs(verb, [...argv]));
    expect(error.kind).toBe('usage');
    expect(error.message).toMatch(message);
  });

  it('takes a value that starts with "-" as the value of its flag', () => {
    expect(parseVerbArgs('releases', ['--app', '-x']).args).toEqual({ app: '-x' });
    expect(parseVerbArgs('logs', ['--app', 'shop', '--tail', '0']).args).toEqual({ app: 'shop', tail: 0, follow: false });
  });

  it('run takes its command after --, flags included', () => {
    expect(parseVerbArgs('run', ['--app', 'shop', '--', 'ls', '--app'])).toEqual({ args: { app: 'shop', tty: false }, positionals: ['ls', '--app'] });
  });

  it('knows its verbs', () => {
    expect(isVerb('deploy')).toBe(true);
    expect(isVerb('toString')).toBe(false);
    expect(isVerb(undefined)).toBe(false);
    expect(Object.keys(VERB_FLAGS)).toContain('outcome');
  });

  it('frames: a 4-byte big-endian length, at most MAX_FRAME bytes each, an empty frame ends', () => {
    const data = Buffer.alloc(MAX_FRAME + 3, 1);
    const frames = encodeFrame(data);
    expect(frames.map((f) => f.length)).toEqual([4, MAX_FRAME, 4, 3]);
    expect(frames[0]!.readUInt32BE(0)).toBe(MAX_FRAME);
    expect(frames[2]!.readUInt32BE(0)).toBe(3);
    expect(END_FRAME).toEqual(Buffer.alloc(4));
  });
});
