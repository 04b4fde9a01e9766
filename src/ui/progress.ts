import { Listr, ListrLogger, ListrLogLevels, PRESET_TIMER, PRESET_TIMESTAMP, type ListrTask } from 'listr2';

export interface OutputMode {
  /** --json: stdout carries one JSON document only; progress goes to stderr as plain lines. */
  json: boolean;
}

/** Interactive rendering only on a terminal, outside CI, and not when stdout is JSON. */
export function isInteractive(mode: OutputMode, env: NodeJS.ProcessEnv = process.env): boolean {
  return !mode.json && Boolean(process.stdout.isTTY) && !env.CI;
}

export interface Step<Ctx> {
  title: string;
  /** `report(line)` shows a line of progress under the step (last lines on a TTY, each line in CI). */
  run: (ctx: Ctx, report: (line: string) => void) => Promise<void>;
  skip?: (ctx: Ctx) => boolean | string;
}

/**
 * Runs steps in order with listr2: the live tree on a terminal, otherwise timestamped lines on
 * stderr ("[12:00:01] [STARTED] Build image"), so CI logs and --json stay clean.
 */
export async function runSteps<Ctx extends object>(steps: Step<Ctx>[], ctx: Ctx, mode: OutputMode): Promise<Ctx> {
  const tasks: ListrTask<Ctx>[] = steps.map((step) => ({
    title: step.title,
    skip: step.skip ? (c: Ctx) => step.skip!(c) : undefined,
    task: async (c, task) => step.run(c, (line) => { task.output = line; }),
    rendererOptions: { bottomBar: 6 },
  }));
  const interactive = isInteractive(mode);
  const logger = new ListrLogger({ useIcons: false, toStderr: Object.values(ListrLogLevels) });
  const list = new Listr<Ctx, 'default', 'simple'>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: interactive,
    renderer: 'default',
    fallbackRenderer: 'simple',
    fallbackRendererCondition: !interactive,
    rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
    fallbackRendererOptions: { logger, timestamp: PRESET_TIMESTAMP, timer: PRESET_TIMER },
  });
  return list.run();
}
