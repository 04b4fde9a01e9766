import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';

/** Process type -> command, in file order. */
export type Procfile = Record<string, string>;

const PROCESS_TYPE = /^[A-Za-z0-9_-]+$/;
const FORMAT_HINT = 'write each process as "type: command", e.g. "web: node server.js" (types use letters, digits, _ and -)';

/**
 * Parses a Heroku Procfile: one `type: command` per line, split at the first colon. Commands are
 * trimmed and otherwise kept as written (they are shell syntax). Blank lines and `#` comments are
 * skipped. `file` names the Procfile in errors, as `<file>:<line>`.
 */
export function parseProcfile(text: string, file = 'Procfile'): Procfile {
  const firstLineOf = new Map<string, number>();
  const processes: [string, string][] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const lineNumber = index + 1;
    const where = `${file}:${lineNumber}`;
    const colon = line.indexOf(':');
    const type = colon < 0 ? '' : line.slice(0, colon).trim();
    const command = line.slice(colon + 1).trim();
    if (!PROCESS_TYPE.test(type)) {
      throw new PaasError('config', `malformed Procfile line: ${JSON.stringify(raw)}`, { where, hint: FORMAT_HINT });
    }
    if (command === '') {
      throw new PaasError('config', `process type "${type}" has an empty command`, { where, hint: FORMAT_HINT });
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
  });
  // fromEntries defines own properties, so even a type named __proto__ is kept as data.
  return Object.fromEntries(processes);
}

/** The app's Procfile, or undefined when it has none. */
export async function loadProcfile(app: AppDir): Promise<Procfile | undefined> {
  const text = await app.read('Procfile');
  return text === undefined ? undefined : parseProcfile(text, app.path('Procfile'));
}
