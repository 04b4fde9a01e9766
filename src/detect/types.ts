/** The stacks paas can build without a Dockerfile of the app's own, plus `dockerfile` (used as is). */
export const STACKS = ['dockerfile', 'node', 'python', 'go', 'ruby', 'static'] as const;
export type Stack = (typeof STACKS)[number];

export type PackageManager =
  | 'npm' | 'yarn' | 'yarn-berry' | 'pnpm'
  | 'pip' | 'pipenv' | 'poetry' | 'uv'
  | 'go'
  | 'bundler';

export interface Healthcheck {
  /** HTTP path, starting with '/'. */
  path: string;
  /** Expected HTTP status; undefined = any 2xx/3xx. */
  status?: number;
  timeoutMs: number;
  intervalMs: number;
  /** Consecutive successes required. */
  successes: number;
  /** Where this came from, e.g. "app.json healthchecks.web[0]" or "paas.yml healthcheck". */
  source: string;
}

export const CONCURRENCY_POLICIES = ['allow', 'forbid', 'replace'] as const;
/** Dokku's concurrency_policy: a run that falls due while the task's previous run still runs starts anyway (allow), is skipped (forbid), or stops that run first (replace). */
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];

/** A scheduled task: once per scheduled minute for the app, in a one-off container of the current release. */
export interface CronTask {
  /** paas.yml's name of the task, or for an app.json task cronTaskId(schedule, command). */
  id: string;
  /** Five cron fields or a name such as @daily, read in UTC (src/release/cron.ts). */
  schedule: string;
  /** Shell syntax, as the process commands. */
  command: string;
  concurrencyPolicy: ConcurrencyPolicy;
  /** Dokku's maintenance: true keeps the task listed but not run. */
  maintenance: boolean;
  /** Where it was declared: "app.json cron[0]", "paas.yml cron.report". */
  source: string;
}

/** app.json `scripts`, each a command (shell syntax) run in a one-off container of the release. */
export interface ReleaseScripts {
  /** Dokku's scripts.dokku.predeploy: in the new image before any new container starts; failing, it fails the release. */
  predeploy?: string;
  /** Dokku's scripts.dokku.postdeploy: after the switch to the new release. */
  postdeploy?: string;
  /** Heroku's scripts.postdeploy: once, after the app's first release. */
  firstDeploy?: string;
}

/** What app.json's `env` declares; paas.yml `env:` wins over it key by key. */
export interface EnvDeclarations {
  /** Key -> default value: a string entry, or an entry's `value`. Config vars override them. */
  defaults: Record<string, string>;
  /** Required keys with neither a value nor a generator: each must be a config var. */
  required: string[];
  /** Keys with `"generator": "secret"`: a random value generated once, then kept as a config var. */
  secrets: string[];
}

/**
 * What `paas detect` decides about an app directory: everything the build template needs,
 * and why (which files decided it). A pure value: same tree in, same plan out.
 */
export interface BuildPlan {
  stack: Stack;
  /** Human sentences naming the files that decided each choice, in order. */
  reasons: string[];
  /** Non-fatal problems the user should know about. */
  warnings: string[];
  packageManager?: PackageManager;
  /** Image the build starts FROM (for multi-stage builds: the build stage). */
  baseImage: string;
  /** Image the app runs in when it differs from baseImage (go: a slim runtime). */
  runtimeImage?: string;
  /** Files copied before the source so the dependency layer survives code-only changes. */
  manifests: string[];
  /** Shell commands run after copying the manifests only (dependency installation). */
  install: string[];
  /** Shell commands run after copying the whole source (compile, bundle, prune). */
  build: string[];
  /**
   * Process type -> command (shell syntax, as in a Procfile). `web` is the routed one.
   * The dockerfile stack with no Procfile has `web: null`: the image's own CMD.
   */
  processes: Record<string, string | null>;
  /** Where the process types came from: "Procfile", "package.json scripts.start", ... */
  processSource: string;
  /** Port the web process listens on (it also gets PORT in its environment). */
  port: number;
  healthcheck?: Healthcheck;
  /** For the dockerfile stack: the Dockerfile path relative to the app directory. */
  dockerfile?: string;
  /** For the static stack: the directory served, relative to the app directory. */
  staticRoot?: string;
  /** For the go stack: the package built (e.g. "." or "./cmd/server") and the binary name. */
  goPackage?: string;
  goBinary?: string;
  /** Replica counts from app.json `formation` (paas.yml `processes:` overrides these later). */
  formation?: Record<string, number>;
  /** Scheduled tasks from app.json `cron` (paas.yml `cron:` adds to and replaces them later). */
  cron?: CronTask[];
  /** app.json `scripts`. */
  scripts?: ReleaseScripts;
  /** app.json `env`. */
  env?: EnvDeclarations;
}

export const DEFAULT_PORT = 8080;
