/**
 * Backing services (Postgres, Redis): one container per service on a host, its data in a Docker
 * volume, its own network and no published port; an app reaches it once linked (the service's
 * container joins the app's network, and the app gets its URL as a config var). Pure: names,
 * Engine API bodies and URLs, unit-tested as exact values.
 */
import { PaasError } from '../errors.js';
import { checkVariableName, quote } from '../config/validators.js';
import { DEFAULT_PIDS_LIMIT, type ContainerCreate } from './containers.js';
import type { RetentionPolicy } from '../backup/retention.js';

export const SERVICE_KINDS = ['postgres', 'redis'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

interface KindFacts {
  /** Versions paas knows how to run (the image tags the base images provide). */
  versions: readonly string[];
  defaultVersion: string;
  image: (version: string) => string;
  port: number;
  /** The config var a link sets (Heroku's and Dokku's names). */
  urlVar: string;
  dataPath: string;
}

export const KINDS: Record<ServiceKind, KindFacts> = {
  postgres: {
    versions: ['13', '14', '15', '16', '17'], defaultVersion: '15', image: (v) => `postgres:${v}-bookworm`, port: 5432, urlVar: 'DATABASE_URL', dataPath: '/var/lib/postgresql/data',
  },
  redis: {
    versions: ['6', '7'], defaultVersion: '7', image: (v) => `redis:${v}-bookworm`, port: 6379, urlVar: 'REDIS_URL', dataPath: '/data',
  },
};

/** Labels of a service's containers and volume (never paas.app: a service is not an app's process). */
export const SERVICE_LABEL = { service: 'paas.service', kind: 'paas.service-kind', oneOff: 'paas.service-oneoff' } as const;

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,29}$/;

export function checkServiceName(name: string): string | undefined {
  if (SERVICE_NAME.test(name) && !name.endsWith('-')) return undefined;
  return `${quote(name)} is not a valid service name (lowercase letters, digits and dashes, starting with a letter, at most 30 characters)`;
}

export function checkedServiceName(name: string): string {
  const problem = checkServiceName(name);
  if (problem) throw new PaasError('usage', problem);
  return name;
}

export function checkedKind(kind: string): ServiceKind {
  if ((SERVICE_KINDS as readonly string[]).includes(kind)) return kind as ServiceKind;
  throw new PaasError('usage', `${quote(kind)} is not a kind of service paas runs`, { hint: `use one of ${SERVICE_KINDS.join(', ')}` });
}

export function checkedVersion(kind: ServiceKind, version: string | undefined): string {
  const facts = KINDS[kind];
  const chosen = version ?? facts.defaultVersion;
  if (facts.versions.includes(chosen)) return chosen;
  throw new PaasError('usage', `${kind} ${quote(chosen)} is not a version paas runs`, { hint: `use one of ${facts.versions.join(', ')} (default ${facts.defaultVersion})` });
}

/** The config var of a link: the kind's (DATABASE_URL, REDIS_URL), or --as, which must end in _URL. */
export function linkVariable(kind: ServiceKind, as: string | undefined): string {
  if (as === undefined) return KINDS[kind].urlVar;
  const problem = checkVariableName(as);
  if (problem) throw new PaasError('usage', problem, { where: '--as' });
  if (!/^[A-Z][A-Z0-9_]*_URL$/.test(as)) throw new PaasError('usage', `--as ${quote(as)}: expected an upper-case name ending in _URL, such as ANALYTICS_DATABASE_URL`, { where: '--as' });
  return as;
}

/** The container (also its host name on the networks it joins), network and volume of a service. */
export const serviceContainer = (name: string) => `paas-svc-${name}`;
export const serviceNetwork = (name: string) => `paas-svc.${name}`;
export const serviceVolume = (name: string) => `paas-svc.${name}.data`;
/** The database (Postgres) of a service: its name with dashes as underscores. */
export const serviceDatabase = (name: string) => name.replace(/-/g, '_');

/** What a host keeps of a service (services/<name>/service.json); the password is apart, encrypted. */
export interface ServiceRecord {
  name: string;
  kind: ServiceKind;
  version: string;
  image: string;
  createdAt: string;
  /** `creating` until its container answered once: a create killed on the way is finished by the next. */
  status: 'creating' | 'created';
  links: ServiceLink[];
  /** services:backups:schedule: when the host backs it up (UTC), and which backups it keeps. */
  backup?: BackupSchedule;
}

export const TARGET_KINDS = ['ssh', 's3'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export function checkedTargetKind(kind: string): TargetKind {
  if ((TARGET_KINDS as readonly string[]).includes(kind)) return kind as TargetKind;
  throw new PaasError('usage', `${quote(kind)} is not a kind of backup target`, { hint: `use one of ${TARGET_KINDS.join(', ')}` });
}

/** Where copies of a service's backups go (kept beside its backups: they outlive the service). */
export interface BackupTargets {
  ssh?: { url: string; hostKey: string };
  s3?: { endpoint?: string; region: string; bucket: string; prefix?: string; forcePathStyle: boolean };
}

export interface BackupSchedule {
  schedule: string;
  keep?: RetentionPolicy;
  /** The policy as written: daily=7,weekly=4. */
  keepText?: string;
}

export interface ServiceLink {
  app: string;
  /** The config var it sets in the app. */
  as: string;
  /** `linking` until the app's release with the var is live; `unlinking` while it goes. */
  status: 'linking' | 'linked' | 'unlinking';
}

/** The URL an app gets: user, password, the service's container name as host, port and database. */
export function serviceUrl(record: Pick<ServiceRecord, 'name' | 'kind'>, password: string): string {
  const host = serviceContainer(record.name);
  return record.kind === 'postgres'
    ? `postgres://postgres:${encodeURIComponent(password)}@${host}:${KINDS.postgres.port}/${serviceDatabase(record.name)}`
    : `redis://:${encodeURIComponent(password)}@${host}:${KINDS.redis.port}`;
}

/**
 * The service's container: the kind's image by name, the password in Env only (Redis takes it
 * from a shell variable, so it is in no argv the engine records), data in the volume, restarted
 * by the engine, on its own network.
 */
export function planServiceContainer(record: Pick<ServiceRecord, 'name' | 'kind' | 'image'>, password: string): ContainerCreate {
  const facts = KINDS[record.kind];
  const env = record.kind === 'postgres'
    ? [`POSTGRES_PASSWORD=${password}`, 'POSTGRES_USER=postgres', `POSTGRES_DB=${serviceDatabase(record.name)}`, `PGDATA=${facts.dataPath}`]
    : [`REDIS_PASSWORD=${password}`];
  return {
    Image: record.image,
    ...(record.kind === 'redis'
      ? { Cmd: ['sh', '-c', 'exec docker-entrypoint.sh redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --appendfsync everysec'] }
      : {}),
    Env: env,
    Labels: { [SERVICE_LABEL.service]: record.name, [SERVICE_LABEL.kind]: record.kind },
    HostConfig: {
      NetworkMode: serviceNetwork(record.name),
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: '', Config: { 'max-size': '10m', 'max-file': '3' } },
      Mounts: [{ Type: 'volume', Source: serviceVolume(record.name), Target: facts.dataPath }],
      PidsLimit: DEFAULT_PIDS_LIMIT,
    },
  };
}

/** `services:connect`: psql or redis-cli in a one-off container of the service's image, on its network, the password in Env. */
export function planServiceClient(record: Pick<ServiceRecord, 'name' | 'kind' | 'image'>, password: string, tty: boolean): ContainerCreate {
  const host = serviceContainer(record.name);
  const client = record.kind === 'postgres'
    ? { Cmd: ['psql', '--host', host, '--username', 'postgres', '--dbname', serviceDatabase(record.name)], Env: [`PGPASSWORD=${password}`] }
    : { Cmd: ['redis-cli', '-h', host, '-p', String(KINDS.redis.port)], Env: [`REDISCLI_AUTH=${password}`] };
  return {
    Image: record.image,
    ...client,
    Labels: { [SERVICE_LABEL.oneOff]: record.name },
    OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    ...(tty ? { Tty: true } : {}),
    HostConfig: { NetworkMode: serviceNetwork(record.name), LogConfig: { Type: 'none', Config: {} }, PidsLimit: DEFAULT_PIDS_LIMIT },
  };
}

/** The argv (in the service's container) that answers once the server takes connections. */
export function readinessArgv(record: Pick<ServiceRecord, 'name' | 'kind'>): string[] {
  return record.kind === 'postgres'
    // Over TCP: the image's first start runs a server on its socket only, to initialise the data.
    ? ['pg_isready', '--quiet', '--host', '127.0.0.1', '--username', 'postgres', '--dbname', serviceDatabase(record.name)]
    : ['sh', '-c', 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -qx PONG'];
}
