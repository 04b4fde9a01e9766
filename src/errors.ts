/**
 * Every failure a user can cause or fix is a PaasError: what went wrong, where, and how to fix it.
 * Commands print these without a stack trace (unless --debug) and exit with `exitCode`.
 */
export const ExitCode = {
  failure: 1,
  usage: 2,
  config: 3,
  detect: 4,
  docker: 5,
  build: 6,
  sandbox: 7,
  ssh: 8,
  hostKey: 9,
  lock: 10,
  healthcheck: 11,
  host: 12,
  /** The release phase (Procfile `release:`) exited non-zero: nothing was switched. */
  release: 13,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

export interface PaasErrorOptions {
  /** Where: a file (with line/column when known), a host, a container. */
  where?: string;
  /** How to fix it, as a sentence or a command to run. */
  hint?: string;
  /** Extra lines shown under the message (e.g. a list of validation problems, a log tail). */
  details?: string[];
  cause?: unknown;
}

export class PaasError extends Error {
  readonly kind: ExitCodeName;
  readonly where?: string;
  readonly hint?: string;
  readonly details: string[];

  constructor(kind: ExitCodeName, message: string, options: PaasErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PaasError';
    this.kind = kind;
    this.where = options.where;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }

  /** The text shown to a user: `where: message`, details indented, then the hint. */
  format(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    const lines = [head, ...this.details.map((d) => `  ${d}`)];
    if (this.hint) lines.push(`Fix: ${this.hint}`);
    return lines.join('\n');
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.kind,
      message: this.message,
      ...(this.where ? { where: this.where } : {}),
      ...(this.details.length ? { details: this.details } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      exitCode: this.exitCode,
    };
  }
}
