import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import type { Notes, StackDetector, StackPlan } from './stack.js';
import { DEFAULT_PORT } from './types.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name?: string;
  /** The first EXPOSE argument of the stage, as written. */
  expose?: string;
}

/** What paas needs from an app's Dockerfile. */
export interface DockerfileFacts {
  /** The image the final stage starts from (through earlier stages it names). */
  baseImage: string;
  /** The first EXPOSE argument the final image inherits, as written ("3000/tcp", "$PORT"). */
  expose?: string;
}

/**
 * The dockerfile stack: the app's own Dockerfile, built as is. `file` is relative to the app
 * directory (the `dockerfile` option, or "Dockerfile").
 */
export function dockerfileDetector(file = 'Dockerfile'): StackDetector {
  return {
    stack: 'dockerfile',
    markers: [file],
    plan: (app, notes) => planDockerfile(app, file, notes),
  };
}

async function planDockerfile(app: AppDir, file: string, notes: Notes): Promise<StackPlan> {
  const text = (await app.read(file)) ?? '';
  const facts = parseDockerfile(text, app.path(file));
  return {
    baseImage: facts.baseImage,
    manifests: [],
    install: [],
    build: [],
    port: exposedPort(facts.expose, file, notes),
    dockerfile: file,
    start: async () => ({ command: null, source: 'Dockerfile CMD' }),
  };
}

function exposedPort(expose: string | undefined, file: string, notes: Notes): number {
  const port = expose === undefined ? undefined : /^(\d+)(?:-\d+)?(?:\/\w+)?$/.exec(expose)?.[1];
  if (port !== undefined) {
    notes.reasons.push(`${file} EXPOSE ${expose}: port ${port}`);
    return Number(port);
  }
  const problem = expose === undefined ? `${file} has no EXPOSE` : `${file} EXPOSE ${expose} is not a port number`;
  notes.warnings.push(`${problem}: the app must listen on $PORT (${DEFAULT_PORT})`);
  return DEFAULT_PORT;
}

/** Reads the final stage's base image and exposed port. `file` names the Dockerfile in errors. */
export function parseDockerfile(text: string, file: string): DockerfileFacts {
  const stages = readStages(instructions(text), file);
  const chain = finalStageChain(stages);
  const base = chain[0];
  if (!base) throw new PaasError('config', 'the Dockerfile has no FROM instruction', { where: file, hint: 'start the Dockerfile with FROM <image>' });
  const expose = chain.find((stage) => stage.expose !== undefined)?.expose;
  return { baseImage: base.image, ...(expose !== undefined ? { expose } : {}) };
}

function readStages(list: Instruction[], file: string): Stage[] {
  const stages: Stage[] = [];
  for (const { keyword, args, line } of list) {
    if (keyword === 'FROM') {
      // FROM [--platform=<p>] <image> [AS <name>]
      const [image, as, name] = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      if (!image) throw new PaasError('config', 'FROM without an image', { where: `${file}:${line}`, hint: 'write FROM <image> [AS <name>]' });
      stages.push({ image, ...(as?.toLowerCase() === 'as' && name ? { name: name.toLowerCase() } : {}) });
    } else if (keyword === 'EXPOSE') {
      const stage = stages.at(-1);
      if (stage && stage.expose === undefined) stage.expose = args.split(/\s+/)[0];
    }
  }
  return stages;
}

/** The final stage and the earlier stages it is built FROM, base first. */
function finalStageChain(stages: Stage[]): Stage[] {
  const chain: Stage[] = [];
  let index = stages.length - 1;
  while (index >= 0) {
    const stage = stages[index]!;
    chain.unshift(stage);
    const parent = stage.image.toLowerCase();
    index = stages.slice(0, index).findLastIndex((earlier) => earlier.name === parent);
  }
  return chain;
}

/**
 * Splits a Dockerfile into instructions: parser directives read, comments dropped, continuation
 * lines joined, heredoc bodies (RUN <<EOF ... EOF) skipped so their lines are not mistaken for
 * instructions.
 */
function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const escape = escapeCharacter(lines);
  const result: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) continue;
    pending ??= { parts: [], line: index + 1 };
    const continued = trimmed.endsWith(escape);
    pending.parts.push(continued ? trimmed.slice(0, -1) : trimmed);
    if (continued) continue;
    const joined = pending.parts.join(' ').trim();
    const keyword = joined.split(/\s/, 1)[0]!;
    const args = joined.slice(keyword.length).trim();
    result.push({ keyword: keyword.toUpperCase(), args, line: pending.line });
    pending = undefined;
    if (HEREDOC_INSTRUCTIONS.has(keyword.toUpperCase())) index = skipHeredocs(lines, index, args);
  }
  return result;
}

/** The `# escape=` parser directive (only valid before anything else); backslash by default. */
function escapeCharacter(lines: string[]): string {
  for (const line of lines) {
    const directive = /^#\s*(\w+)\s*=\s*(\S+)\s*$/.exec(line.trim());
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape') return directive[2]!;
  }
  return '\\';
}

const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

/** Index of the last line belonging to the heredocs an instruction opens (`<<EOF`, `<<-"EOF"`). */
function skipHeredocs(lines: string[], index: number, args: string): number {
  let last = index;
  for (const [, dash, , word] of args.matchAll(/<<(-?)(["']?)([A-Za-z_][\w-]*)\2/g)) {
    const stripTabs = dash === '-';
    while (last + 1 < lines.length) {
      last++;
      const line = stripTabs ? lines[last]!.replace(/^\t+/, '') : lines[last]!;
      if (line === word) break;
    }
  }
  return last;
}
