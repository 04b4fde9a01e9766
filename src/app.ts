import path from 'node:path';
import { PaasError } from './errors.js';
import { loadConfig } from './config/index.js';
import type { AppConfig } from './config/types.js';
import { detect } from './detect/index.js';
import type { BuildPlan, Healthcheck } from './detect/types.js';
import { isDirectory } from './util/fs.js';

export interface ResolvedApp {
  app: string;
  /** Absolute app directory. */
  dir: string;
  config: AppConfig;
  /** The detected plan with paas.yml's settings applied. */
  plan: BuildPlan;
}

/** An app name from a directory name: lowercase letters, digits and dashes, starting with a letter. */
export function appNameFromDir(dir: string): string {
  const slug = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').replace(/-{2,}/g, '-');
  const named = /^[a-z]/.test(slug) ? slug : `app-${slug}`.replace(/-$/, '');
  return named.slice(0, 63).replace(/-+$/, '');
}

const HEALTHCHECK_DEFAULTS = { timeoutMs: 5000, intervalMs: 500, successes: 2 };

/** paas.yml wins over detection: port, per-process commands, health check. */
export function applyConfig(plan: BuildPlan, config: AppConfig): BuildPlan {
  const processes = { ...plan.processes };
  for (const [type, settings] of Object.entries(config.processes ?? {})) {
    if (settings.command) processes[type] = settings.command;
  }
  let healthcheck: Healthcheck | undefined = plan.healthcheck;
  if (config.healthcheck) {
    const base = plan.healthcheck ?? { path: '/', ...HEALTHCHECK_DEFAULTS, source: 'paas.yml healthcheck' };
    healthcheck = {
      ...base,
      ...Object.fromEntries(Object.entries(config.healthcheck).filter(([, v]) => v !== undefined)),
      source: 'paas.yml healthcheck',
    } as Healthcheck;
  }
  return {
    ...plan,
    processes,
    ...(config.port ? { port: config.port } : {}),
    ...(healthcheck ? { healthcheck } : {}),
  };
}

/** Reads paas.yml (if any) and detects the app in dir: everything `build` and `deploy` start from. */
export async function resolveApp(dirArg: string, options: { configFile?: string } = {}): Promise<ResolvedApp> {
  const dir = path.resolve(dirArg);
  if (!(await isDirectory(dir))) {
    throw new PaasError('detect', `no such directory: ${dir}`, { hint: 'pass the directory that holds the app (its package.json, requirements.txt, Dockerfile, ...)' });
  }
  const config = await loadConfig(dir, options.configFile ? { file: options.configFile } : {});
  const detected = await detect(dir, {
    ...(config.build?.dockerfile ? { dockerfile: config.build.dockerfile } : {}),
    ...(config.build?.stack ? { stack: config.build.stack } : {}),
  });
  return { app: config.app ?? appNameFromDir(dir), dir, config, plan: applyConfig(detected, config) };
}
