import { MAX_VARIABLE_VALUE_BYTES } from '../config/parse.js';
import { checkVariableName, quote } from '../config/validators.js';
import { reservedVariable } from '../config/vars.js';
import { PaasError } from '../errors.js';
import { checkSchedule, cronTaskId } from '../release/cron.js';
import { LIMITS } from '../release/types.js';
import type { AppDir } from './appdir.js';
import { isObject, objectField } from './parse.js';
import { CONCURRENCY_POLICIES, type ConcurrencyPolicy, type CronTask, type EnvDeclarations, type Healthcheck, type ReleaseScripts } from './types.js';

/** What paas takes from a Heroku/Dokku app.json. */
export interface AppJsonSettings {
  healthcheck?: Healthcheck;
  formation?: Record<string, number>;
  cron?: CronTask[];
  scripts?: ReleaseScripts;
  env?: EnvDeclarations;
  reasons: string[];
  warnings: string[];
}

const DOKKU_DEFAULTS = { timeoutSeconds: 5, waitSeconds: 1 };

export async function loadAppJson(app: AppDir): Promise<AppJsonSettings> {
  const json = await app.readJson('app.json');
  return json === undefined ? { reasons: [], warnings: [] } : readAppJson(json, app.path('app.json'));
}

/**
 * Reads Dokku's `healthchecks.web[]` (the first startup check with a path), Heroku's
 * `formation.<type>.quantity`, Dokku's `cron`, the `scripts` of both and Heroku's `env`. Other
 * keys (addons, buildpacks, Dokku's attempts/initialDelay, a postdeploy's size) are ignored.
 */
export function readAppJson(json: unknown, file: string): AppJsonSettings {
  if (!isObject(json)) throw invalid(file, 'app.json must be a JSON object');
  const settings: AppJsonSettings = { reasons: [], warnings: [] };
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
  const cron = readCron(json, file);
  if (cron) {
    settings.cron = cron;
    settings.reasons.push(`app.json cron: ${cron.map((task) => `${task.id} (${task.schedule})`).join(', ')}`);
  }
  const scripts = readScripts(json, file);
  if (scripts) {
    settings.scripts = scripts;
    const names = { predeploy: 'scripts.dokku.predeploy', postdeploy: 'scripts.dokku.postdeploy', firstDeploy: 'scripts.postdeploy' } as const;
    settings.reasons.push(`app.json ${Object.keys(scripts).map((key) => names[key as keyof ReleaseScripts]).join(', ')}`);
  }
  const env = readEnv(json, file, settings.warnings);
  if (env) {
    settings.env = env;
    const parts = [
      ...(Object.keys(env.defaults).length ? [`defaults for ${Object.keys(env.defaults).join(', ')}`] : []),
      ...(env.required.length ? [`requires ${env.required.join(', ')}`] : []),
      ...(env.secrets.length ? [`secrets ${env.secrets.join(', ')}`] : []),
    ];
    settings.reasons.push(`app.json env: ${parts.join('; ')}`);
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

/** A command of app.json (a script, a cron task's): a string, not empty, without NUL bytes, bounded. */
function commandProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string (a command line, as in a Procfile)';
  if (value.trim() === '') return 'must not be empty';
  if (value.includes('\0')) return 'contains a NUL byte, which no program can be given';
  if (value.length > LIMITS.commandLength) return `is ${value.length} characters long, at most ${LIMITS.commandLength} are allowed`;
  return undefined;
}

function readCron(json: Record<string, unknown>, file: string): CronTask[] | undefined {
  if (json.cron === undefined) return undefined;
  const entries = json.cron;
  const example = '[{"command": "npm run report", "schedule": "@daily"}]';
  if (!Array.isArray(entries)) throw invalid(file, `cron must be a list of tasks, e.g. ${example}`);
  if (entries.length > LIMITS.cronTasks) throw invalid(file, `cron has ${entries.length} tasks, at most ${LIMITS.cronTasks} are allowed`, 'run several jobs from one task\'s command, or fewer tasks');
  const tasks: CronTask[] = [];
  entries.forEach((entry, index) => {
    const at = `cron[${index}]`;
    if (!isObject(entry)) throw invalid(file, `${at} must be an object, e.g. {"command": "npm run report", "schedule": "@daily"}`);
    const command = commandProblem(entry.command);
    if (command) throw invalid(file, `${at}.command ${entry.command === undefined ? 'is missing: every task needs the command it runs' : command}`);
    if (entry.schedule === undefined) throw invalid(file, `${at}.schedule is missing: every task needs one, such as "@daily" or "*/15 * * * *"`);
    const schedule = checkSchedule(entry.schedule);
    if (schedule) throw invalid(file, `${at}.schedule ${schedule}`, `fix that schedule in ${file}: five fields, minute hour day-of-month month day-of-week (times in UTC), or @hourly, @daily, @weekly, @monthly, @yearly`);
    const policy = entry.concurrency_policy ?? 'allow';
    if (!CONCURRENCY_POLICIES.includes(policy as ConcurrencyPolicy)) throw invalid(file, `${at}.concurrency_policy must be one of ${CONCURRENCY_POLICIES.map((p) => `"${p}"`).join(', ')}`);
    if (entry.maintenance !== undefined && typeof entry.maintenance !== 'boolean') throw invalid(file, `${at}.maintenance must be true or false`);
    const id = cronTaskId(entry.schedule as string, entry.command as string);
    const same = tasks.find((task) => task.id === id);
    if (same) throw invalid(file, `${at} is the same task as ${same.source.replace('app.json ', '')} (same schedule and command)`, `remove one of them from ${file}`);
    tasks.push({
      id, schedule: (entry.schedule as string).trim(), command: entry.command as string, concurrencyPolicy: policy as ConcurrencyPolicy,
      maintenance: entry.maintenance === true, source: `app.json ${at}`,
    });
  });
  return tasks.length ? tasks : undefined;
}

/** One script: a command string, or Heroku's `{"command": ..., "size": ...}` for scripts.postdeploy. */
function readScript(value: unknown, at: string, file: string, objectForm: boolean): string | undefined {
  let command = value;
  if (objectForm && isObject(value)) {
    command = value.command;
    at = `${at}.command`;
    if (command === undefined) throw invalid(file, `${at} is missing: write the command, e.g. {"command": "npm run seed"}`);
  }
  if (command === undefined || (typeof command === 'string' && command.trim() === '')) return undefined;
  const problem = commandProblem(command);
  if (problem) throw invalid(file, `${at} ${problem}${objectForm && !isObject(value) ? ', or {"command": "..."}' : ''}`);
  return command as string;
}

function readScripts(json: Record<string, unknown>, file: string): ReleaseScripts | undefined {
  if (json.scripts === undefined) return undefined;
  const scripts = objectField(json, 'scripts');
  if (!scripts) throw invalid(file, 'scripts must be an object, e.g. {"dokku": {"predeploy": "npm run migrate"}, "postdeploy": "npm run seed"}');
  const dokku = scripts.dokku;
  if (dokku !== undefined && !isObject(dokku)) throw invalid(file, 'scripts.dokku must be an object, e.g. {"predeploy": "npm run migrate", "postdeploy": "curl ..."}');
  const found: ReleaseScripts = {
    predeploy: readScript(dokku?.predeploy, 'scripts.dokku.predeploy', file, false),
    postdeploy: readScript(dokku?.postdeploy, 'scripts.dokku.postdeploy', file, false),
    firstDeploy: readScript(scripts.postdeploy, 'scripts.postdeploy', file, true),
  };
  const present = Object.entries(found).filter(([, command]) => command !== undefined);
  return present.length ? Object.fromEntries(present) : undefined;
}

const MAX_DESCRIPTION_LENGTH = 1000;

/** Heroku's env: KEY -> a default value, or {description, value, required (default true), generator: "secret"}. */
function readEnv(json: Record<string, unknown>, file: string, warnings: string[]): EnvDeclarations | undefined {
  if (json.env === undefined) return undefined;
  const env = objectField(json, 'env');
  if (!env) throw invalid(file, 'env must be an object of variable names, e.g. {"WEB_CONCURRENCY": "2", "SECRET_KEY": {"generator": "secret"}}');
  const keys = Object.keys(env);
  if (keys.length > LIMITS.envKeys) throw invalid(file, `env has ${keys.length} keys, at most ${LIMITS.envKeys} are allowed`);
  const declared: EnvDeclarations = { defaults: {}, required: [], secrets: [] };
  for (const key of keys) {
    const at = `env.${key}`;
    const nameProblem = checkVariableName(key);
    if (nameProblem) throw invalid(file, `env: ${nameProblem}`, `rename that variable in ${file}`);
    const reserved = reservedVariable(key);
    if (reserved) {
      warnings.push(`app.json ${at} ignored: ${reserved.message}`);
      continue;
    }
    const entry = env[key];
    if (!isObject(entry) && typeof entry !== 'string') throw invalid(file, `${at} must be a string (its default value) or an object such as {"description": "...", "required": true}`);
    const spec = isObject(entry) ? entry : { value: entry };
    if (spec.description !== undefined && (typeof spec.description !== 'string' || spec.description.length > MAX_DESCRIPTION_LENGTH)) {
      throw invalid(file, `${at}.description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
    }
    if (spec.required !== undefined && typeof spec.required !== 'boolean') throw invalid(file, `${at}.required must be true or false`);
    if (spec.sync !== undefined && typeof spec.sync !== 'boolean') throw invalid(file, `${at}.sync must be true or false`);
    if (spec.generator !== undefined && spec.generator !== 'secret') throw invalid(file, `${at}.generator ${quote(String(spec.generator))} is not supported: the only generator is "secret"`);
    if (spec.value !== undefined) {
      if (typeof spec.value !== 'string') throw invalid(file, `${at}.value must be a string`, `quote the value in ${file}, e.g. "5" rather than 5`);
      if (spec.value.includes('\0')) throw invalid(file, `${at}.value contains a NUL byte, which an environment variable cannot hold`);
      if (Buffer.byteLength(spec.value) > MAX_VARIABLE_VALUE_BYTES) throw invalid(file, `${at}.value is ${Buffer.byteLength(spec.value)} bytes long, at most ${MAX_VARIABLE_VALUE_BYTES} are allowed`);
    }
    if (spec.generator !== undefined && spec.value !== undefined) throw invalid(file, `${at} has both a value and a generator`, `keep one of them in ${file}`);
    if (spec.value !== undefined) declared.defaults[key] = spec.value;
    else if (spec.generator === 'secret') declared.secrets.push(key);
    else if (spec.required !== false) declared.required.push(key);
  }
  const { defaults, required, secrets } = declared;
  return Object.keys(defaults).length || required.length || secrets.length ? declared : undefined;
}

function invalid(file: string, message: string, hint = `fix that value in ${file}`): PaasError {
  return new PaasError('config', message, { where: file, hint });
}
