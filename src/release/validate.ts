import { PaasError } from '../errors.js';
import { checkAppName, checkCronTaskId, checkHostname, checkProcessType, checkVariableName } from '../config/validators.js';
import { reservedVariable } from '../config/vars.js';
import { BALANCE_STRATEGIES } from '../config/types.js';
import { CONCURRENCY_POLICIES, type ConcurrencyPolicy } from '../detect/types.js';
import { checkSchedule } from './cron.js';
import { LIMITS, type ReleaseSpec } from './types.js';
import { volumeProblems } from './volumes.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const wholeIn = (value: unknown, min: number, max: number) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
/** Text that goes into a record or a message: bounded, one line, no control characters. */
const plainText = (value: unknown, max: number) => typeof value === 'string' && value.length <= max && !/[\u0000-\u001f\u007f]/.test(value);
const command = (value: unknown) => typeof value === 'string' && value.trim() !== '' && value.length <= LIMITS.commandLength && !value.includes('\0');
const COMMAND = `expected a command of 1 to ${LIMITS.commandLength} characters, without NUL bytes`;
const SCRIPTS = ['predeploy', 'postdeploy', 'firstDeploy'];

/** The scheduled tasks: bounded in number, each id unique, each schedule one paas runs. */
function cronProblems(cron: unknown): string[] {
  if (!Array.isArray(cron)) return ['cron: expected a list of tasks'];
  if (cron.length > LIMITS.cronTasks) return [`cron: ${cron.length} tasks, at most ${LIMITS.cronTasks} are allowed`];
  const problems: string[] = [];
  const ids = new Set<string>();
  cron.forEach((task: unknown, index) => {
    const at = `cron[${index}]`;
    if (!isObject(task)) return problems.push(`${at}: expected { id, schedule, command, concurrencyPolicy, maintenance, source }`);
    const idProblem = typeof task.id === 'string' ? checkCronTaskId(task.id) : 'expected a string';
    if (idProblem) problems.push(`${at}.id: ${idProblem}`);
    else if (ids.has(task.id as string)) problems.push(`${at}.id: ${task.id as string} is listed twice`);
    else ids.add(task.id as string);
    const scheduleProblem = checkSchedule(task.schedule);
    if (scheduleProblem) problems.push(`${at}.schedule: ${scheduleProblem}`);
    if (!command(task.command)) problems.push(`${at}.command: ${COMMAND}`);
    if (!CONCURRENCY_POLICIES.includes(task.concurrencyPolicy as ConcurrencyPolicy)) problems.push(`${at}.concurrencyPolicy: expected ${CONCURRENCY_POLICIES.join(', ')}`);
    if (typeof task.maintenance !== 'boolean') problems.push(`${at}.maintenance: expected true or false`);
    if (!plainText(task.source, 200)) problems.push(`${at}.source: expected a short line of text`);
    return undefined;
  });
  return problems;
}

/** envRequired / envSecrets: variable names a config var may have, each once. */
function nameListProblems(field: string, names: unknown): string[] {
  if (!Array.isArray(names) || names.length > LIMITS.envKeys) return [`${field}: expected a list of at most ${LIMITS.envKeys} variable names`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const problem = typeof name === 'string' ? checkVariableName(name) ?? reservedVariable(name)?.message : 'expected variable names (strings)';
    if (problem) problems.push(`${field}: ${problem}`);
    else if (seen.has(name as string)) problems.push(`${field}: ${name as string} is listed twice`);
    else seen.add(name as string);
  }
  return problems;
}

function imageReferenceProblem(image: unknown): string | undefined {
  return typeof image === 'string' && /^[a-z0-9][a-z0-9._/:@-]{0,254}$/i.test(image) ? undefined : `${JSON.stringify(image)} is not an image reference`;
}

/** The image of an app's release: one of its own (paas/<app>:<tag>), never another app's. */
export function checkAppImage(app: string, image: unknown): string | undefined {
  const problem = imageReferenceProblem(image);
  if (problem) return problem;
  const prefix = `paas/${app}:`;
  return (image as string).startsWith(prefix) && (image as string).length > prefix.length ? undefined : `${JSON.stringify(image)} is not an image of ${app} (paas/${app}:<tag>)`;
}

/**
 * Refuses a spec that could put anything but validated names and numbers into the engine, nginx
 * or a record: every field of its type and within its bounds. The CLI checks with it before it
 * touches a host; the agent checks again whatever it is sent (a hand-made spec included).
 */
export function validateSpec(spec: ReleaseSpec): void {
  const problems: string[] = [];
  if (!isObject(spec)) throw new PaasError('usage', 'the release spec is invalid', { details: ['expected an object'] });
  const appProblem = typeof spec.app === 'string' ? checkAppName(spec.app) : 'expected a string';
  if (appProblem) problems.push(`app: ${appProblem}`);
  if (!wholeIn(spec.version, 1, 1e9)) problems.push('version: expected a whole number >= 1');
  // With an invalid app name, only the reference itself is checked (its prefix cannot be).
  const imageProblem = appProblem ? imageReferenceProblem(spec.image) : checkAppImage(spec.app, spec.image);
  if (imageProblem) problems.push(`image: ${imageProblem}`);
  if (typeof spec.imageId !== 'string' || !/^(sha256:[0-9a-f]{64})?$/.test(spec.imageId)) problems.push('imageId: expected sha256:<64 hex digits>');
  if (!wholeIn(spec.port, 1, 65535)) problems.push('port: expected 1..65535');

  if (!isObject(spec.processes)) problems.push('processes: expected a map of process type to command');
  const processes = isObject(spec.processes) ? Object.entries(spec.processes) : [];
  if (processes.length > LIMITS.processTypes) problems.push(`processes: ${processes.length} process types, at most ${LIMITS.processTypes} are allowed`);
  for (const [type, text] of processes.slice(0, LIMITS.processTypes + 1)) {
    if (checkProcessType(type)) problems.push(`processes: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    else if (text !== null && !command(text)) problems.push(`processes.${type}: expected a command of 1 to ${LIMITS.commandLength} characters, without NUL bytes`);
  }

  if (!isObject(spec.formation)) problems.push('formation: expected a map of process type to replicas');
  let replicas = 0;
  for (const [type, count] of isObject(spec.formation) ? Object.entries(spec.formation).slice(0, LIMITS.processTypes + 1) : []) {
    if (checkProcessType(type)) problems.push(`formation: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    else if (!wholeIn(count, 0, LIMITS.replicas)) problems.push(`formation.${type}: expected 0..${LIMITS.replicas} replicas`);
    else replicas += count as number;
  }
  if (replicas > LIMITS.replicas) problems.push(`formation: ${replicas} containers in all, at most ${LIMITS.replicas} per release are allowed`);

  if (spec.limits !== undefined && !isObject(spec.limits)) problems.push('limits: expected a map of process type to limits');
  for (const [type, limits] of isObject(spec.limits) ? Object.entries(spec.limits).slice(0, LIMITS.processTypes + 1) : []) {
    if (checkProcessType(type)) problems.push(`limits: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    else if (!isObject(limits)) problems.push(`limits.${type}: expected { memoryBytes, cpus }`);
    else {
      const { memoryBytes, cpus } = limits as { memoryBytes?: unknown; cpus?: unknown };
      if (memoryBytes !== undefined && !wholeIn(memoryBytes, 6 * 1024 ** 2, 2 ** 50)) problems.push(`limits.${type}.memory: expected a whole number of bytes >= 6m`);
      if (cpus !== undefined && !(typeof cpus === 'number' && Number.isFinite(cpus) && cpus > 0 && cpus <= 1024)) problems.push(`limits.${type}.cpus: expected a number of CPUs above 0`);
    }
  }

  if (spec.healthcheck !== undefined) {
    const check = spec.healthcheck as unknown;
    if (!isObject(check)) problems.push('healthcheck: expected an object');
    else {
      if (typeof check.path !== 'string' || !/^\/[\x21-\x7e]{0,2047}$/.test(check.path)) problems.push('healthcheck.path: expected a path starting with "/", without spaces or control characters');
      if (check.status !== undefined && !wholeIn(check.status, 100, 599)) problems.push('healthcheck.status: expected 100..599');
      if (!wholeIn(check.timeoutMs, 1, 3_600_000)) problems.push('healthcheck.timeoutMs: expected 1 ms to 1 h');
      if (!wholeIn(check.intervalMs, 1, 3_600_000)) problems.push('healthcheck.intervalMs: expected 1 ms to 1 h');
      if (!wholeIn(check.successes, 1, 100)) problems.push('healthcheck.successes: expected 1..100');
      if (check.source !== undefined && !plainText(check.source, 200)) problems.push('healthcheck.source: expected a short line of text');
    }
  }

  if (!Array.isArray(spec.domains) || spec.domains.length > LIMITS.domains) problems.push(`domains: expected a list of at most ${LIMITS.domains} host names`);
  for (const domain of Array.isArray(spec.domains) ? spec.domains.slice(0, LIMITS.domains + 1) : []) {
    const problem = typeof domain === 'string' ? checkHostname(domain) : 'not a string';
    if (problem) problems.push(`domains: ${JSON.stringify(domain)}: ${problem}`);
  }

  if (!isObject(spec.env)) problems.push('env: expected a map of variable name to value');
  for (const [key, value] of isObject(spec.env) ? Object.entries(spec.env) : []) {
    const problem = checkVariableName(key) ?? reservedVariable(key)?.message;
    if (problem) problems.push(`env: ${problem}`);
    else if (typeof value !== 'string' || value.includes('\0') || Buffer.byteLength(value) > 32 * 1024) problems.push(`env.${key}: expected a string of at most 32 KiB without NUL bytes`);
  }
  if (spec.configVars !== undefined && !(Array.isArray(spec.configVars) && spec.configVars.every((name) => typeof name === 'string' && !checkVariableName(name)))) {
    problems.push('configVars: expected a list of variable names');
  }
  if (spec.releaseCommand !== undefined && !command(spec.releaseCommand)) {
    problems.push(`releaseCommand: ${COMMAND}`);
  }
  if (spec.cron !== undefined) problems.push(...cronProblems(spec.cron));
  if (spec.scripts !== undefined) {
    if (!isObject(spec.scripts)) problems.push(`scripts: expected { ${SCRIPTS.join(', ')} }`);
    for (const [name, text] of isObject(spec.scripts) ? Object.entries(spec.scripts).slice(0, SCRIPTS.length + 1) : []) {
      if (!SCRIPTS.includes(name)) problems.push(`scripts: ${JSON.stringify(name.slice(0, 40))} is not a script (expected ${SCRIPTS.join(', ')})`);
      else if (!command(text)) problems.push(`scripts.${name}: ${COMMAND}`);
    }
  }
  if (spec.volumes !== undefined) problems.push(...volumeProblems(spec.volumes));
  if (spec.workerWaitMs !== undefined && !wholeIn(spec.workerWaitMs, 0, 600_000)) problems.push('workerWaitMs: expected 0 to 600000 ms');
  if (spec.runsCron !== undefined && typeof spec.runsCron !== 'boolean') problems.push('runsCron: expected true or false');
  if (spec.envRequired !== undefined) problems.push(...nameListProblems('envRequired', spec.envRequired));
  if (spec.envSecrets !== undefined) problems.push(...nameListProblems('envSecrets', spec.envSecrets));
  if (spec.tls !== undefined) {
    const tls = spec.tls as unknown;
    if (!isObject(tls) || Object.keys(tls).some((key) => key !== 'hsts' && key !== 'redirect') || typeof tls.hsts !== 'boolean' || typeof tls.redirect !== 'boolean') {
      problems.push('tls: expected { hsts: true|false, redirect: true|false }');
    } else if (spec.engine === 'swarm') problems.push('tls: not for the swarm engine (bring a certificate with paas certs:add)');
  }
  if (!BALANCE_STRATEGIES.includes(spec.balance)) problems.push(`balance: ${JSON.stringify(spec.balance)} is not a strategy`);
  if (!plainText(spec.description, 500)) problems.push('description: expected one line of at most 500 characters');
  if (!plainText(spec.createdBy, 200)) problems.push('createdBy: expected one line of at most 200 characters');
  if (!wholeIn(spec.keepReleases, 1, 100)) problems.push('keepReleases: expected 1..100');
  if (!wholeIn(spec.drainMs, 0, 600_000)) problems.push('drainMs: expected 0 to 600000 ms');
  if (!wholeIn(spec.stopTimeoutSeconds, 0, 3600)) problems.push('stopTimeoutSeconds: expected 0 to 3600 s');
  if (problems.length) throw new PaasError('usage', 'the release spec is invalid', { details: problems.slice(0, 20) });
}
