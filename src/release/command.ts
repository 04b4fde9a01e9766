/** A word the shell reads literally: it can go into argv as it is. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Characters that can make a command line more than one simple command. */
const COMPOUND = /[;&|()\n`]|\$\(/;

/**
 * The argv that runs a process command written in Procfile (shell) syntax, such that the app
 * itself becomes the container's PID 1 and receives SIGTERM (dash, Debian's sh, does not exec
 * the last command of `sh -c` by itself):
 * - plain words run directly: `node server.js` -> [node, server.js]
 * - one simple command that needs the shell ($PORT, quotes) runs as `sh -c 'exec ...'`
 * - compound commands (`a && b`, pipes) stay under `sh -c` as written; write `exec` in them
 *   (e.g. `migrate && exec server`) to have the server receive signals.
 */
export function processArgv(command: string): string[] {
  const trimmed = command.trim();
  const words = trimmed.split(/\s+/);
  if (words.every((word) => PLAIN_WORD.test(word))) return words;
  // Operators inside quotes ('daemon off;') do not make a command compound.
  const unquoted = trimmed.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "''");
  if (COMPOUND.test(unquoted) || /^exec\s/.test(trimmed)) return ['/bin/sh', '-c', trimmed];
  return ['/bin/sh', '-c', `exec ${trimmed}`];
}
