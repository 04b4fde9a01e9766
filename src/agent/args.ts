import { PaasError } from '../errors.js';

/** The value after `--name` in an agent verb's argv. */
export function flag(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

/** Every value of a repeatable `--name VALUE`. */
export function flags(args: string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === `--${name}` && args[i + 1] !== undefined ? [args[i + 1]!] : []));
}

export function requireFlag(args: string[], name: string): string {
  const value = flag(args, name);
  if (value === undefined) throw new PaasError('usage', `--${name} is required`);
  return value;
}

/** Parses a request's JSON; text that is not JSON is refused as `what` (a usage error). */
export function parseJsonRequest(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PaasError('usage', `${what} is not JSON`);
  }
}
