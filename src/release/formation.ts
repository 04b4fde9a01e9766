import { PaasError } from '../errors.js';
import { levenshtein } from '../config/levenshtein.js';
import { WEB } from './types.js';

/** Most replicas of one process type on one host (the agent refuses more, too). */
export const MAX_REPLICAS = 100;

const ASSIGNMENT = /^([A-Za-z0-9_-]{1,30})=(\d{1,6})$/;

/**
 * `ps:scale web=3 worker=0` -> { web: 3, worker: 0 }. Every type must be one the app's current
 * release runs (its Procfile / paas.yml processes); counts are whole numbers 0..MAX_REPLICAS.
 * Throws one usage error listing every problem, changing nothing.
 */
export function parseFormationArgs(args: readonly string[], knownTypes: readonly string[]): Record<string, number> {
  const known = [...knownTypes].sort();
  if (args.length === 0) {
    throw new PaasError('usage', 'say which process types to scale', { hint: `for example \`paas ps:scale ${known[0] ?? WEB}=2\` (types: ${known.join(', ') || 'none'})` });
  }
  const formation: Record<string, number> = {};
  const problems: string[] = [];
  for (const arg of args) {
    const match = ASSIGNMENT.exec(arg);
    if (!match) {
      problems.push(`${JSON.stringify(arg)} is not TYPE=COUNT (such as web=3)`);
      continue;
    }
    const [, type, count] = match as unknown as [string, string, string];
    if (!known.includes(type)) {
      const near = known.find((k) => levenshtein(k, type) <= 2);
      problems.push(`unknown process type ${JSON.stringify(type)}${near ? ` (did you mean ${near}?)` : ''}; the app runs: ${known.join(', ') || 'none'}`);
      continue;
    }
    if (type in formation) {
      problems.push(`${type} is given twice`);
      continue;
    }
    const replicas = Number(count);
    if (replicas > MAX_REPLICAS) {
      problems.push(`${type}=${count}: at most ${MAX_REPLICAS} replicas per host`);
      continue;
    }
    formation[type] = replicas;
  }
  if (problems.length) {
    throw new PaasError('usage', problems.length === 1 ? problems[0]! : 'invalid formation', {
      ...(problems.length > 1 ? { details: problems } : {}),
      hint: 'write TYPE=COUNT for process types of the app\'s Procfile or paas.yml processes, COUNT from 0 to 100',
    });
  }
  return formation;
}

/**
 * The replicas a release runs on a host: the formation stored by `ps:scale` (formation.json)
 * wins over the release's own (from paas.yml / Procfile), for the types the release has.
 */
export function effectiveFormation(formation: Record<string, number>, processes: Record<string, unknown>, override: Record<string, number> | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const type of Object.keys(processes)) {
    const scaled = override?.[type];
    const replicas = scaled !== undefined && Number.isInteger(scaled) && scaled >= 0 && scaled <= MAX_REPLICAS ? scaled : formation[type];
    if (replicas !== undefined) result[type] = replicas;
  }
  return result;
}

/** { worker: 1, web: 3 } -> "web=3 worker=1" (web first, then by name). */
export function formationText(formation: Record<string, number>): string {
  return Object.keys(formation)
    .sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)))
    .map((type) => `${type}=${formation[type]}`)
    .join(' ');
}

/** Whether scaling by `change` leaves `current` as it is. */
export function sameFormation(current: Record<string, number>, change: Record<string, number>): boolean {
  return Object.entries(change).every(([type, replicas]) => (current[type] ?? 0) === replicas);
}
