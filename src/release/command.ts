/** A word the shell reads literally: it can go into argv as it is. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** `NAME=value` before a command sets its environment: only a shell understands that. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Characters that can make a command line more than one simple command. */
const COMPOUND = /[;&|()\n\r`]|\$\(/;

/**
 * The argv that runs a process command written in Procfile (shell) syntax, such that the app
 * itself becomes the container's PID 1 and receives SIGTERM (dash, Debian's sh, does not exec
 * the last command of `sh -c` by itself):
 * - plain words run directly: `node server.js` (or `exec node server.js`) -> [node, server.js]
 * - one simple command that needs the shell ($PORT, quotes, VAR=x) runs as `sh -c 'exec ...'`
 * - compound commands (`a && b`, pipes, several lines) stay under `sh -c` as written; write
 *   `exec` in them (e.g. `migrate && exec server`) to have the server receive signals.
 */
export function processArgv(command: string): string[] {
  const trimmed = command.trim();
  if (trimmed === '') throw new Error('empty process command');
  // Operators inside quotes ('daemon off;') do not make a command compound.
  const unquoted = trimmed.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "''");
  if (COMPOUND.test(unquoted)) return ['/bin/sh', '-c', trimmed];
  const simple = trimmed.replace(/^exec[ \t]+/, '');
  const words = simple.split(/[ \t]+/);
  if (words.every((word) => PLAIN_WORD.test(word)) && !ASSIGNMENT.test(words[0]!)) return words;
  return ['/bin/sh', '-c', `exec ${simple}`];
}
