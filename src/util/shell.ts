/** Words the POSIX shell reads literally without quotes. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell: the shell turns it back into exactly these bytes.
 * Single quotes make everything literal; a single quote itself is closed, escaped, reopened.
 * NUL cannot be passed in an argument at all, so it is refused rather than silently cut.
 */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The one way paas turns an argv array into the command line an SSH server runs. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteArg).join(' ');
}
