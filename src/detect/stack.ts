import type { AppDir } from './appdir.js';
import type { Procfile } from './procfile.js';
import type { BuildPlan, Stack } from './types.js';

/** Where detection explains itself: reasons (what decided) and warnings (what may go wrong). */
export interface Notes {
  reasons: string[];
  warnings: string[];
}

/** The web command a stack runs when no Procfile names one (null: the image's own CMD). */
export interface StartCommand {
  command: string | null;
  source: string;
}

/** What a stack decides; index.ts adds the process types, app.json settings and notes. */
export type StackPlan = Omit<BuildPlan, 'stack' | 'reasons' | 'warnings' | 'processes' | 'processSource' | 'healthcheck' | 'formation'> & {
  /** Only called when the Procfile has no `web` type, so a stack without a start command is fine then. */
  start: (notes: Notes) => Promise<StartCommand>;
};

export interface StackDetector {
  stack: Stack;
  /** Files whose presence selects the stack, in the order they are looked for. */
  markers: readonly string[];
  /**
   * Weaker signs of the stack (source files, Procfile commands), looked for only when no stack
   * has a marker file: `find` says what it found, as a reason ("web.py").
   */
  evidence?: {
    description: string;
    find(app: AppDir, procfile: Procfile | undefined): Promise<string | undefined>;
  };
  plan(app: AppDir, notes: Notes, procfile: Procfile | undefined): Promise<StackPlan>;
}
