import { checkProcessType } from '../config/validators.js';
import { PaasError } from '../errors.js';
import { LIMITS } from '../release/types.js';
import type { AppDir } from './appdir.js';

/** Process type -> command, in file order. */
export type Procfile = Record<string, string>;

const PROCESS_TYPE = /^[A-Za-z0-9_-]+$/;
const FORMAT_HINT = 'write each process as "type: command", e.g. "web: node server.js" (types: lowercase letters, digits, _ and -, starting with a letter)';
/** Procfile types that run once per release, not as processes: not counted against LIMITS.processTypes. */
const ONE_OFF_TYPES = new Set(['release']);

/** How much of a line a message quotes. */
const QUOTED_LINE = 80;

/**
 * Parses a Heroku Procfile: one `type: command` per line (LF, CRLF or CR), split at the first
 * colon. Commands are trimmed and otherwise kept as written, `#` included: they are shell syntax,
 * run by a shell as Heroku runs them, so ` # note` after a command is the shell's comment (Dokku's
 * procfile-util cuts it off itself, also inside quotes; paas leaves that to the shell). Blank
 * lines and lines starting with `#` are skipped. `file` names the Procfile in errors, as `<file>:<line>`.
 */
export function parseProcfile(text: string, file = 'Procfile'): Procfile {
  const firstLineOf = new Map<string, number>();
  const processes: [string, string][] = [];
  let running = 0;
  text.replace(/^\uFEFF/, '').split(/\r\n?|\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const lineNumber = index + 1;
    const where = `${file}:${lineNumber}`;
    const colon = line.indexOf(':');
    const type = colon < 0 ? '' : line.slice(0, colon).trim();
    const command = line.slice(colon + 1).trim();
    if (!PROCESS_TYPE.test(type)) {
      const quoted = raw.length > QUOTED_LINE ? `${JSON.stringify(raw.slice(0, QUOTED_LINE))}... (${raw.length} characters)` : JSON.stringify(raw);
      throw new PaasError('config', `malformed Procfile line: ${quoted}`, { where, hint: FORMAT_HINT });
    }
    // A type Heroku would read but a host cannot run (uppercase, leading digit, too long) is refused here, at its line.
    const typeProblem = checkProcessType(type);
    if (typeProblem) {
      throw new PaasError('config', typeProblem, { where, hint: 'rename the process type, such as web, worker or clock_2' });
    }
    if (command === '') {
      throw new PaasError('config', `process type "${type}" has an empty command`, { where, hint: FORMAT_HINT });
    }
    if (command.includes('\0')) {
      throw new PaasError('config', `the command of process type "${type}" contains a NUL byte, which no program can be given`, { where, hint: 'remove the NUL byte from the Procfile' });
    }
    if (command.length > LIMITS.commandLength) {
      throw new PaasError('config', `the command of process type "${type}" is ${command.length} characters long, at most ${LIMITS.commandLength} are allowed`, {
        where, hint: 'move the command into a script of the app and run that script',
      });
    }
    const first = firstLineOf.get(type);
    if (first !== undefined) {
      throw new PaasError('config', `duplicate process type "${type}" (first defined on line ${first})`, {
        where,
        hint: `keep one "${type}:" line in the Procfile`,
      });
    }
    firstLineOf.set(type, lineNumber);
    processes.push([type, command]);
    if (!ONE_OFF_TYPES.has(type)) running += 1;
    if (running > LIMITS.processTypes) {
      throw new PaasError('config', `the Procfile defines more than ${LIMITS.processTypes} process types`, {
        where, hint: `keep at most ${LIMITS.processTypes} process types (besides release:)`,
      });
    }
  });
  // fromEntries defines own properties: no type can reach Object.prototype.
  return Object.fromEntries(processes);
}

/** The types that run as processes (not `release:`). */
export function runningTypes(procfile: Procfile): string[] {
  return Object.keys(procfile).filter((type) => !ONE_OFF_TYPES.has(type));
}

/** The app's Procfile, or undefined when it has none. */
export async function loadProcfile(app: AppDir): Promise<Procfile | undefined> {
  const text = await app.read('Procfile');
  return text === undefined ? undefined : parseProcfile(text, app.path('Procfile'));
}
