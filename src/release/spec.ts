import type { AppConfig } from '../config/types.js';
import type { BuildPlan, CronTask } from '../detect/types.js';
import { mergeCronTasks } from './cron.js';
import { PaasError } from '../errors.js';
import { DEFAULTS, WEB, type ProcessLimits, type ReleaseSpec } from './types.js';
import type { VolumeMount } from './volumes.js';

/** Procfile types that are not long-running processes (the release phase runs once per release). */
const ONE_OFF_TYPES = new Set(['release']);

/**
 * Replicas per process type: paas.yml `processes:` wins, then app.json `formation`, then
 * Heroku's default of one web process (other types run once scaled up). An app with no web
 * process (worker-only) runs one of each of its types: it has nothing else to run.
 */
export function formationFor(plan: BuildPlan, config: AppConfig): Record<string, number> {
  const formation: Record<string, number> = {};
  const workerOnly = !Object.hasOwn(plan.processes, WEB);
  for (const type of Object.keys(plan.processes)) {
    if (ONE_OFF_TYPES.has(type)) continue;
    formation[type] = config.processes?.[type]?.replicas ?? plan.formation?.[type] ?? (type === WEB || workerOnly ? 1 : 0);
  }
  return formation;
}

/** paas.yml's memory / cpus per process type, for the types the release runs. */
export function limitsFor(processes: Record<string, unknown>, config: AppConfig): Record<string, ProcessLimits> {
  const limits: Record<string, ProcessLimits> = {};
  for (const [type, settings] of Object.entries(config.processes ?? {})) {
    if (!(type in processes)) continue;
    const limit: ProcessLimits = {
      ...(settings.memoryBytes !== undefined ? { memoryBytes: settings.memoryBytes } : {}),
      ...(settings.cpus !== undefined ? { cpus: settings.cpus } : {}),
    };
    if (Object.keys(limit).length) limits[type] = limit;
  }
  return limits;
}

/** paas.yml's `cron:` tasks, in the file's order, with Dokku's defaults. */
export function configCronTasks(config: AppConfig): CronTask[] {
  return Object.entries(config.cron ?? {}).map(([id, task]) => ({
    id,
    schedule: task.schedule.trim(),
    command: task.command,
    concurrencyPolicy: task.concurrencyPolicy ?? 'allow',
    maintenance: task.maintenance ?? false,
    source: `paas.yml cron.${id}`,
  }));
}

/**
 * The release's environment and what app.json's `env` asks of the host's config vars. paas.yml
 * `env:` wins key by key: a key it sets is neither required nor generated.
 */
export function envFor(plan: BuildPlan, config: AppConfig): Pick<ReleaseSpec, 'env' | 'envRequired' | 'envSecrets'> {
  const own = config.env ?? {};
  if (!plan.env) return { env: own };
  const notOwn = (name: string) => !Object.hasOwn(own, name);
  const required = plan.env.required.filter(notOwn);
  const secrets = plan.env.secrets.filter(notOwn);
  return {
    env: { ...plan.env.defaults, ...own },
    ...(required.length ? { envRequired: required } : {}),
    ...(secrets.length ? { envSecrets: secrets } : {}),
  };
}

/**
 * paas.yml's `volumes:` as a release's mounts. A process type it names must be one the app runs
 * (a typo would otherwise mount nothing, silently).
 */
export function configVolumes(config: AppConfig, processes: Record<string, unknown>): VolumeMount[] {
  return Object.entries(config.volumes ?? {}).map(([name, volume]) => {
    const unknown = (volume.processes ?? []).filter((type) => !Object.hasOwn(processes, type));
    if (unknown.length) {
      throw new PaasError('config', `volumes.${name}.processes: the app has no process type ${unknown.join(', ')}`, {
        where: 'paas.yml volumes', hint: `its process types are ${Object.keys(processes).join(', ') || 'none'}`,
      });
    }
    return { name, path: volume.path, ...(volume.processes ? { processes: volume.processes } : {}), source: 'paas.yml' as const };
  });
}

export interface SpecInput {
  app: string;
  plan: BuildPlan;
  config: AppConfig;
  image: string;
  imageId: string;
  version: number;
  description: string;
  createdBy: string;
}

/** The release a deploy asks every host to run. */
export function releaseSpec({ app, plan, config, image, imageId, version, description, createdBy }: SpecInput): ReleaseSpec {
  const processes = Object.fromEntries(Object.entries(plan.processes).filter(([type]) => !ONE_OFF_TYPES.has(type)));
  const limits = limitsFor(processes, config);
  const cron = mergeCronTasks(plan.cron ?? [], configCronTasks(config));
  const volumes = configVolumes(config, processes);
  return {
    app,
    version,
    image,
    imageId,
    processes,
    formation: formationFor(plan, config),
    ...(Object.keys(limits).length ? { limits } : {}),
    port: plan.port,
    ...(plan.healthcheck ? { healthcheck: plan.healthcheck } : {}),
    domains: config.domains ?? [],
    balance: config.balance ?? 'round_robin',
    ...envFor(plan, config),
    ...(typeof plan.processes.release === 'string' && plan.processes.release.trim() ? { releaseCommand: plan.processes.release } : {}),
    ...(cron.length ? { cron } : {}),
    ...(plan.scripts ? { scripts: plan.scripts } : {}),
    ...(volumes.length ? { volumes } : {}),
    ...(config.tls ? { tls: { hsts: config.tls.hsts ?? false, redirect: config.tls.redirect ?? true } } : {}),
    ...(config.engine === 'swarm' ? { engine: 'swarm' as const, ...(config.placement ? { placement: config.placement } : {}) } : {}),
    description,
    createdBy,
    keepReleases: config.keepReleases ?? DEFAULTS.keepReleases,
    ...(config.workerWaitMs !== undefined ? { workerWaitMs: config.workerWaitMs } : {}),
    drainMs: DEFAULTS.drainMs,
    stopTimeoutSeconds: DEFAULTS.stopTimeoutSeconds,
  };
}
