/**
 * Scheduled tasks on a host (app.json `cron`, paas.yml `cron:`), run by the host service each
 * second: the due runs of the current release's tasks (src/release/cron.ts decides which), each
 * in a one-off container of that release with its config vars. Only on the host the deploy named
 * for them (the first of the app's hosts: `runsCron` is false on the others), so a task runs
 * once per schedule for the app, whatever its replicas and hosts. The minute handled is written
 * before any run starts (apps/<app>/cron.json): a service killed at any line skips a run rather
 * than start it twice, and a deploy neither repeats nor kills a run (runs are one-off
 * containers, which rollouts leave alone).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { releaseEnv } from '../config/changes.js';
import { PaasError } from '../errors.js';
import { CRON_LABEL, LABEL, cronRunName, networkCreate, planCronRun } from '../release/containers.js';
import { dueRuns, nextRuns, overlapAction, parseSchedule } from '../release/cron.js';
import type { CronTask } from '../detect/types.js';
import type { Release } from '../release/types.js';
import { appendAppEvent } from './app-events.js';
import { readAppConfig } from './config-store.js';
import { containersLabelled, createContainer, engineRequest, ensureNetwork, removeContainer, startContainer, type EngineContainer } from './engine.js';
import type { CronView } from './protocol.js';
import { appDir, readJson, readState, writeAtomic } from './state.js';

/** The process name of task runs in `paas logs` (cron.<task id>). */
export const CRON_PROCESS = 'cron';

/** What the service keeps per app: the last moment it looked for due runs. */
interface CronClock { lastTickAt?: string }
/** What cron:suspend / cron:resume keep (under the app's lock): tasks that are not run until resumed. */
interface CronSuspended { suspended: string[] }

const clockFile = (app: string) => path.join(appDir(app), 'cron.json');
const suspendedFile = (app: string) => path.join(appDir(app), 'cron-suspended.json');
/** Finished runs kept per task, for `paas logs -p cron` and `paas cron`. */
const KEPT_RUNS = 3;

async function suspendedTasks(app: string): Promise<string[]> {
  return (await readJson<CronSuspended>(suspendedFile(app)))?.suspended ?? [];
}

function currentRelease(state: Awaited<ReturnType<typeof readState>>): Release | undefined {
  return state.current === undefined ? undefined : state.releases.find((r) => r.version === state.current);
}

interface CronRun { id: string; name: string; task: string; at: string; running: boolean; created: number }

function cronRun(container: EngineContainer & { Created?: number }): CronRun {
  const labels = container.Labels ?? {};
  return {
    id: container.Id, name: (container.Names[0] ?? '').replace(/^\//, ''), task: labels[CRON_LABEL.task] ?? '', at: labels[CRON_LABEL.at] ?? '',
    running: container.State === 'running', created: container.Created ?? 0,
  };
}

/** The app's task runs on this host (running and finished), newest first. */
export async function cronRuns(app: string, task?: string): Promise<CronRun[]> {
  const labels = [`${LABEL.app}=${app}`, task === undefined ? CRON_LABEL.task : `${CRON_LABEL.task}=${task}`];
  return (await containersLabelled(labels)).map(cronRun).sort((a, b) => b.created - a.created);
}

/** Starts one run of `task` of the release (at: the scheduled minute; undefined for cron:run). */
async function startRun(app: string, release: Release, task: Pick<CronTask, 'id' | 'command'>, at: Date | undefined): Promise<string> {
  const env = releaseEnv(release.env, await readAppConfig(app));
  const name = cronRunName(app, task.id, at, randomBytes(2).toString('hex'));
  if (release.engine !== 'swarm') await ensureNetwork(networkCreate(app));
  const id = await createContainer(name, planCronRun({ ...release, app }, env, task, at));
  await startContainer(id, name);
  return name;
}

/** Removes the finished runs of a task beyond the newest KEPT_RUNS. */
async function pruneRuns(app: string, task: string): Promise<void> {
  const finished = (await cronRuns(app, task)).filter((run) => !run.running);
  for (const run of finished.slice(KEPT_RUNS)) await removeContainer(run.id).catch(() => {});
}

/** One tick of the scheduler for one app. */
export async function runDueTasks(app: string, now: Date): Promise<void> {
  const release = currentRelease(await readState(app));
  const tasks = release?.cron ?? [];
  if (!release || tasks.length === 0 || release.runsCron === false) return;
  const clock = await readJson<CronClock>(clockFile(app));
  const suspended = new Set(await suspendedTasks(app));
  const due = dueRuns(tasks.map((task) => (suspended.has(task.id) ? { ...task, maintenance: true } : task)), clock?.lastTickAt ? new Date(clock.lastTickAt) : undefined, now);
  if (due.length === 0) return; // nothing due since the last write: looking again from it gives the same answer
  // Written first: a run is at most once (see above).
  await writeAtomic(clockFile(app), `${JSON.stringify({ lastTickAt: now.toISOString() } satisfies CronClock)}\n`);
  for (const { task, at } of due) {
    const previous = (await cronRuns(app, task.id)).filter((run) => run.running);
    const action = overlapAction(task.concurrencyPolicy, previous.length > 0);
    const when = at.toISOString().slice(0, 16).replace('T', ' ');
    if (action === 'skip') {
      await appendAppEvent(app, `cron ${task.id}: the run of ${when} UTC is skipped: ${previous[0]!.name} still runs (concurrency_policy forbid)`);
      continue;
    }
    if (action === 'replace') {
      for (const run of previous) await engineRequest('POST', `/containers/${run.id}/stop?t=10`, undefined, 30_000).catch(() => undefined);
      await appendAppEvent(app, `cron ${task.id}: stopped ${previous.map((run) => run.name).join(', ')} (concurrency_policy replace)`);
    }
    try {
      const name = await startRun(app, release, task, at);
      await appendAppEvent(app, `cron ${task.id}: started ${name} for ${when} UTC: ${task.command.slice(0, 200)}`);
    } catch (error) {
      await appendAppEvent(app, `cron ${task.id}: the run of ${when} UTC could not start: ${(error as Error).message}`);
    }
    await pruneRuns(app, task.id);
  }
}

function taskOf(release: Release | undefined, app: string, id: string): CronTask {
  const task = release?.cron?.find((t) => t.id === id);
  if (!task) {
    const known = (release?.cron ?? []).map((t) => t.id);
    throw new PaasError('usage', `${app} has no scheduled task ${JSON.stringify(id)}`, { hint: known.length ? `its tasks: ${known.join(', ')} (paas cron)` : 'declare tasks in app.json cron or paas.yml cron:' });
  }
  return task;
}

/** `paas cron`: each task with its next runs and its last run on this host. */
export async function cronView(app: string, now = new Date()): Promise<CronView> {
  const release = currentRelease(await readState(app));
  const suspended = new Set(await suspendedTasks(app));
  const runs = await cronRuns(app);
  return {
    app,
    runsCron: release ? release.runsCron !== false : false,
    tasks: (release?.cron ?? []).map((task) => {
      const last = runs.find((run) => run.task === task.id);
      const off = task.maintenance || suspended.has(task.id);
      return {
        id: task.id, schedule: task.schedule, command: task.command, concurrencyPolicy: task.concurrencyPolicy, maintenance: task.maintenance,
        suspended: suspended.has(task.id), source: task.source,
        ...(off ? {} : { next: nextRuns(parseSchedule(task.schedule, task.source), now, 1)[0]?.toISOString() }),
        ...(last ? { last: { container: last.name, scheduledFor: last.at, running: last.running } } : {}),
      };
    }),
  };
}

/** `paas cron:run ID`: one run now, whatever the schedule and the policy. */
export async function runTaskNow(app: string, id: string): Promise<{ app: string; task: string; container: string }> {
  const release = currentRelease(await readState(app));
  if (!release) throw new PaasError('usage', `${app} has no release on this host yet`, { hint: 'deploy it first: paas deploy' });
  const task = taskOf(release, app, id);
  const container = await startRun(app, release, task, undefined);
  await appendAppEvent(app, `cron ${task.id}: started ${container} by hand (cron:run)`);
  await pruneRuns(app, task.id);
  return { app, task: task.id, container };
}

/** cron:suspend / cron:resume (the caller holds the app's lock). */
export async function suspendTask(app: string, id: string, suspend: boolean): Promise<CronView> {
  const release = currentRelease(await readState(app));
  taskOf(release, app, id);
  const now = new Set(await suspendedTasks(app));
  if (suspend) now.add(id);
  else now.delete(id);
  await writeAtomic(suspendedFile(app), `${JSON.stringify({ suspended: [...now].sort() } satisfies CronSuspended)}\n`);
  await appendAppEvent(app, `cron ${id}: ${suspend ? 'suspended (cron:suspend)' : 'resumed (cron:resume)'}`);
  return cronView(app);
}
