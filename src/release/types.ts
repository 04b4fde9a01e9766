import type { BalanceStrategy } from '../config/types.js';
import type { CronTask, Healthcheck, ReleaseScripts } from '../detect/types.js';
import type { VolumeMount } from './volumes.js';

/** What paas.yml `tls: auto` asks of a host, as the release carries it. */
export interface TlsSetting {
  hsts: boolean;
  redirect: boolean;
}

/** The routed process type: its replicas get loopback ports and sit behind nginx. */
export const WEB = 'web';

/**
 * Everything a host needs to run one release of an app. The CLI sends it to the agent for a
 * deploy; the agent keeps it (plus when and status) as the release record, so a rollback can
 * start exactly the same containers again without the CLI.
 */
export interface ReleaseSpec {
  app: string;
  /** Release number chosen by the CLI (one more than the highest on any of the app's hosts). */
  version: number;
  /** Image reference on the host, and its ID (sha256:...). */
  image: string;
  imageId: string;
  /** Process type -> command (shell syntax); null runs the image's own CMD. */
  processes: Record<string, string | null>;
  /** Process type -> replicas. Types missing here run 0 replicas. */
  formation: Record<string, number>;
  /** Process type -> resource limits (paas.yml processes.<type>.memory / cpus); absent: no limit. */
  limits?: Record<string, ProcessLimits>;
  /** Port the web process listens on inside its container (it also gets PORT). */
  port: number;
  healthcheck?: Healthcheck;
  /** Extra host names nginx routes to the app, besides <app>.<base domain>. */
  domains: string[];
  balance: BalanceStrategy;
  /** Environment of every process: the non-secret settings of paas.yml `env:` (config vars are NOT here, see configVars). */
  env: Record<string, string>;
  /**
   * Procfile `release:`: run once per release in a one-off container before any new container
   * starts (not on rollback). Shell syntax, as the other process commands.
   */
  releaseCommand?: string;
  /** Scheduled tasks (app.json `cron` and paas.yml `cron:`, merged by mergeCronTasks), run in one-off containers of the current release. */
  cron?: CronTask[];
  /** paas.yml worker_wait: how long each process without a port must stay up to be healthy (default DEFAULTS.workerWaitMs). */
  workerWaitMs?: number;
  /**
   * Named volumes mounted into the containers of the release (see src/release/volumes.ts): the
   * CLI sends paas.yml's; the host adds those of volumes:add before it records the release.
   */
  volumes?: VolumeMount[];
  /** false on every host of the app but the first: only one host runs its scheduled tasks (absent: this host does). */
  runsCron?: boolean;
  /** app.json `scripts`: commands the host runs around the rollout. */
  scripts?: ReleaseScripts;
  /**
   * app.json `env` keys that are required and have neither a value nor a generator: the host
   * refuses the release (missingRequiredEnv) before it changes anything until each is a config var.
   */
  envRequired?: string[];
  /**
   * app.json `env` keys with `"generator": "secret"`: the host sets each one that is not a config
   * var yet to a random secret (withGeneratedSecrets), once; later releases keep it.
   */
  envSecrets?: string[];
  /**
   * Names (never values) of the config vars of this release, set by the agent. The values are in
   * the host's encrypted snapshot apps/<app>/config/v<version>.enc. Absent on releases made before
   * config vars existed (they had none).
   */
  configVars?: string[];
  /**
   * paas.yml `tls:`: after the release is live the host makes sure the app has a certificate from
   * its ACME CA for every name a CA issues for, and renews it (src/release/tls.ts decides).
   */
  tls?: TlsSetting;
  /** The engine that runs the release: absent, this host's own containers; "swarm", services of the host's cluster (src/release/swarm.ts). */
  engine?: 'swarm';
  /** swarm: where tasks may run (constraints) and how they are spread (default: over the nodes). */
  placement?: { constraints?: string[]; spread?: string[] };
  /** swarm: this host is the manager that updates the services (the others get the image only). */
  swarmLead?: boolean;
  /** "Deploy 1a2b3c4d", "Rollback to v3". */
  description: string;
  /** Who asked: user@machine of the laptop or CI job. */
  createdBy: string;
  /** How many releases keep their image on the host for instant rollback. */
  keepReleases: number;
  /** Time old containers keep serving after nginx switched, before they get SIGTERM. */
  drainMs: number;
  /** Seconds between SIGTERM and SIGKILL when old containers stop. */
  stopTimeoutSeconds: number;
}

/** Per-container limits, applied as `docker run --memory BYTES --cpus N`. */
export interface ProcessLimits {
  memoryBytes?: number;
  cpus?: number;
}

/** pending: recorded just before the switch, so a crash right after it never reuses the number. */
export type ReleaseStatus = 'pending' | 'active' | 'superseded';

export interface Release extends Omit<ReleaseSpec, 'app' | 'keepReleases'> {
  createdAt: string;
  status: ReleaseStatus;
}

/** One of an app's containers on a host, as the agent lists them (by label). */
export interface AppContainer {
  id: string;
  name: string;
  release: number;
  type: string;
  replica: number;
  generation: number;
  running: boolean;
  /** The host port a web container publishes. */
  port?: number;
}

/** An app's state file on a host. */
export interface AppState {
  app: string;
  current?: number;
  releases: Release[];
}

/** Bounds of a release, checked by the CLI before it touches a host and again by the agent. */
export const LIMITS = {
  /** Process types of an app (Procfile entries). */
  processTypes: 20,
  /** Containers of a release, all types together (each web replica takes a loopback port). */
  replicas: 100,
  /** Characters of one process command. */
  commandLength: 16_384,
  /** Domains of an app. */
  domains: 100,
  /** Scheduled tasks of an app (app.json and paas.yml together). */
  cronTasks: 50,
  /** Characters of one cron schedule. */
  scheduleLength: 100,
  /** Keys of an app.json `env`. */
  envKeys: 200,
} as const;

export const DEFAULTS = {
  keepReleases: 5,
  drainMs: 1000,
  stopTimeoutSeconds: 10,
  /** How long a health check may take in all before the release is declared unhealthy. */
  healthDeadlineMs: 60_000,
  /** How long a process without a port (a worker) must stay up to count as healthy. */
  workerWaitMs: 3000,
} as const;
