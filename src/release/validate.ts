import { PaasError } from '../errors.js';
import { checkAppName, checkHostname, checkVariableName } from '../config/validators.js';
import { reservedVariable } from '../config/vars.js';
import { BALANCE_STRATEGIES } from '../config/types.js';
import { LIMITS, type ReleaseSpec } from './types.js';

/** Refuses a spec that could put anything but validated names and numbers into the engine or nginx. */
export function validateSpec(spec: ReleaseSpec): void {
  // The CLI checks with the same function before it touches a host; the agent checks again what it is sent.
  const problems: string[] = [];
  const appProblem = checkAppName(spec.app);
  if (appProblem) problems.push(`app: ${appProblem}`);
  if (!Number.isInteger(spec.version) || spec.version < 1) problems.push('version: expected a whole number >= 1');
  if (typeof spec.image !== 'string' || !/^[a-z0-9][a-z0-9._/:@-]*$/i.test(spec.image)) problems.push(`image: ${JSON.stringify(spec.image)} is not an image reference`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) problems.push('port: expected 1..65535');
  const processes = Object.entries(spec.processes ?? {});
  if (processes.length > LIMITS.processTypes) problems.push(`processes: ${processes.length} process types, at most ${LIMITS.processTypes} are allowed`);
  for (const [type, command] of processes) {
    if (!/^[a-z][a-z0-9_-]{0,29}$/.test(type)) problems.push(`processes: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    if (command !== null && (typeof command !== 'string' || command.trim() === '' || command.length > LIMITS.commandLength)) {
      problems.push(`processes.${type.slice(0, 30)}: expected a command of 1 to ${LIMITS.commandLength} characters`);
    }
  }
  let replicas = 0;
  for (const [type, count] of Object.entries(spec.formation ?? {})) {
    if (!/^[a-z][a-z0-9_-]{0,29}$/.test(type)) problems.push(`formation: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    if (!Number.isInteger(count) || count < 0 || count > LIMITS.replicas) problems.push(`formation.${type.slice(0, 30)}: expected 0..${LIMITS.replicas} replicas`);
    else replicas += count;
  }
  if (replicas > LIMITS.replicas) problems.push(`formation: ${replicas} containers in all, at most ${LIMITS.replicas} per release are allowed`);
  for (const [type, limits] of Object.entries(spec.limits ?? {})) {
    if (!/^[a-z][a-z0-9_-]{0,29}$/.test(type)) problems.push(`limits: invalid process type ${JSON.stringify(type.slice(0, 40))}`);
    if (limits.memoryBytes !== undefined && !(Number.isInteger(limits.memoryBytes) && limits.memoryBytes >= 6 * 1024 ** 2)) problems.push(`limits.${type}.memory: expected a whole number of bytes >= 6m`);
    if (limits.cpus !== undefined && !(typeof limits.cpus === 'number' && Number.isFinite(limits.cpus) && limits.cpus > 0 && limits.cpus <= 1024)) problems.push(`limits.${type}.cpus: expected a number of CPUs above 0`);
  }
  if (!Array.isArray(spec.domains) || spec.domains.length > LIMITS.domains) problems.push(`domains: at most ${LIMITS.domains} are allowed`);
  for (const domain of Array.isArray(spec.domains) ? spec.domains : []) {
    const problem = typeof domain === 'string' ? checkHostname(domain) : 'not a string';
    if (problem) problems.push(`domains: ${JSON.stringify(domain)}: ${problem}`);
  }
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    const problem = checkVariableName(key) ?? reservedVariable(key)?.message;
    if (problem) problems.push(`env: ${problem}`);
    else if (typeof value !== 'string' || value.includes('\0')) problems.push(`env.${key}: expected a string without NUL bytes`);
  }
  if (spec.releaseCommand !== undefined && (typeof spec.releaseCommand !== 'string' || spec.releaseCommand.length > LIMITS.commandLength)) {
    problems.push(`releaseCommand: expected a command of at most ${LIMITS.commandLength} characters`);
  }
  if (!BALANCE_STRATEGIES.includes(spec.balance)) problems.push(`balance: ${JSON.stringify(spec.balance)} is not a strategy`);
  if (problems.length) throw new PaasError('usage', 'the release spec is invalid', { details: problems.slice(0, 20) });
}

