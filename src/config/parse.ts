import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { CONCURRENCY_POLICIES, STACKS } from '../detect/types.js';
import { PaasError } from '../errors.js';
import {
  checkedString,
  describeValue,
  entries,
  fields,
  oneOf,
  Reader,
  scalarText,
  uniqueList,
  wholeNumber,
  type Decoder,
  type FieldTable,
  type Problem,
  type ValueNode,
} from './reader.js';
import { checkSchedule } from '../release/cron.js';
import { LIMITS } from '../release/types.js';
import { checkVolumeName, checkVolumePath, MAX_VOLUMES } from '../release/volumes.js';
import { checkPlacementConstraint, checkSpreadDescriptor } from '../release/swarm.js';
import { BALANCE_STRATEGIES, ENGINES, type PlacementConfig, type AppConfig, type TlsConfig, type CronConfig, type HealthcheckConfig, type ProcessConfig, type VolumeConfig } from './types.js';
import {
  checkAppName,
  checkCronTaskId,
  checkHostname,
  checkProcessType,
  checkVariableName,
  parseDuration,
  parseHostUrl,
  parseMemory,
  quote,
} from './validators.js';
import { reservedVariable } from './vars.js';

const DOCKER_MIN_MEMORY_BYTES = 6 * 1024 ** 2;

/** A duration or memory size, written with a unit (or as a bare number); `min` is the smallest accepted. */
function quantity(
  kind: string,
  examples: string,
  parse: (value: string | number) => number | undefined,
  min: { value: number; problem: string },
): Decoder<number> {
  return (node, path, reader) => {
    const raw = isScalar(node) ? node.value : undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      return reader.report(node, `${path}: expected a ${kind} (examples: ${examples}), got ${describeValue(node)}`);
    }
    const parsed = parse(raw);
    if (parsed === undefined) return reader.report(node, `${path}: ${describeValue(node)} is not a ${kind} (examples: ${examples})`);
    if (parsed < min.value) return reader.report(node, `${path}: ${describeValue(node)} ${min.problem}`);
    return parsed;
  };
}

const positiveDuration = quantity('duration', '5s, 500ms, 2m', parseDuration, { value: 1, problem: 'must be more than 0' });
const workerWaitDuration = quantity('duration', '3s, 500ms, 1m', parseDuration, { value: 0, problem: 'must not be negative' });
/** worker_wait: 0 (running once is enough) to 10 min. */
const workerWait: Decoder<number> = (node, path, reader) => {
  const ms = workerWaitDuration(node, path, reader);
  if (ms === undefined || ms <= 600_000) return ms;
  return reader.report(node, `${path}: ${describeValue(node)} is longer than 10m`);
};
const buildTimeoutDuration = quantity('duration', '30m, 1h, 90s', parseDuration, { value: 1000, problem: 'must be at least 1s' });
/** build.timeout: 1 s to 6 h (the host refuses more). */
const buildTimeout: Decoder<number> = (node, path, reader) => {
  const ms = buildTimeoutDuration(node, path, reader);
  if (ms === undefined || ms <= 6 * 3_600_000) return ms;
  return reader.report(node, `${path}: ${describeValue(node)} is longer than 6h, the most a host allows`);
};
/** Names paas sets itself (PORT, PAAS_APP, ...) cannot be set in env:. */
const checkEnvName = (name: string) => checkVariableName(name) ?? (reservedVariable(name) ? `${quote(name)} cannot be set: ${reservedVariable(name)!.message}` : undefined);
const memorySize = quantity('memory size', '512m, 1g', parseMemory, {
  value: DOCKER_MIN_MEMORY_BYTES,
  problem: "is less than 6m, Docker's minimum",
});

const cpuCount: Decoder<number> = (node, path, reader) => {
  if (isScalar(node) && typeof node.value === 'number' && node.value > 0) return node.value;
  return reader.report(node, `${path}: expected a number of CPUs greater than 0 (such as 0.5 or 2), got ${describeValue(node)}`);
};

const sshHost = checkedString((value) =>
  parseHostUrl(value) ? undefined : `${quote(value)} is not an SSH host (expected ssh://user@host:port, user@host or host)`,
);

/** A process command: not empty, and no longer than a host accepts (LIMITS.commandLength). */
const processCommand = checkedString((value) => {
  if (value.trim() === '') return 'must not be empty';
  if (value.includes('\0')) return 'contains a NUL byte, which no program can be given';
  if (value.length > LIMITS.commandLength) return `is ${value.length} characters long, at most ${LIMITS.commandLength} are allowed`;
  return undefined;
});

/**
 * The most bytes of one env: or build.args value. The kernel passes each environment string to a
 * process whole, up to 128 KiB, and all of them together (with the arguments) in a few MiB: a
 * larger value would build, then fail to start.
 */
export const MAX_VARIABLE_VALUE_BYTES = 32 * 1024;

/** A value of env: or build.args: as text (scalarText), without NUL bytes, bounded. */
const variableValue: Decoder<string> = (node, path, reader) => {
  const value = scalarText(node, path, reader);
  if (value === undefined) return undefined;
  if (value.includes('\0')) return reader.report(node, `${path}: the value contains a NUL byte, which an environment variable cannot hold`);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_VARIABLE_VALUE_BYTES) {
    return reader.report(node, `${path}: the value is ${bytes} bytes long, at most ${MAX_VARIABLE_VALUE_BYTES} are allowed (keep large data in a file of the app)`);
  }
  return value;
};

/** Replicas of one process type: 0 to LIMITS.replicas (what a host runs of one release). */
function replicaProblem(path: string, value: number): string | undefined {
  return value > LIMITS.replicas ? `${path}: ${value} replicas, at most ${LIMITS.replicas} per release are allowed` : undefined;
}

const replicaCount: Decoder<number> = (node, path, reader) => {
  const value = wholeNumber(0)(node, path, reader);
  if (value === undefined) return undefined;
  const problem = replicaProblem(path, value);
  return problem ? reader.report(node, problem) : value;
};

function checkDockerfilePath(value: string): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${quote(value)} contains control characters`;
  if (path.posix.isAbsolute(value) || path.win32.isAbsolute(value)) {
    return `${quote(value)} must be a path relative to the app directory`;
  }
  const normalized = path.posix.normalize(value.replaceAll('\\', '/'));
  if (normalized === '..' || normalized.startsWith('../')) return `${quote(value)} points outside the app directory`;
  if (normalized === '.' || normalized.endsWith('/')) return `${quote(value)} is a directory, expected the path of a file`;
  return undefined;
}

function checkUrlPath(value: string): string | undefined {
  if (!value.startsWith('/')) return `${quote(value)} must start with "/"`;
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return `${quote(value)} must not contain spaces or control characters`;
  return undefined;
}

const BUILD: FieldTable<NonNullable<AppConfig['build']>> = {
  dockerfile: ['dockerfile', checkedString(checkDockerfilePath)],
  stack: ['stack', oneOf(STACKS)],
  args: ['args', entries(checkVariableName, variableValue)],
  timeout: ['timeoutMs', buildTimeout],
};

const PROCESS: FieldTable<ProcessConfig> = {
  replicas: ['replicas', replicaCount],
  command: ['command', processCommand],
  memory: ['memoryBytes', memorySize],
  cpus: ['cpus', cpuCount],
};

const readProcessFields = fields(PROCESS);

/** `web: 2` (replicas) or `worker: { replicas: 1, command: ..., memory: ..., cpus: ... }` (replicas default to 1). */
const processConfig: Decoder<ProcessConfig> = (node, path, reader) => {
  if (isMap(node)) {
    const process = readProcessFields(node, path, reader);
    return process && { replicas: 1, ...process };
  }
  if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 0) {
    const problem = replicaProblem(path, node.value);
    return problem ? reader.report(node, problem) : { replicas: node.value };
  }
  return reader.report(node, `${path}: expected a whole number >= 0 or a map, got ${describeValue(node)}`);
};

const HEALTHCHECK: FieldTable<HealthcheckConfig> = {
  path: ['path', checkedString(checkUrlPath)],
  status: ['status', wholeNumber(100, 599)],
  timeout: ['timeoutMs', positiveDuration],
  interval: ['intervalMs', positiveDuration],
  successes: ['successes', wholeNumber(1)],
};

const flag: Decoder<boolean> = (node, path, reader) => {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  return reader.report(node, `${path}: expected true or false, got ${describeValue(node)}`);
};

const CRON: FieldTable<CronConfig> = {
  schedule: ['schedule', checkedString((value) => checkSchedule(value))],
  command: ['command', processCommand],
  concurrency_policy: ['concurrencyPolicy', oneOf(CONCURRENCY_POLICIES)],
  maintenance: ['maintenance', flag],
};

const readCronFields = fields(CRON);

/** A task of `cron:`: schedule and command are required. */
const cronTask: Decoder<CronConfig> = (node, path, reader) => {
  const reported = reader.problems.length;
  const task = readCronFields(node, path, reader);
  // A schedule or command reported as invalid is not also "missing".
  if (!task || reader.problems.length > reported) return undefined;
  const missing = (['schedule', 'command'] as const).filter((key) => task[key] === undefined);
  if (missing.length) {
    return reader.report(node, `${path}: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} required, e.g. { schedule: "@daily", command: npm run report }`);
  }
  return task as CronConfig;
};

const readCronTasks = entries(checkCronTaskId, cronTask);

const cronTasks: Decoder<Record<string, CronConfig>> = (node, path, reader) => {
  if (isMap(node) && node.items.length > LIMITS.cronTasks) {
    return reader.report(node, `${path}: ${node.items.length} tasks, at most ${LIMITS.cronTasks} are allowed (app.json's cron included)`);
  }
  return readCronTasks(node, path, reader);
};

const VOLUME: FieldTable<VolumeConfig> = {
  path: ['path', checkedString(checkVolumePath)],
  processes: ['processes', uniqueList('process types', checkedString(checkProcessType))],
};

const readVolumeFields = fields(VOLUME);

/** `data: /app/data` (every process type), or `data: { path: /app/data, processes: [web] }`. */
const volume: Decoder<VolumeConfig> = (node, path, reader) => {
  if (isScalar(node) && typeof node.value === 'string') {
    const problem = checkVolumePath(node.value);
    return problem ? reader.report(node, `${path}: ${problem}`) : { path: node.value };
  }
  if (!isMap(node)) return reader.report(node, `${path}: expected a mount path (such as /app/data) or { path, processes }, got ${describeValue(node)}`);
  const reported = reader.problems.length;
  const read = readVolumeFields(node, path, reader);
  if (!read || reader.problems.length > reported) return undefined;
  if (read.path === undefined) return reader.report(node, `${path}: path is required, e.g. { path: /app/data, processes: [web] }`);
  if (read.processes?.length === 0) return reader.report(node, `${path}.processes: list at least one process type, or leave it out for every type`);
  return read as VolumeConfig;
};

const readVolumes = entries(checkVolumeName, volume);

const volumes: Decoder<Record<string, VolumeConfig>> = (node, path, reader) => {
  if (isMap(node) && node.items.length > MAX_VOLUMES) return reader.report(node, `${path}: ${node.items.length} volumes, at most ${MAX_VOLUMES} are allowed`);
  const read = readVolumes(node, path, reader);
  if (!read) return undefined;
  const seen = new Map<string, string>();
  for (const [name, { path: mount }] of Object.entries(read)) {
    const other = seen.get(mount);
    if (other !== undefined) return reader.report(node, `${path}.${name}: ${mount} is already the path of ${path}.${other}`);
    seen.set(mount, name);
  }
  return read;
};

const PLACEMENT: FieldTable<PlacementConfig> = {
  constraints: ['constraints', uniqueList('placement constraints', checkedString(checkPlacementConstraint))],
  spread: ['spread', uniqueList('spread descriptors', checkedString(checkSpreadDescriptor))],
};

const TLS: FieldTable<TlsConfig> = {
  certificate: ['certificate', (node, path, reader) => {
    if (isScalar(node) && node.value === 'auto') return 'auto' as const;
    return reader.report(node, `${path}: expected auto (the hosts get the certificate from their ACME CA), got ${describeValue(node)}; a certificate of your own goes in with paas certs:add`);
  }],
  hsts: ['hsts', flag],
  redirect: ['redirect', flag],
};

const readTlsFields = fields(TLS);

/** `tls: auto`, or `tls: { certificate: auto, hsts: true, redirect: false }`. */
const tls: Decoder<TlsConfig> = (node, path, reader) => {
  if (isScalar(node) && node.value === 'auto') return { certificate: 'auto' };
  if (!isMap(node)) return reader.report(node, `${path}: expected auto or { certificate: auto, hsts, redirect }, got ${describeValue(node)}`);
  const reported = reader.problems.length;
  const read = readTlsFields(node, path, reader);
  if (!read || reader.problems.length > reported) return undefined;
  if (read.certificate === undefined) return reader.report(node, `${path}: certificate is required, e.g. { certificate: auto, hsts: true }`);
  return read as TlsConfig;
};

const TOP_LEVEL: FieldTable<AppConfig> = {
  app: ['app', checkedString(checkAppName)],
  hosts: ['hosts', uniqueList('SSH hosts', sshHost)],
  build: ['build', fields(BUILD)],
  port: ['port', wholeNumber(1, 65535)],
  processes: ['processes', entries(checkProcessType, processConfig)],
  healthcheck: ['healthcheck', fields(HEALTHCHECK)],
  domains: ['domains', uniqueList('domains', checkedString(checkHostname))],
  balance: ['balance', oneOf(BALANCE_STRATEGIES)],
  env: ['env', entries(checkEnvName, variableValue)],
  cron: ['cron', cronTasks],
  volumes: ['volumes', volumes],
  keep_releases: ['keepReleases', wholeNumber(1, 100)],
  worker_wait: ['workerWaitMs', workerWait],
  engine: ['engine', oneOf(ENGINES)],
  placement: ['placement', fields(PLACEMENT)],
  tls: ['tls', tls],
};

const readTopLevelFields = fields(TOP_LEVEL);

/** Every key path parseConfig reads (processes' keys as processes.<type>.replicas, cron's as cron.<name>.schedule): what src/config/keys.yml must describe. */
export function configKeyPaths(): string[] {
  const nested: Record<string, [prefix: string, table: object]> = { build: ['build', BUILD], processes: ['processes.<type>', PROCESS], healthcheck: ['healthcheck', HEALTHCHECK], cron: ['cron.<name>', CRON], volumes: ['volumes.<name>', VOLUME], placement: ['placement', PLACEMENT], tls: ['tls', TLS] };
  return Object.keys(TOP_LEVEL).flatMap((key) => {
    const [prefix, table] = nested[key] ?? [key, {}];
    return [key, ...Object.keys(table).map((sub) => `${prefix}.${sub}`)];
  });
}

/**
 * Parses and validates the text of a paas.yml. `file` is the path shown in messages. Throws one
 * PaasError listing every problem found, each as `<file>:<line>:<col> <message>`.
 */
export function parseConfig(text: string, file: string): AppConfig {
  const lineCounter = new LineCounter();
  // Without the byte order mark, so that columns on the first line count from the first visible character.
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, prettyErrors: false });
  const { config, problems } = readDocument(doc);
  if (problems.length > 0) throw configError(file, problems, lineCounter);
  return config;
}

function readDocument(doc: Document.Parsed): { config: AppConfig; problems: Problem[] } {
  const yamlProblems = doc.errors.map((error) => ({ offset: error.pos[0], message: firstLine(error.message) }));
  // After a syntax error the tree is yaml's best guess at what was meant: checking it against the
  // schema would add confusing follow-on problems. Duplicate keys leave a sound tree.
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return { config: {}, problems: yamlProblems };
  const reader = new Reader(doc);
  const config = readTopLevel(doc, reader);
  return { config, problems: [...yamlProblems, ...reader.problems] };
}

function readTopLevel(doc: Document.Parsed, reader: Reader): AppConfig {
  const node = reader.resolve(doc.contents);
  // An empty file, or one with only comments.
  if (!node || (isScalar(node) && node.value === null)) return {};
  if (!isMap(node)) {
    reader.report(node, `expected a map of settings (such as "app: shop") at the top level, got ${describeValue(node)}`);
    return {};
  }
  const config = readTopLevelFields(node, '', reader) ?? {};
  if (config.tls && config.engine === 'swarm') {
    // The CA's HTTP-01 request may reach any manager behind the front, not the one that asked.
    reader.report(node.get('tls', true) as ValueNode, 'tls: not for engine: swarm yet: bring a certificate with paas certs:add (see docs/cluster.md)');
  }
  return config;
}

function configError(file: string, problems: Problem[], lineCounter: LineCounter): PaasError {
  const name = path.basename(file);
  const details = [...problems]
    .sort((a, b) => a.offset - b.offset)
    .map(({ offset, message }) => {
      const { line, col } = lineCounter.linePos(offset);
      return `${name}:${line}:${col} ${message}`;
    });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new PaasError('config', `${name} has ${count}`, { where: file, details, hint: 'see docs/paas-yml.md for every key' });
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
