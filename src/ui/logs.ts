import { Chalk, type ChalkInstance } from 'chalk';
import type { LogLine } from '../release/ps.js';

/** Colours of the process prefixes, in order of first appearance (as foreman and heroku do). */
export const PROCESS_COLORS = ['cyan', 'magenta', 'green', 'yellow', 'blue', 'red'] as const;

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(isTTY) && !env.NO_COLOR;
}

/** "web.1", or "<host> web.1" when the app has several hosts. */
export function logPrefix(line: LogLine, multiHost: boolean): string {
  return multiHost && line.host ? `${line.host} ${line.process}` : line.process;
}

/**
 * Formats log lines as `<prefix padded> | <text>`, the prefix coloured per process when `color`.
 * The width grows to the longest prefix seen, so a followed stream stays aligned.
 */
export class LogFormatter {
  private readonly chalk: ChalkInstance;
  private readonly colors = new Map<string, (typeof PROCESS_COLORS)[number]>();
  private width: number;

  constructor(private readonly multiHost: boolean, color: boolean, prefixes: string[] = []) {
    this.chalk = new Chalk({ level: color ? 1 : 0 });
    this.width = Math.max(0, ...prefixes.map((p) => p.length));
  }

  colorOf(prefix: string): (typeof PROCESS_COLORS)[number] {
    let color = this.colors.get(prefix);
    if (!color) {
      color = PROCESS_COLORS[this.colors.size % PROCESS_COLORS.length]!;
      this.colors.set(prefix, color);
    }
    return color;
  }

  format(line: LogLine): string {
    const prefix = logPrefix(line, this.multiHost);
    this.width = Math.max(this.width, prefix.length);
    return `${this.chalk[this.colorOf(prefix)](prefix.padEnd(this.width))} | ${line.text}`;
  }
}
