/**
 * The agent's verbs: each parses nothing itself (protocol.ts hands it checked flags), takes the
 * app's lock through one helper when it changes something, and calls one domain function.
 */
import { randomUUID } from 'node:crypto';
import { PaasError } from '../errors.js';
import { DEFAULTS } from '../release/types.js';
import { withAppLock, rollout, type LockRequest } from './app-lock.js';
import { appInfo, destroyApp, listAppSummaries } from './apps.js';
import { IMAGE_REF, missingImages, validateBuildRequest } from './build.js';
import { readSnapshot } from './config-store.js';
import { cronView, runTaskNow, suspendTask } from './cron.js';
import { changeConfig, readChange, showConfig } from './config-vars.js';
import { appContainers, pruneImages, stopAppContainers } from './containers.js';
import { deploySession } from './deploy-session.js';
import { apiName, engineGet } from './engine.js';
import { sleep } from './exec.js';
import { failpoint } from './failpoints.js';
import { addKey, gitShell, listKeys, removeKey } from './git.js';
import { hostFacts, layerChainIds, loadImages, setupHost } from './host-setup.js';
import { autoCertificate, certsView, stopAutoCertificate } from './acme.js';
import { removeIntent } from './intents.js';
import { runOneOff } from './oneoff.js';
import { ensureService } from './service.js';
import { processTable, restartProcesses, scaleRequest, streamLogs } from './processes.js';
import type { OutcomeResult, VerbArgs, VerbTable } from './protocol.js';
import { rollbackSpec, rollbackTarget } from './releases.js';
import { readRolloutInputs, rolloutLocked } from './rollout.js';
import {
  addCertificate, addDomain, balanceRequest, certificateRequest, checkDomainName, domainsView, lbView, removeCertificate, removeDomain, setBalance,
} from './routing.js';
import { parseJsonRequest, readBounded } from './args.js';
import { checkJoinRequest, clusterDrain, clusterInit, clusterJoin, clusterLeave, clusterRemove, clusterToken, clusterView } from './swarm.js';
import { appDir, readState } from './state.js';
import { addVolume, removeVolumeMount, volumesView } from './volumes.js';
import { hostReport } from './host-info.js';
import { applyFront, frontView, refuseAppsOnFront } from './front.js';
import { backupVolume, listVolumeBackups, restoreVolume } from './volume-backups.js';
import { connectService, createService, destroyService, linkService, listServices, serviceInfo, unlinkService } from './services.js';
import { checkedKind, checkedServiceName, checkedTargetKind, checkedVersion } from '../release/services.js';
import { backupKeyText, backupService, listServiceBackups, restoreFromTarget, restoreService, restoreUpload, scheduleBackups, scheduledBackup, writeBackupTo } from './backups.js';
import type { TargetRequest } from './backup-targets.js';

/** How a verb that changes the app takes its lock: under the CLI's `lock` verb (a token), or itself (waiting, or not). */
function lockOf(args: { 'lock-token'?: string; wait?: number }): LockRequest {
  return { ...(args['lock-token'] ? { token: args['lock-token'] } : {}), ...(args.wait ? { waitMs: Math.min(args.wait, 600_000) } : {}) };
}

/** Runs `change` under the app's lock, as `by` for `what`. */
function locked<T>(args: { app: string; by?: string; 'lock-token'?: string; wait?: number }, what: string, change: () => Promise<T>): Promise<T> {
  appDir(args.app); // the name, checked before anything
  return withAppLock(args.app, { holder: args.by ?? 'unknown', command: what }, lockOf(args), change);
}

/** A release's number and who asks, as the CLI sends them. */
const releaseFields = (args: { version: number; by?: string; keep?: number }) => ({
  version: args.version, createdBy: args.by ?? 'unknown', keepReleases: args.keep ?? DEFAULTS.keepReleases,
});

/**
 * What a host says about an app after a command lost its connection: once the app's lock is free
 * (waiting up to --wait ms for the agent that may still be finishing), reconciled, which release
 * is current and which containers run. With the lock still held, who holds it.
 */
async function outcome(args: VerbArgs<'outcome'>): Promise<OutcomeResult> {
  const { app } = args;
  const summary = async () => {
    const state = await readState(app);
    const containers = (await appContainers(app)).map((c) => ({ name: c.name, release: c.release, running: c.running }));
    return { ...(state.current !== undefined ? { current: state.current } : {}), releases: state.releases.map((r) => ({ version: r.version, status: r.status })), containers };
  };
  try {
    return await withAppLock(app, { holder: args.by ?? 'unknown', command: 'outcome' }, { waitMs: Math.min(args.wait ?? 0, 300_000) }, async () => ({ app, locked: false, ...(await summary()) }));
  } catch (error) {
    if (error instanceof PaasError && error.kind === 'lock') return { app, locked: true, holder: error.message, ...(await summary()) };
    throw error;
  }
}

export const VERBS: VerbTable = {
  info: ({ args }) => hostFacts(args.app),
  'host-info': () => hostReport(),
  setup: async ({ args, readStdin }) => setupHost(args['base-domain'] ?? 'localhost', args['public-port'] ?? 80, {
    ...(args['acme-directory'] !== undefined ? { directoryUrl: args['acme-directory'] } : {}),
    ...(args['acme-email'] !== undefined ? { email: args['acme-email'] } : {}),
    ...(args['acme-resolver'] !== undefined ? { resolver: args['acme-resolver'] } : {}),
    ...(args['acme-renew-before'] !== undefined ? { renewBeforeDays: args['acme-renew-before'] } : {}),
    ...(args['acme-ca'] ? { caPem: (parseJsonRequest(await readStdin(), 'the ACME CA roots on stdin') as { ca?: unknown }).ca } : {}),
  }),
  layers: () => layerChainIds(),
  load: ({ stdin }) => loadImages(stdin),
  images: async ({ args }) => {
    validateBuildRequest({ requires: args.ref, dockerfile: 'Dockerfile', buildArgs: {} });
    return { missing: await missingImages(args.ref) };
  },

  /**
   * Holds the app's lock for as long as stdin stays open: the CLI takes it when it connects, so a
   * second command fails before anything changes, and a dropped connection releases it (after the
   * verbs working under it, with its token, are done).
   */
  lock: async ({ args, emit, readStdin }) => {
    const token = randomUUID();
    await withAppLock(args.app, { holder: args.by ?? 'unknown', command: args.command ?? 'paas', token }, { waitMs: args.wait ?? 0 }, async () => {
      emit(token, 'locked');
      await readStdin();
    });
    return { app: args.app, released: true };
  },
  deploy: async ({ args, emit, stdin }) => {
    await refuseAppsOnFront();
    return deploySession({ app: args.app, by: args.by ?? 'unknown', command: args.command ?? 'paas deploy', waitMs: args.wait ?? 0, stdin, emit });
  },
  rollback: async ({ args, emit }) => {
    const { readStateOrHistory } = await import('./swarm.js');
    const state = await readStateOrHistory(args.app);
    const spec = rollbackSpec(state, { ...(args.to !== undefined ? { to: args.to } : {}), ...releaseFields(args) });
    if ((await engineGet(`/images/${apiName(spec.image)}/json`)).status !== 200) {
      throw new PaasError('usage', `the image of v${args.to ?? '?'} (${spec.image}) is no longer on this host`, {
        hint: 'only the newest releases keep their images (keep_releases in paas.yml); deploy that code again instead',
      });
    }
    // Heroku's rollback: the code AND the config vars of that release; no release phase.
    const target = rollbackTarget(state, args.to);
    if (spec.engine === 'swarm') {
      // A cluster release recorded without its config vars' names (before paas kept them) keeps the ones in force.
      const config = target.configVars === undefined ? undefined : await readSnapshot(args.app, target);
      const { swarmRelease } = await import('./swarm.js');
      return locked(args, 'rollback', async () => swarmRelease(spec, emit, config, { releasePhase: false }));
    }
    const config = await readSnapshot(args.app, target);
    return rollout(spec, emit, lockOf(args), [], { config, releasePhase: false });
  },

  /**
   * The background end of a rollout: wait, SIGTERM the old containers (found by the app's label),
   * remove old images, then its intent (intents.ts) goes. Killed on the way, the next agent that
   * starts finishes it (reconcile.ts).
   */
  drain: async ({ args }) => {
    appDir(args.app);
    if (!/^[0-9a-f]{8}$/.test(args.id)) throw new PaasError('usage', '--id: expected 8 hex digits');
    const containers = args.container.filter((name) => /^paas-[A-Za-z0-9_.-]+$/.test(name));
    const images = args.image.filter((image) => IMAGE_REF.test(image));
    await sleep(Math.min(args.after ?? 0, 600_000));
    await failpoint('drain-stop');
    const stopped = await stopAppContainers(args.app, containers, Math.min(args.timeout ?? 10, 3600));
    const pruned = await pruneImages(images);
    await removeIntent({ kind: 'drain', app: args.app, id: args.id });
    return { stopped, pruned };
  },

  releases: async ({ args }) => (await import('./swarm.js')).readStateOrHistory(args.app),
  outcome: ({ args }) => outcome(args),
  apps: () => listAppSummaries(),
  'app-info': ({ args }) => appInfo(args.app),

  'config-show': ({ args }) => showConfig(args.app, args.key, args.reveal),
  'config-set': async ({ args, emit, readStdin }) => {
    const change = readChange(await readStdin());
    // The CLI holds the app's lock on every host (lockApp) before it changes any.
    return locked(args, 'config', () => changeConfig(args.app, change, releaseFields(args), emit));
  },
  run: ({ args, positionals }) => runOneOff(args.app, positionals, args.tty),

  ps: ({ args }) => processTable(args.app),
  scale: async ({ args, emit }) => locked(args, `ps:scale ${args.set.join(' ')}`, async () => {
    const { spec, formation } = await scaleRequest(args.app, args.set, releaseFields(args), emit);
    if (spec.engine === 'swarm') {
      // Swarm holds the formation: the services' replicas change in a new release.
      const { swarmRelease } = await import('./swarm.js');
      return swarmRelease({ ...spec, formation: { ...spec.formation, ...formation } }, emit);
    }
    return rolloutLocked(spec, emit, readRolloutInputs(args.app, { formation }), [], { formation });
  }),
  restart: ({ args, emit }) => locked(args, `ps:restart${args.type ? ` ${args.type}` : ''}`, () => restartProcesses(args.app, args.type, args.by ?? 'unknown', emit)),
  logs: ({ args, stdin }) => {
    const stopped = new Promise<void>((resolve) => {
      if (!args.follow) return resolve();
      stdin.on('end', resolve);
      stdin.on('close', resolve);
      stdin.on('error', resolve);
      stdin.resume();
    });
    return streamLogs({
      app: args.app, tail: args.tail ?? 100, ...(args.process !== undefined ? { process: args.process } : {}), follow: args.follow, stopped,
      // One log line a protocol event (not echoed on stderr like emit).
      send: (line) => { if (!process.stdout.destroyed) process.stdout.write(`${JSON.stringify({ type: 'event', step: 'log', message: JSON.stringify(line) })}\n`); },
    });
  },

  domains: ({ args }) => domainsView(args.app),
  'domains-add': ({ args, emit }) => {
    const name = checkDomainName(args.name);
    return locked(args, `domains:add ${name}`, () => addDomain(args.app, name, emit));
  },
  'domains-remove': ({ args, emit }) => {
    const name = checkDomainName(args.name);
    return locked(args, `domains:remove ${name}`, () => removeDomain(args.app, name, emit));
  },
  certs: ({ args }) => certsView(args.app),
  'certs-add': async ({ args, emit, readStdin }) => {
    const pem = certificateRequest(parseJsonRequest(await readStdin(), 'the certificate request on stdin'));
    return locked(args, 'certs:add', () => addCertificate(args.app, pem, { redirect: !args['no-redirect'], hsts: args.hsts }, emit));
  },
  'certs-auto': ({ args, emit }) => {
    const names = args.name.map((name) => checkDomainName(name));
    return locked(args, args.off ? 'certs:auto --off' : 'certs:auto', () => (args.off
      ? stopAutoCertificate(args.app, emit)
      : autoCertificate(args.app, names, { redirect: !args['no-redirect'], hsts: args.hsts, by: 'certs:auto' }, emit)));
  },
  'certs-remove': ({ args, emit }) => locked(args, 'certs:remove', () => removeCertificate(args.app, emit)),
  lb: ({ args }) => lbView(args.app),
  'lb-set': ({ args, emit }) => {
    const chosen = balanceRequest(args.strategy, args.weight);
    return locked(args, 'lb:set', () => setBalance(args.app, chosen, emit));
  },
  cron: ({ args }) => cronView(args.app),
  'cron-run': ({ args }) => {
    appDir(args.app);
    return runTaskNow(args.app, args.id);
  },
  'cron-suspend': ({ args }) => locked(args, `cron:suspend ${args.id}`, () => suspendTask(args.app, args.id, true)),
  'cron-resume': ({ args }) => locked(args, `cron:resume ${args.id}`, () => suspendTask(args.app, args.id, false)),
  services: () => listServices(),
  'services-create': ({ args, emit }) => {
    const kind = checkedKind(args.kind);
    return createService(kind, checkedServiceName(args.name), checkedVersion(kind, args.version), emit);
  },
  'services-info': ({ args }) => serviceInfo(checkedServiceName(args.name), args.reveal),
  'services-link': ({ args, emit }) => locked(args, `services:link ${args.name}`, () => linkService(checkedServiceName(args.name), args.app, args.as, releaseFields(args), emit)),
  'services-unlink': ({ args, emit }) => locked(args, `services:unlink ${args.name}`, () => unlinkService(checkedServiceName(args.name), args.app, releaseFields(args), emit)),
  'services-destroy': ({ args, emit }) => destroyService(checkedServiceName(args.name), args.backups, emit),
  'services-connect': ({ args }) => connectService(checkedServiceName(args.name), args.tty),
  'services-backup': ({ args, emit }) => (args.scheduled ? scheduledBackup : backupService)(checkedServiceName(args.name), emit),
  'services-backups': ({ args }) => listServiceBackups(checkedServiceName(args.name)),
  'services-restore': ({ args, emit, stdin }) => {
    const [name, to] = [checkedServiceName(args.name), args.to ? checkedServiceName(args.to) : undefined];
    if (args.upload) return restoreUpload(name, to, stdin, emit);
    if (args['from-target']) return restoreFromTarget(name, checkedTargetKind(args['from-target']), args.backup, to, emit);
    return restoreService(name, args.backup, to, emit);
  },
  'services-backups-target': async ({ args, emit, readStdin }) => {
    const kind = checkedTargetKind(args.kind);
    const credentials = kind === 's3' && !args.remove ? parseJsonRequest(await readStdin(), 'the S3 credentials on stdin') as TargetRequest['credentials'] : undefined;
    const { setTarget } = await import('./backup-targets.js');
    return setTarget(checkedServiceName(args.name), {
      kind, remove: args.remove, ...(args.url ? { url: args.url } : {}), ...(args['host-key'] ? { hostKey: args['host-key'] } : {}),
      ...(args.endpoint ? { endpoint: args.endpoint } : {}), ...(args.region ? { region: args.region } : {}), ...(args.bucket ? { bucket: args.bucket } : {}),
      ...(args.prefix ? { prefix: args.prefix } : {}), pathStyle: args['path-style'], ...(credentials ? { credentials } : {}),
    }, emit);
  },
  'services-backups-schedule': ({ args }) => scheduleBackups(checkedServiceName(args.name), args.schedule, args.keep, args.off),
  'services-backups-key': () => backupKeyText(),
  volumes: ({ args }) => volumesView(args.app),
  'volumes-backup': ({ args, emit }) => backupVolume(args.app, args.name, emit),
  'volumes-backups': ({ args }) => listVolumeBackups(args.app, args.name),
  'volumes-restore': ({ args, emit }) => locked(args, `volumes:restore ${args.name}`, () => restoreVolume(args.app, args.name, args.backup, args.by ?? 'unknown', emit)),
  'volumes-add': ({ args, emit }) => locked(args, `volumes:add ${args.volume}`, () => addVolume(args.app, args.volume, args.process, releaseFields(args), emit)),
  'volumes-remove': ({ args, emit }) => locked(args, `volumes:remove ${args.name}`, () => removeVolumeMount(args.app, args.name, releaseFields(args), emit)),
  destroy: ({ args, emit }) => locked(args, 'apps:destroy', () => destroyApp(args.app, args.volumes, emit)),

  'keys-add': async ({ args, readStdin }) => addKey(args.name, await readStdin()),
  'keys-list': () => listKeys(),
  'keys-remove': ({ args }) => removeKey(args.name),

  cluster: () => clusterView(),
  'cluster-init': ({ args, emit }) => clusterInit(args['advertise-addr'], emit),
  'cluster-token': async ({ args }) => {
    if (args.role !== 'manager' && args.role !== 'worker') throw new PaasError('usage', `--role is manager or worker, not ${JSON.stringify(args.role)}`);
    return clusterToken(args.role);
  },
  'cluster-join': async ({ emit, readStdin }) => clusterJoin(checkJoinRequest(parseJsonRequest(await readStdin(), 'the join request on stdin')), emit),
  'cluster-drain': ({ args, emit }) => clusterDrain(args.node, emit),
  'cluster-leave': ({ args, emit }) => clusterLeave(args.force, emit),
  'cluster-remove': ({ args, emit }) => clusterRemove(args.node, emit),
  'front-apply': ({ args, emit }) => applyFront(args.node, {
    ...(args['connect-timeout'] !== undefined ? { connectTimeout: args['connect-timeout'] } : {}),
    ...(args['fail-timeout'] !== undefined ? { failTimeout: args['fail-timeout'] } : {}),
  }, emit),
  'front-show': () => frontView(),
};

/** Verbs git runs: they speak to git (and, through it, to the pusher as `remote:` lines), not to the CLI. */
export const RAW_VERBS: Record<string, (args: string[]) => Promise<number>> = {
  'git-shell': (args) => gitShell(args[0]),
  /** `backup-read NAME ID`: the encrypted file on stdout (services:backups --download). */
  'backup-read': async (args) => {
    await writeBackupTo(args[0] ?? '', args[1] ?? '', process.stdout);
    return 0;
  },
  'git-receive': async (args) => {
    const { gitReceive } = await import('./git-receive.js');
    await gitReceive(args[0] ?? '', await readBounded(process.stdin), (line) => { if (!process.stderr.destroyed) process.stderr.write(`${line}\n`); });
    await ensureService().catch(() => {});
    return 0;
  },
};
