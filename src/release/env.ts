// What app.json's `env` asks of a host's config vars (a release's envRequired and envSecrets).
// Pure but for generateSecret: the agent reads and writes the config, the decisions are here.
import { randomBytes } from 'node:crypto';
import { PaasError } from '../errors.js';

/** The required keys that are not config vars yet, in the order app.json lists them. */
export function missingRequiredEnv(required: readonly string[], configVarNames: Iterable<string>): string[] {
  const set = new Set(configVarNames);
  return required.filter((name) => !set.has(name));
}

/** The refusal of a release while `missing` (missingRequiredEnv) is not empty. */
export function requiredEnvError(app: string, missing: readonly string[]): PaasError {
  const keys = missing.join(', ');
  return new PaasError('config', `${app} needs ${missing.length === 1 ? 'the config var' : 'the config vars'} ${keys}, which app.json's env requires: nothing was changed`, {
    where: 'app.json env',
    hint: `set ${missing.length === 1 ? 'it' : 'them'} first: paas config:set ${missing.map((name) => `${name}=...`).join(' ')} --app ${app}, then deploy again`,
  });
}

/** A new value for an app.json `"generator": "secret"` key: 64 hex digits (256 random bits), as Dokku generates. */
export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The config vars with a value from `generate` for each secret key that is not set yet (one that
 * is set, generated before or set by hand, is kept), and the names it generated. An app on several
 * hosts needs the same value on each: `generate` can hand out values chosen once for all of them.
 */
export function withGeneratedSecrets(
  config: Readonly<Record<string, string>>,
  secrets: readonly string[],
  generate: (name: string) => string = generateSecret,
): { config: Record<string, string>; generated: string[] } {
  const generated = secrets.filter((name) => !Object.hasOwn(config, name));
  return { config: { ...config, ...Object.fromEntries(generated.map((name) => [name, generate(name)])) }, generated };
}
