import { parse as parseYamlText, YAMLParseError } from 'yaml';
import { PaasError } from '../errors.js';

/** Parses JSON from an app file; a syntax error becomes a PaasError naming `file:line:column`. */
export function parseJson(text: string, file: string): unknown {
  const source = stripBom(text);
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const { line, column } = lineColumn(source, jsonErrorOffset(source, message));
    throw new PaasError('config', `invalid JSON: ${describeJsonError(message)}`, {
      where: `${file}:${line}:${column}`,
      hint: `fix the JSON syntax at line ${line}, column ${column} of ${file}`,
    });
  }
}

/** Parses YAML from an app file; a syntax error becomes a PaasError naming `file:line:column`. */
export function parseYaml(text: string, file: string): unknown {
  try {
    return parseYamlText(stripBom(text)) as unknown;
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const position = error.linePos?.[0];
    throw new PaasError('config', `invalid YAML: ${error.message.split('\n')[0]}`, {
      where: position ? `${file}:${position.line}:${position.col}` : file,
      hint: `fix the YAML syntax of ${file}`,
    });
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of `key` when it is a string. */
export function stringField(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** The value of `key` when it is an object. */
export function objectField(object: Record<string, unknown> | undefined, key: string): Record<string, unknown> | undefined {
  const value = object?.[key];
  return isObject(value) ? value : undefined;
}

function stripBom(text: string): string {
  return text.replace(/^\uFEFF/, '');
}

const POSITION = /at position (\d+)/;
const END_OF_INPUT = /Unexpected end of JSON input/;

/** V8's message without the echoed source text and offset, e.g. "Unexpected token '}'". */
function describeJsonError(message: string): string {
  return message.replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
}

/**
 * Offset of the character JSON.parse rejected. Node 20's V8 leaves the position out of some
 * messages ("Unexpected token '}', ... is not valid JSON"); then the offset is found by binary
 * search for the shortest prefix that already fails before its end.
 */
function jsonErrorOffset(source: string, message: string): number {
  // An error at the very end (truncated input) is shown just after the last character written.
  const end = source.trimEnd().length;
  const position = POSITION.exec(message);
  if (position) return Math.min(Number(position[1]), end);
  if (END_OF_INPUT.test(message)) return end;
  let low = 0;
  let high = source.length - 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (failsBeforeEnd(source.slice(0, middle + 1))) high = middle;
    else low = middle + 1;
  }
  return low;
}

function failsBeforeEnd(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (END_OF_INPUT.test(message)) return false;
    const position = POSITION.exec(message);
    return position ? Number(position[1]) < prefix.length : true;
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
