/**
 * The host service: one long-running agent process per host (`agent-<hash>.mjs service`), for
 * what happens with no command running. It keeps each app's formation: a container of the
 * current release that was stopped outside paas (`docker kill`, `docker stop`, the engine giving
 * up its restarts) is started again within about a second, under the app's lock, with a line in
 * `paas logs` (process "paas"); a web replica that is gone is brought back by a rolling restart
 * of web, a replica of another type is created again from the release. It also runs the apps'
 * scheduled tasks (cron.ts).
 *
 * It outlives commands, agent upgrades and host restarts: the agent keeps a launcher,
 * /var/lib/paas/bin/paas-service, that starts the newest agent's service. With systemd the unit
 * paas.service runs the launcher (Restart=always); without it (a container as a host, such as a
 * sandbox) the host's init runs it in a loop (and says so in /run/paas/service.supervised), or
 * else the agent starts the launcher detached. One service per host: it holds service.lock
 * (flock) in /run/paas/locks. When the launcher names a newer agent, the running service hands
 * over: it starts the launcher (or, supervised, exits for its supervisor to start it) and the
 * new one takes the lock once the old one is gone.
 */
import { keepSwarmRoutes } from './swarm.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { LABEL } from '../release/containers.js';
import { planKeep, planRecreate, restartDelayMs, type KeptContainer } from '../release/keeper.js';
import { releaseEnv } from '../config/changes.js';
import { DEFAULTS } from '../release/types.js';
import { PaasError } from '../errors.js';
import { withAppLock } from './app-lock.js';
import { appendAppEvent } from './app-events.js';
import { listed } from './containers.js';
import { runDueTasks } from './cron.js';
import { keepServices, readServiceRecords } from './services.js';
import { runScheduledBackups } from './backups.js';
import { runRenewals } from './renewals.js';
import { refreshSites } from './nginx.js';
import { containersLabelled, createContainer, removeContainer, startContainer } from './engine.js';
import { readAppConfig } from './config-store.js';
import { specFromRelease } from './releases.js';
import { run, sleep, start } from './exec.js';
import { appIntent, listIntents } from './intents.js';
import { acquireLock, lockFile } from './lock.js';
import { reconcileApp } from './reconcile.js';
import { restartProcesses } from './processes.js';
import { LOCKS_DIR, ROOT, RUN_DIR, listApps, readState, writeAtomic } from './state.js';

export const SERVICE_LAUNCHER = path.join(ROOT, 'bin', 'paas-service');
export const SYSTEMD_UNIT = '/etc/systemd/system/paas.service';
const SERVICE_LOCK = path.join(LOCKS_DIR, 'service.lock');
/** Made at boot by a host init that runs the launcher in a loop (the sandbox's): then the agent never starts the service itself. */
export const SUPERVISOR_MARK = path.join(RUN_DIR, 'service.supervised');
const TICK_MS = 1000;
/** How often the service looks whether the launcher names a newer agent. */
const HANDOVER_CHECK_MS = 5000;
/** How often the certificates of certs:auto are looked at (cheap: the apps' settings files). */
const RENEWAL_CHECK_MS = 10_000;

/** The launcher: a fixed script that starts one agent file's service (no input reaches it). */
export function launcherText(nodePath: string, agentFile: string): string {
  return `#!/bin/sh\n# Written by the paas agent: starts the host service of the newest agent.\nexec '${nodePath}' '${agentFile}' service "$@"\n`;
}

export function systemdUnitText(launcher: string): string {
  return [
    '[Unit]',
    'Description=paas host service (keeps app formations, runs scheduled tasks)',
    'After=docker.service network-online.target',
    'Wants=docker.service',
    '',
    '[Service]',
    `ExecStart=${launcher} --supervised`,
    'Restart=always',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Paths are the agent's own (absolute, without quotes): anything else is refused rather than written into a script. */
function checkedPath(file: string): string {
  if (!/^\/[A-Za-z0-9._/+-]+$/.test(file)) throw new PaasError('host', `cannot write the service launcher for ${JSON.stringify(file)}`);
  return file;
}

async function readText(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined);
}

/**
 * Makes the host service run this agent: the launcher written (when it names another agent), then
 * under systemd the unit installed and enabled, otherwise the launcher started when no service
 * holds the lock. A running older service sees the new launcher and hands over by itself.
 * Errors are reported to the caller, which goes on: the service is not on a deploy's path.
 */
export async function ensureService(agentFile = process.argv[1] ?? ''): Promise<void> {
  // git push runs the agent through the current.mjs link: the launcher names the file itself.
  const launcher = launcherText(checkedPath(process.execPath), checkedPath(await fs.realpath(agentFile)));
  if (await readText(SERVICE_LAUNCHER) !== launcher) {
    await fs.mkdir(path.dirname(SERVICE_LAUNCHER), { recursive: true, mode: 0o755 });
    await writeAtomic(SERVICE_LAUNCHER, launcher, 0o755);
  }
  if (existsSync('/run/systemd/system')) {
    const unit = systemdUnitText(SERVICE_LAUNCHER);
    if (await readText(SYSTEMD_UNIT) !== unit) {
      await writeAtomic(SYSTEMD_UNIT, unit, 0o644);
      await run('systemctl', ['daemon-reload'], { timeoutMs: 30_000 });
    }
    await run('systemctl', ['enable', '--now', 'paas.service'], { timeoutMs: 30_000 });
    return;
  }
  // The host's init runs the launcher itself (it made this file at boot): nothing to start.
  if (existsSync(SUPERVISOR_MARK)) return;
  const free = await lockFile(SERVICE_LOCK, 'exclusive', 0);
  if (!free) return;
  await free.close();
  start(SERVICE_LAUNCHER, [], 'ignore', undefined, true).unref();
}

/** Per container: how often the service started it again, and when it may next. */
interface Attempts { count: number; notBefore: number; startedAt: number }

/** The host service's log: what it did and what failed (also on stderr: systemd's journal has it). */
export const SERVICE_LOG = path.join(ROOT, 'log', 'service.log');
const SERVICE_LOG_MAX = 1024 * 1024;

/** One line to the service's log, kept under 1 MiB (the older half goes). */
function serviceLog(line: string): void {
  const text = `${new Date().toISOString()} ${line.replace(/\n/g, ' ')}\n`;
  process.stderr.write(`paas service: ${line}\n`);
  void (async () => {
    await fs.mkdir(path.dirname(SERVICE_LOG), { recursive: true, mode: 0o700 });
    const size = (await fs.stat(SERVICE_LOG).catch(() => undefined))?.size ?? 0;
    if (size > SERVICE_LOG_MAX) {
      const kept = (await fs.readFile(SERVICE_LOG)).subarray(size - SERVICE_LOG_MAX / 2);
      await writeAtomic(SERVICE_LOG, kept.subarray(kept.indexOf(10) + 1), 0o600);
    }
    await fs.appendFile(SERVICE_LOG, text, { mode: 0o600 });
  })().catch(() => {});
}

/**
 * Cluster releases an agent left (killed during a service update): settled (recorded or undone)
 * as soon as their app's lock is free and Swarm is done with them, with no command run. One
 * readdir a tick when there are none.
 */
async function settleClusterReleases(): Promise<void> {
  for (const app of (await listIntents()).apps) {
    if ((await appIntent(app))?.kind !== 'swarm') continue;
    const release = await acquireLock(app, { holder: 'paas host service', command: 'settle a cluster release' }, 0).catch(() => undefined);
    if (!release) continue;
    try {
      for (const line of (await reconcileApp(app)).did) serviceLog(`cluster: ${app}: ${line}`);
    } finally {
      await release();
    }
  }
}

/** Runs the service until a newer agent takes over; resolves with the process's exit code. */
export async function serveHost(argv: string[], ownAgentFile = process.argv[1] ?? ''): Promise<number> {
  const supervised = argv.includes('--supervised');
  // A service handing over still holds the lock for a moment: wait for it.
  const held = await lockFile(SERVICE_LOCK, 'exclusive', 30_000);
  if (!held) return 0;
  const agentFile = await fs.realpath(ownAgentFile);
  const attempts = new Map<string, Attempts>();
  let lastHandoverCheck = Date.now();
  let lastRenewalCheck = 0;
  for (;;) {
    await keepFormations(attempts).catch((error: unknown) => {
      serviceLog(`${(error as Error).message}`);
    });
    // On a cluster's manager: nginx's peers follow the tasks of the apps' services on every node.
    await keepSwarmRoutes().catch((error: unknown) => {
      serviceLog(`cluster routes: ${(error as Error).message}`);
    });
    await settleClusterReleases().catch((error: unknown) => {
      serviceLog(`cluster releases: ${(error as Error).message}`);
    });
    // The service records, read once a tick for both of their uses.
    const services = await readServiceRecords().catch(() => []);
    await keepServices(services).catch((error: unknown) => {
      serviceLog(`services: ${(error as Error).message}`);
    });
    await runSchedules(new Date());
    await runScheduledBackups(services, new Date(), (line) => serviceLog(`${line}`)).catch((error: unknown) => {
      serviceLog(`backups: ${(error as Error).message}`);
    });
    if (Date.now() - lastRenewalCheck >= RENEWAL_CHECK_MS) {
      lastRenewalCheck = Date.now();
      // A sites table an agent wrote but was killed before nginx loaded it: nginx takes it now.
      await refreshSites().catch(() => undefined);
      // In the background: an issuance takes seconds; the next check waits for it.
      runRenewals(new Date(), (line) => serviceLog(`certificates: ${line}`));
    }
    if (Date.now() - lastHandoverCheck >= HANDOVER_CHECK_MS) {
      lastHandoverCheck = Date.now();
      const launcher = await readText(SERVICE_LAUNCHER);
      if (launcher !== undefined && !launcher.includes(`'${agentFile}'`)) {
        await held.close();
        if (!supervised) start(SERVICE_LAUNCHER, [], 'ignore', undefined, true).unref();
        return 0;
      }
    }
    await sleep(TICK_MS);
  }
}

/** Each app's due scheduled tasks (cron.ts); one app's failure does not stop the others'. */
async function runSchedules(now: Date): Promise<void> {
  for (const app of await listApps()) {
    await runDueTasks(app, now).catch((error: unknown) => {
      serviceLog(`cron of ${app}: ${(error as Error).message}`);
    });
  }
}

function kept(container: Awaited<ReturnType<typeof containersLabelled>>[number]): KeptContainer & { app: string } {
  return { ...listed(container), app: container.Labels?.[LABEL.app] ?? '', status: container.State ?? '' };
}

/** One round over every app: what is stopped is started again, under the app's lock, never while a command holds it. */
export async function keepFormations(attempts: Map<string, Attempts>, now = Date.now): Promise<void> {
  const all = (await containersLabelled([LABEL.app])).map(kept).filter((c) => c.type !== '');
  // Forget containers that are gone (the map lives as long as the service).
  for (const key of attempts.keys()) if (!key.endsWith(' missing') && !all.some((c) => c.id === key)) attempts.delete(key);
  for (const app of await listApps()) {
    const release = currentOf(await readState(app));
    // Swarm keeps a cluster app's tasks itself: this host has no containers of it to keep.
    if (!release || release.engine === 'swarm' || await appIntent(app)) continue;
    const mine = all.filter((c) => c.app === app);
    const plan = planKeep(release, mine);
    for (const c of mine) {
      const tried = attempts.get(c.id);
      // Up for a minute: its next stop starts the count again.
      if (tried && c.running && now() - tried.startedAt > 60_000) attempts.delete(c.id);
    }
    const due = plan.start.filter((c) => (attempts.get(c.id)?.notBefore ?? 0) <= now());
    const webKey = `${app}:web missing`;
    const webMissing = plan.missing.some((m) => m.type === 'web') && (attempts.get(webKey)?.notBefore ?? 0) <= now();
    if (!plan.missing.length) attempts.delete(webKey);
    const othersKey = `${app}:others missing`;
    const othersMissing = plan.missing.some((m) => m.type !== 'web') && (attempts.get(othersKey)?.notBefore ?? 0) <= now();
    if (!due.length && !webMissing && !othersMissing && !plan.leftover.length) continue;
    await withAppLock(app, { holder: 'paas service', command: 'keep the formation' }, { waitMs: 0 }, async () => {
      // Read again under the lock: a command may have changed the app in between.
      const state = await readState(app);
      const current = currentOf(state);
      if (!current || current.version !== release.version) return;
      const fresh = (await containersLabelled([`${LABEL.app}=${app}`])).map(kept).filter((c) => c.type !== '');
      const again = planKeep(current, fresh);
      if (again.leftover.length) {
        for (const c of again.leftover) await removeContainer(c.id);
        await appendAppEvent(app, `removed ${again.leftover.length} stopped container(s) that a cut drain left: ${again.leftover.map((c) => c.name).join(', ')}`);
      }
      for (const c of again.start.filter((s) => due.some((d) => d.id === s.id))) {
        const count = (attempts.get(c.id)?.count ?? 0) + 1;
        attempts.set(c.id, { count, notBefore: now() + restartDelayMs(count), startedAt: now() });
        await startContainer(c.id, c.name);
        await appendAppEvent(app, `${c.type}.${c.replica} (${c.name}) was ${c.status} outside paas; the host service started it again${count > 1 ? ` (attempt ${count}; next no sooner than ${restartDelayMs(count) / 1000} s)` : ''}`);
      }
      const recreate = othersMissing ? planRecreate(specFromRelease(app, current, { version: current.version, createdBy: 'paas service', keepReleases: DEFAULTS.keepReleases, description: current.description }), again.missing, releaseEnv(current.env, await readAppConfig(app))) : [];
      if (recreate.length) {
        const count = (attempts.get(othersKey)?.count ?? 0) + 1;
        attempts.set(othersKey, { count, notBefore: now() + restartDelayMs(count), startedAt: now() });
        for (const container of recreate) {
          await startContainer(await createContainer(container.name, container.create), container.name);
          await appendAppEvent(app, `${container.type}.${container.replica} of v${current.version} was gone (removed outside paas); the host service started ${container.name} again`);
        }
      }
      if (webMissing && again.missing.some((m) => m.type === 'web')) {
        const count = (attempts.get(webKey)?.count ?? 0) + 1;
        attempts.set(webKey, { count, notBefore: now() + restartDelayMs(count), startedAt: now() });
        const gone = again.missing.filter((m) => m.type === 'web').map((m) => `web.${m.replica}`).join(', ');
        await appendAppEvent(app, `${gone} of v${current.version} is gone (removed outside paas); the host service restarts web`);
        await restartProcesses(app, 'web', 'paas service', () => {});
      }
    }).catch(async (error: unknown) => {
      if (error instanceof PaasError && error.kind === 'lock') return; // a command is at work: next round
      await appendAppEvent(app, `the host service could not keep the formation: ${(error as Error).message}`).catch(() => {});
    });
  }
}

function currentOf(state: Awaited<ReturnType<typeof readState>>) {
  return state.current === undefined ? undefined : state.releases.find((r) => r.version === state.current);
}
