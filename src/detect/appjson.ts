import { PaasError } from '../errors.js';
import { LIMITS } from '../release/types.js';
import type { AppDir } from './appdir.js';
import { isObject, objectField } from './parse.js';
import type { Healthcheck } from './types.js';

/** What paas takes from a Heroku/Dokku app.json. */
export interface AppJsonSettings {
  healthcheck?: Healthcheck;
  formation?: Record<string, number>;
  reasons: string[];
}

const DOKKU_DEFAULTS = { timeoutSeconds: 5, waitSeconds: 1 };

export async function loadAppJson(app: AppDir): Promise<AppJsonSettings> {
  const json = await app.readJson('app.json');
  return json === undefined ? { reasons: [] } : readAppJson(json, app.path('app.json'));
}

/**
 * Reads Dokku's `healthchecks.web[]` (the first startup check with a path) and Heroku's
 * `formation.<type>.quantity`. Other keys (scripts, env, addons, Dokku's attempts/initialDelay) are ignored.
 */
export function readAppJson(json: unknown, file: string): AppJsonSettings {
  if (!isObject(json)) throw invalid(file, 'app.json must be a JSON object');
  const settings: AppJsonSettings = { reasons: [] };
  const healthcheck = webHealthcheck(json, file);
  if (healthcheck) {
    settings.healthcheck = healthcheck;
    settings.reasons.push(`${healthcheck.source}: health check GET ${healthcheck.path}`);
  }
  const formation = readFormation(json, file);
  if (formation) {
    settings.formation = formation;
    const counts = Object.entries(formation).map(([type, quantity]) => `${type}=${quantity}`);
    settings.reasons.push(`app.json formation: ${counts.join(', ')}`);
  }
  return settings;
}

function webHealthcheck(json: Record<string, unknown>, file: string): Healthcheck | undefined {
  if (json.healthchecks === undefined) return undefined;
  const healthchecks = objectField(json, 'healthchecks');
  if (!healthchecks) throw invalid(file, 'healthchecks must be an object, e.g. {"web": [{"path": "/health"}]}');
  const checks = healthchecks.web;
  if (checks === undefined) return undefined;
  if (!Array.isArray(checks)) throw invalid(file, 'healthchecks.web must be an array of checks');
  const index = checks.findIndex((check) => isObject(check) && check.path !== undefined && (check.type ?? 'startup') === 'startup');
  if (index < 0) return undefined;
  const check = checks[index] as Record<string, unknown>;
  const at = `healthchecks.web[${index}]`;
  if (typeof check.path !== 'string' || !check.path.startsWith('/')) throw invalid(file, `${at}.path must be a string starting with "/"`);
  // The path goes into the HTTP request line of the health check, as paas.yml's healthcheck.path does.
  if (/[\s\u0000-\u001f\u007f]/.test(check.path)) throw invalid(file, `${at}.path ${JSON.stringify(check.path)} must not contain spaces or control characters`);
  return {
    path: check.path,
    timeoutMs: seconds(check.timeout, DOKKU_DEFAULTS.timeoutSeconds, `${at}.timeout`, file) * 1000,
    intervalMs: seconds(check.wait, DOKKU_DEFAULTS.waitSeconds, `${at}.wait`, file) * 1000,
    successes: 1,
    source: `app.json ${at}`,
  };
}

function seconds(value: unknown, fallback: number, at: string, file: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw invalid(file, `${at} must be a positive number of seconds`);
  return value;
}

function readFormation(json: Record<string, unknown>, file: string): Record<string, number> | undefined {
  if (json.formation === undefined) return undefined;
  const formation = objectField(json, 'formation');
  if (!formation) throw invalid(file, 'formation must be an object, e.g. {"web": {"quantity": 2}}');
  const counts: [string, number][] = [];
  for (const [type, entry] of Object.entries(formation)) {
    const quantity = isObject(entry) ? entry.quantity : undefined;
    if (quantity === undefined) continue;
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 0) {
      throw invalid(file, `formation.${type}.quantity must be a whole number, 0 or more`);
    }
    if (quantity > LIMITS.replicas) {
      throw invalid(file, `formation.${type}.quantity is ${quantity}: at most ${LIMITS.replicas} replicas per release are allowed`);
    }
    counts.push([type, quantity]);
  }
  return counts.length ? Object.fromEntries(counts) : undefined;
}

function invalid(file: string, message: string): PaasError {
  return new PaasError('config', message, { where: file, hint: `fix that value in ${file}` });
}
