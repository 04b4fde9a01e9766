import { PaasError } from '../errors.js';
import { checkVariableName, quote } from './validators.js';

/*
 * Arguments of `paas config:set KEY=VALUE ...`, `config:unset KEY ...` and `config:get KEY ...`,
 * and how config vars are shown. Results are built with Object.fromEntries so that a key such as
 * `__proto__` (a valid variable name) stays an ordinary own property.
 */

const ASSIGNMENT_HINT = "write KEY=VALUE; quote the whole pair in your shell: 'GREETING=hello world'";

/** Variables paas sets itself: a config var would be overridden or would break the app. */
const RESERVED = new Map([
  [
    'PORT',
    { message: "PORT is set by paas from the app's port", hint: 'set the port in paas.yml (port: 3000); the app reads it from $PORT' },
  ],
  ...['PAAS_APP', 'PAAS_RELEASE', 'PAAS_PROCESS'].map((name) => [
    name,
    { message: `${name} is set by paas in every container (the app's name, release and process)`, hint: 'use another name for your variable' },
  ] as const),
]);

/** Why a variable name is paas's own (PORT, PAAS_APP, ...), or undefined. */
export function reservedVariable(name: string): { message: string; hint: string } | undefined {
  return RESERVED.get(name);
}

/** `KEY=VALUE` arguments → vars. Split at the first `=`; the value is kept exactly as given. */
export function parseAssignments(args: string[]): Record<string, string> {
  if (args.length === 0) {
    throw new PaasError('usage', 'no config vars given', { hint: 'paas config:set KEY=VALUE [KEY=VALUE ...]' });
  }
  const vars = new Map<string, string>();
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at === -1) {
      throw new PaasError('usage', `${quote(arg)} is not a KEY=VALUE assignment`, { hint: ASSIGNMENT_HINT });
    }
    const key = arg.slice(0, at);
    const value = arg.slice(at + 1);
    checkKey(key, `in ${quote(arg)}`, ASSIGNMENT_HINT);
    const reserved = reservedVariable(key); // a Map: keys such as `constructor` must not hit Object.prototype
    if (reserved) throw new PaasError('usage', `cannot set ${key}: ${reserved.message}`, { hint: reserved.hint });
    if (vars.has(key)) {
      throw new PaasError('usage', `${key} is given more than once`, { hint: `give ${key} once, with the value you want` });
    }
    if (value.includes('\0')) {
      throw new PaasError('usage', `the value of ${key} contains a NUL byte, which an environment variable cannot hold`, {
        hint: 'remove the NUL byte (or store the value base64-encoded and decode it in the app)',
      });
    }
    vars.set(key, value);
  }
  return Object.fromEntries(vars);
}

/** `KEY ...` arguments of config:unset / config:get: validated, duplicates dropped, order kept. */
export function parseKeys(args: string[]): string[] {
  if (args.length === 0) throw new PaasError('usage', 'no config var names given', { hint: 'name at least one KEY' });
  for (const key of args) {
    const name = key.split('=')[0]!;
    const hint = name !== key && !checkVariableName(name) ? `give only the name: ${name}` : 'give variable names such as DATABASE_URL';
    checkKey(key, '', hint);
  }
  return [...new Set(args)];
}

function checkKey(key: string, context: string, hint: string): void {
  const problem = checkVariableName(key);
  if (problem) throw new PaasError('usage', context ? `${problem} ${context}` : problem, { hint });
}

const SHORT_MASK = '•'.repeat(8);
const PREFIX_MASK = '•'.repeat(6);
/** Below this many characters a value is fully hidden: 2 revealed characters would be too large a share. */
const MIN_LENGTH_FOR_PREFIX = 12;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A value as shown without --reveal: always 8 characters, so the length never shows. Values of
 * 12+ characters keep their first 2 characters (enough to tell `sk_live…` from `pk_test…`),
 * unless those are control characters; shorter values (including empty ones) are all bullets.
 */
export function maskValue(value: string): string {
  const chars = Array.from(value); // code points: never split a surrogate pair
  const prefix = chars.slice(0, 2).join('');
  if (chars.length < MIN_LENGTH_FOR_PREFIX || CONTROL.test(prefix)) return SHORT_MASK;
  return `${prefix}${PREFIX_MASK}`;
}

/**
 * A revealed value, raw when that reads back unambiguously; JSON-escaped when it is empty, has
 * control characters (newlines, terminal escapes), leading/trailing whitespace, or starts with `"`
 * (so a raw value never looks like an escaped one).
 */
function displayValue(value: string): string {
  const plain = value !== '' && !CONTROL.test(value) && value.trim() === value && !value.startsWith('"');
  if (plain) return value;
  // JSON.stringify leaves C1 controls and U+2028/2029 raw: escape them too.
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `KEY: value` lines sorted by key, values aligned; masked unless `reveal`. */
export function renderVars(vars: Record<string, string>, { reveal }: { reveal: boolean }): string[] {
  const keys = Object.keys(vars).sort();
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((key) => {
    const value = vars[key]!;
    return `${`${key}:`.padEnd(width + 1)} ${reveal ? displayValue(value) : maskValue(value)}`;
  });
}
