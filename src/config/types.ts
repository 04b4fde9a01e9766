import type { ConcurrencyPolicy, Stack } from '../detect/types.js';

export const BALANCE_STRATEGIES = ['round_robin', 'least_conn', 'ip_hash', 'weighted'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

export interface ProcessConfig {
  /** Replicas to run; 0 allowed. */
  replicas: number;
  /** Overrides the detected/Procfile command when set. */
  command?: string;
  /** Docker memory limit in bytes. */
  memoryBytes?: number;
  /** CPUs (fractional allowed). */
  cpus?: number;
}

export interface HealthcheckConfig {
  path?: string;
  status?: number;
  timeoutMs?: number;
  intervalMs?: number;
  successes?: number;
}

/** A task of paas.yml `cron:` (its name is the key). */
export interface CronConfig {
  schedule: string;
  command: string;
  concurrencyPolicy?: ConcurrencyPolicy;
  maintenance?: boolean;
}

/** A volume of paas.yml `volumes:` (its name is the key). */
export interface VolumeConfig {
  path: string;
  /** Process types that mount it; absent: every type. */
  processes?: string[];
}

export const ENGINES = ['single', 'swarm'] as const;
export type Engine = (typeof ENGINES)[number];

/** paas.yml `placement:` (swarm engine). */
export interface PlacementConfig {
  constraints?: string[];
  spread?: string[];
}

/** paas.yml `tls:` (`tls: auto` is `{ certificate: auto }`): the hosts get and renew the app's certificate from their ACME CA at each deploy. */
export interface TlsConfig {
  certificate: 'auto';
  /** Send Strict-Transport-Security over HTTPS (default false). */
  hsts?: boolean;
  /** Answer plain HTTP for the certificate's names with a 308 to https:// (default true). */
  redirect?: boolean;
}

/** The validated contents of paas.yml. Every field optional: detection fills the gaps. */
export interface AppConfig {
  /** Absolute path of the file it came from, when there was one. */
  file?: string;
  app?: string;
  hosts?: string[];
  build?: {
    dockerfile?: string;
    stack?: Stack;
    args?: Record<string, string>;
    /** A build on a host that runs longer is stopped (default 30 min). */
    timeoutMs?: number;
  };
  port?: number;
  processes?: Record<string, ProcessConfig>;
  healthcheck?: HealthcheckConfig;
  domains?: string[];
  balance?: BalanceStrategy;
  env?: Record<string, string>;
  /** Task name -> task; added to app.json's tasks, replacing one of the same id. */
  cron?: Record<string, CronConfig>;
  /** Volume name -> where it is mounted and by which process types. */
  volumes?: Record<string, VolumeConfig>;
  keepReleases?: number;
  /** single (default): each host runs the app's containers itself; swarm: the hosts' cluster runs it as services. */
  engine?: Engine;
  placement?: PlacementConfig;
  tls?: TlsConfig;
  /** worker_wait: how long a process without a port must stay up to count as healthy. */
  workerWaitMs?: number;
}
