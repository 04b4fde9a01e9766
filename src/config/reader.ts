import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { closestMatch } from './levenshtein.js';
import { quote } from './validators.js';

/*
 * Small combinators that turn YAML nodes into typed values while collecting every problem found,
 * each at the offset of the node it is about, instead of stopping at the first.
 */

export type ValueNode = Scalar<unknown> | YAMLMap<unknown, unknown> | YAMLSeq<unknown>;

export interface Problem {
  offset: number;
  message: string;
}

export class Reader {
  readonly problems: Problem[] = [];

  constructor(private readonly doc: Document) {}

  /** Records a problem; returns undefined so that decoders can `return reader.report(...)`. */
  report(node: unknown, message: string): undefined {
    this.problems.push({ offset: offsetOf(node), message });
    return undefined;
  }

  /** The node itself, or what an alias points to; undefined (reported) for an unknown alias. */
  resolve(node: unknown): ValueNode | undefined {
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) this.report(node, `unknown alias *${node.source}`);
      return target;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) return node;
    return undefined;
  }
}

function offsetOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0] ?? 0;
}

/** Reads `node` (already resolved) at key path `path`, or reports why it cannot and returns undefined. */
export type Decoder<T> = (node: ValueNode, path: string, reader: Reader) => T | undefined;

/** YAML key -> [property of T it fills, decoder of its value]. */
export type FieldTable<T> = Record<string, { [K in keyof T]-?: readonly [K, Decoder<NonNullable<T[K]>>] }[keyof T]>;

export function describeValue(node: ValueNode): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (node.value === null || node.value === undefined) return 'nothing';
  return typeof node.value === 'string' ? quote(node.value) : String(node.value);
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A map with a fixed set of keys; unknown keys are reported with the closest known one. An empty value means "not set". */
export function fields<T>(table: FieldTable<T>): Decoder<Partial<T>> {
  return (node, path, reader) => {
    if (!isMap(node)) return reader.report(node, `${path}: expected a map, got ${describeValue(node)}`);
    const result: Partial<T> = {};
    for (const pair of node.items) {
      const key = keyText(pair.key);
      const field = Object.hasOwn(table, key) ? table[key] : undefined;
      if (!field) {
        reportUnknownKey(pair.key, key, path, Object.keys(table), reader);
        continue;
      }
      const value = reader.resolve(pair.value);
      if (!value || isEmpty(value)) continue;
      const [property, decode] = field;
      const decoded = decode(value, joinPath(path, key), reader);
      if (decoded !== undefined) result[property] = decoded;
    }
    return result;
  };
}

function reportUnknownKey(keyNode: unknown, key: string, path: string, known: string[], reader: Reader): void {
  const suggestion = closestMatch(key, known);
  const message = `unknown key ${quote(key)}${suggestion ? ` (did you mean ${quote(suggestion)}?)` : ''}`;
  reader.report(keyNode, path === '' ? message : `${path}: ${message}`);
}

/** A map with names chosen by the user (process types, variables): each key checked, each value decoded. */
export function entries<V>(checkKey: (key: string) => string | undefined, decode: Decoder<V>): Decoder<Record<string, V>> {
  return (node, path, reader) => {
    if (!isMap(node)) return reader.report(node, `${path}: expected a map, got ${describeValue(node)}`);
    const result: Record<string, V> = {};
    for (const pair of node.items) {
      const key = keyText(pair.key);
      const keyProblem = checkKey(key);
      if (keyProblem) {
        reader.report(pair.key, `${path}: ${keyProblem}`);
        continue;
      }
      const value = reader.resolve(pair.value ?? emptyValueAt(pair));
      const decoded = value && decode(value, joinPath(path, key), reader);
      if (decoded !== undefined) result[key] = decoded;
    }
    return result;
  };
}

/** A list whose items are decoded one by one; an item listed twice is reported at its second place. */
export function uniqueList<V>(what: string, decode: Decoder<V>): Decoder<V[]> {
  return (node, path, reader) => {
    if (!isSeq(node)) return reader.report(node, `${path}: expected a list of ${what}, got ${describeValue(node)}`);
    const result: V[] = [];
    const firstIndex = new Map<V, number>();
    node.items.forEach((item, index) => {
      const itemPath = `${path}[${index}]`;
      const value = reader.resolve(item);
      const decoded = value && decode(value, itemPath, reader);
      if (!value || decoded === undefined) return;
      const first = firstIndex.get(decoded);
      if (first !== undefined) return reader.report(item, `${itemPath}: ${describeValue(value)} is already listed as ${path}[${first}]`);
      firstIndex.set(decoded, index);
      result.push(decoded);
    });
    return result;
  };
}

const string: Decoder<string> = (node, path, reader) => {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  return reader.report(node, `${path}: expected a string, got ${describeValue(node)}`);
};

/** A string that must also pass `check` (which returns a message on failure). */
export function checkedString(check: (value: string) => string | undefined): Decoder<string> {
  return (node, path, reader) => {
    const value = string(node, path, reader);
    if (value === undefined) return undefined;
    const problem = check(value);
    return problem ? reader.report(node, `${path}: ${problem}`) : value;
  };
}

export function wholeNumber(min: number, max?: number): Decoder<number> {
  const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
  return (node, path, reader) => {
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= (max ?? Infinity)) return value;
    return reader.report(node, `${path}: expected a whole number ${range}, got ${describeValue(node)}`);
  };
}

export function oneOf<V extends string>(choices: readonly V[]): Decoder<V> {
  return (node, path, reader) => {
    const value = string(node, path, reader);
    if (value === undefined) return undefined;
    if ((choices as readonly string[]).includes(value)) return value as V;
    return reader.report(node, `${path}: ${quote(value)} is not one of ${choices.join(', ')}`);
  };
}

/**
 * A string, number or boolean, as text. Numbers keep their spelling in the file (`1.10` stays
 * "1.10", not "1.1"): these end up as environment variables and build arguments.
 */
export const scalarText: Decoder<string> = (node, path, reader) => {
  if (isScalar(node) && !isEmpty(node) && typeof node.value !== 'object') {
    return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
  }
  return reader.report(node, `${path}: expected a string, number or boolean, got ${describeValue(node)}`);
};

/** `{ web }` parses to a pair without a value node: stand in an empty one, placed at the key. */
function emptyValueAt(pair: Pair<unknown, unknown>): Scalar<null> {
  const empty = new Scalar(null);
  empty.range = [offsetOf(pair.key), offsetOf(pair.key), offsetOf(pair.key)];
  return empty;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function isEmpty(node: ValueNode): boolean {
  return isScalar(node) && (node.value === null || node.value === undefined);
}
