import type { AppConfig } from '../config/types.js';
import type { BuildPlan } from '../detect/types.js';
import { DEFAULTS, WEB, type ReleaseSpec } from './types.js';

/** Procfile types that are not long-running processes (the release phase runs once per release). */
const ONE_OFF_TYPES = new Set(['release']);

/**
 * Replicas per process type: paas.yml `processes:` wins, then app.json `formation`, then
 * Heroku's default of one web process (other types run once scaled up).
 */
export function formationFor(plan: BuildPlan, config: AppConfig): Record<string, number> {
  const formation: Record<string, number> = {};
  for (const type of Object.keys(plan.processes)) {
    if (ONE_OFF_TYPES.has(type)) continue;
    formation[type] = config.processes?.[type]?.replicas ?? plan.formation?.[type] ?? (type === WEB ? 1 : 0);
  }
  return formation;
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
  return {
    app,
    version,
    image,
    imageId,
    processes,
    formation: formationFor(plan, config),
    port: plan.port,
    ...(plan.healthcheck ? { healthcheck: plan.healthcheck } : {}),
    domains: config.domains ?? [],
    balance: config.balance ?? 'round_robin',
    env: config.env ?? {},
    ...(typeof plan.processes.release === 'string' && plan.processes.release.trim() ? { releaseCommand: plan.processes.release } : {}),
    description,
    createdBy,
    keepReleases: config.keepReleases ?? DEFAULTS.keepReleases,
    drainMs: DEFAULTS.drainMs,
    stopTimeoutSeconds: DEFAULTS.stopTimeoutSeconds,
  };
}
