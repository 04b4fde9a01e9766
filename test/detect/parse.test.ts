import { describe, expect, it } from 'vitest';
import { lineColumn, parseJson, parseYaml } from '../../src/detect/parse.js';
import { PaasError } from '../../src/errors.js';

function jsonError(text: string): PaasError {
  try {
    parseJson(text, '/app/package.json');
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected parseJson to throw');
}

describe('parseJson', () => {
  it('parses JSON, ignoring a byte order mark', () => {
    expect(parseJson('\uFEFF{"a": [1, 2]}', 'x.json')).toEqual({ a: [1, 2] });
  });

  it.each([
    // V8 gives a position in these messages...
    ['a missing comma', '{\n  "a": 1\n  "b": 2\n}', '/app/package.json:3:3'],
    ['a trailing comma in an object', '{\n  "a": 1,\n}', '/app/package.json:3:1'],
    // ...and none in these: the offset is searched for.
    ['an unexpected token', '{\n  "name": "x",\n  "main": }\n', '/app/package.json:3:11'],
    ['a trailing comma in an array', '{\n  "files": [\n    "a",\n  ]\n}', '/app/package.json:4:3'],
    ['a single-quoted string', "{\n\n 'a': 1}", '/app/package.json:3:2'],
    ['truncated input', '{\n  "a": {\n    "b": 1\n', '/app/package.json:3:11'],
  ])('locates %s', (_, text, where) => {
    const error = jsonError(text);
    expect(error.kind).toBe('config');
    expect(error.where).toBe(where);
    expect(error.hint).toMatch(/^fix the JSON syntax at line \d+, column \d+ of \/app\/package\.json$/);
  });

  it('keeps the message short, without the echoed source', () => {
    expect(jsonError('{"a": }').message).toBe("invalid JSON: Unexpected token '}'");
    expect(jsonError('{"a" 1}').message).toBe("invalid JSON: Expected ':' after property name");
  });
});

describe('parseYaml', () => {
  it('parses YAML and locates syntax errors', () => {
    expect(parseYaml('root: public\n', 'Staticfile')).toEqual({ root: 'public' });
    expect(() => parseYaml('root: [public\nx: 1\n', '/app/Staticfile')).toThrow(
      expect.objectContaining({ kind: 'config', where: expect.stringMatching(/^\/app\/Staticfile:\d+:\d+$/) }),
    );
  });
});

describe('lineColumn', () => {
  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
