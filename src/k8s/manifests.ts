/**
 * Kubernetes, on paper: the objects that run a release's processes on a cluster, planned from the
 * same ReleaseSpec a deploy sends to hosts (see releaseSpec). Pure: plain objects, no cluster,
 * no host. `paas k8s:manifests` prints them; docs/kubernetes.md says what a user does with them.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { PaasError } from '../errors.js';
import { commandArgs } from '../release/containers.js';
import { WEB, type ReleaseSpec } from '../release/types.js';

export type ManifestInput = Pick<ReleaseSpec, 'app' | 'image' | 'processes' | 'formation' | 'port' | 'domains' | 'env'>
  & Partial<Pick<ReleaseSpec, 'healthcheck' | 'volumes' | 'limits' | 'envRequired' | 'envSecrets' | 'cron'>>;

export interface ManifestOptions {
  namespace?: string;
  /** spec.ingressClassName of the Ingress; absent: the cluster's default class. */
  ingressClass?: string;
  /** A kubernetes.io/tls Secret holding the domains' certificate: adds the Ingress's tls section. */
  tlsSecret?: string;
  /** Upper bound of every HPA (default twice the type's replicas); never below its minimum. */
  maxReplicas?: number;
}

/** A Kubernetes object as printed: apiVersion, kind, metadata and the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export const MANAGED_BY = 'paas';
/** Port of the web Service (it forwards to the container's port, named http). */
export const SERVICE_PORT = 80;
/** Storage each volume's PersistentVolumeClaim requests: edit it to fit. */
export const VOLUME_SIZE = '1Gi';
/** The HPAs' target: average CPU use, in percent of the containers' CPU request. */
export const CPU_TARGET_PERCENT = 70;
/** How long a web container may take to answer its check at start, as paas's health deadline. */
const STARTUP_SECONDS = 60;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS-1123 label (lowercase letters, digits, dashes; alphanumeric at both ends; at most 63). */
export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** A process type as a DNS label: paas allows `_` and a trailing `-` in types, Kubernetes does not. */
export function typeName(type: string): string {
  return type.replace(/_/g, '-').replace(/-+$/, '');
}

/** `<app>-<part>`, shortened with a hash of the whole when it is longer than a label may be. */
export function objectName(app: string, part: string): string {
  const name = `${app}-${part}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** A memory limit in bytes as a quantity: Mi when whole, bytes otherwise. */
export function memoryQuantity(bytes: number): string {
  const mi = 1024 * 1024;
  return bytes % mi === 0 ? `${bytes / mi}Mi` : String(bytes);
}

/** A CPU limit as millicores. */
export function cpuQuantity(cpus: number): string {
  return `${Math.max(1, Math.round(cpus * 1000))}m`;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The config vars a cluster needs from the user: app.json's required and generated keys, in its order. */
export function secretKeys(input: Pick<ManifestInput, 'envRequired' | 'envSecrets'>): string[] {
  return [...new Set([...(input.envRequired ?? []), ...(input.envSecrets ?? [])])];
}

/**
 * The objects, in apply order: ConfigMap (paas.yml env), Secret (config vars to fill in),
 * PersistentVolumeClaims, one Deployment per process type, the web Service and Ingress, an HPA
 * per process type that runs, and a CronJob per scheduled task.
 */
export function planManifests(input: ManifestInput, options: ManifestOptions = {}): K8sObject[] {
  const { app } = input;
  if (!isDnsLabel(app)) throw new PaasError('usage', `${JSON.stringify(app)} is not a valid Kubernetes name`, { hint: 'app names are lowercase letters, digits and dashes' });
  for (const [flag, value] of [['--namespace', options.namespace], ['--tls-secret', options.tlsSecret], ['--ingress-class', options.ingressClass]] as const) {
    if (value !== undefined && !(flag === '--tls-secret' ? /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(value) : isDnsLabel(value))) {
      throw new PaasError('usage', `${flag} ${JSON.stringify(value)} is not a valid Kubernetes name`, { hint: 'lowercase letters, digits and dashes, starting and ending with a letter or digit' });
    }
  }
  if (options.maxReplicas !== undefined && !(Number.isInteger(options.maxReplicas) && options.maxReplicas >= 1)) {
    throw new PaasError('usage', `--max-replicas ${options.maxReplicas} is not a whole number of at least 1`);
  }

  const types = Object.keys(input.processes).sort((a, b) => (a === WEB ? -1 : b === WEB ? 1 : a.localeCompare(b)));
  const names = new Map<string, string>();
  for (const type of types) {
    const name = typeName(type);
    const clash = [...names.entries()].find(([, other]) => other === name)?.[0];
    if (clash !== undefined) {
      throw new PaasError('config', `the process types ${clash} and ${type} would both be named ${name} on Kubernetes`, { hint: 'rename one of them (Kubernetes names have dashes, not underscores)' });
    }
    names.set(type, name);
  }
  // A task's pods are labelled cron-<id>: no Deployment of a type of that name may select them.
  const taken = new Set(names.values());
  for (const task of input.cron ?? []) {
    const component = `cron-${typeName(task.id)}`;
    if (taken.has(component)) {
      throw new PaasError('config', `the scheduled task ${task.id} would be named ${component} on Kubernetes, as a process type or another task`, { where: task.source, hint: 'rename the task' });
    }
    taken.add(component);
  }

  const metadata = (name: string, component?: string) => ({
    name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels: {
      'app.kubernetes.io/name': app,
      ...(component ? { 'app.kubernetes.io/component': component } : {}),
      'app.kubernetes.io/managed-by': MANAGED_BY,
    },
  });
  const selector = (component: string) => ({ 'app.kubernetes.io/name': app, 'app.kubernetes.io/component': component });

  const objects: K8sObject[] = [];
  const configMap = objectName(app, 'env');
  const secret = objectName(app, 'config');
  const hasEnv = Object.keys(input.env).length > 0;
  if (hasEnv) {
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(configMap), data: { ...input.env } });
  }
  objects.push({
    apiVersion: 'v1', kind: 'Secret', metadata: metadata(secret), type: 'Opaque',
    stringData: Object.fromEntries(secretKeys(input).map((key) => [key, ''])),
  });

  const volumes = input.volumes ?? [];
  /** What every container gets, as paas's containers do: PORT, PAAS_*, then paas.yml env and the config vars. */
  const environment = (process: string) => ({
    env: [
      { name: 'PORT', value: String(input.port) },
      { name: 'PAAS_APP', value: app },
      { name: 'PAAS_PROCESS', value: process },
    ],
    envFrom: [...(hasEnv ? [{ configMapRef: { name: configMap } }] : []), { secretRef: { name: secret } }],
  });
  for (const volume of volumes) {
    objects.push({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: metadata(objectName(app, volume.name)),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: VOLUME_SIZE } } },
    });
  }

  for (const type of types) {
    const component = names.get(type)!;
    const web = type === WEB;
    const args = commandArgs(input.processes[type] ?? null);
    const limit = input.limits?.[type];
    const limits = {
      ...(limit?.memoryBytes !== undefined ? { memory: memoryQuantity(limit.memoryBytes) } : {}),
      ...(limit?.cpus !== undefined ? { cpu: cpuQuantity(limit.cpus) } : {}),
    };
    const mounted = volumes.filter((volume) => !volume.processes || volume.processes.includes(type));
    const check = input.healthcheck;
    const period = check ? seconds(check.intervalMs) : 10;
    // Any 2xx/3xx passes an httpGet probe; without a configured check, paas only needs the port to answer.
    const probe = () => ({
      ...(check ? { httpGet: { path: check.path, port: 'http' } } : { tcpSocket: { port: 'http' } }),
      periodSeconds: period,
      ...(check ? { timeoutSeconds: seconds(check.timeoutMs) } : {}),
    });
    const container = {
      name: component,
      image: input.image,
      ...(args.length ? { args } : {}),
      ...environment(type),
      ...(web ? { ports: [{ name: 'http', containerPort: input.port, protocol: 'TCP' }] } : {}),
      ...(web ? {
        startupProbe: { ...probe(), failureThreshold: Math.ceil(STARTUP_SECONDS / period) },
        readinessProbe: { ...probe(), successThreshold: check?.successes ?? 1, failureThreshold: 3 },
        livenessProbe: { ...probe(), failureThreshold: 3 },
      } : {}),
      ...(Object.keys(limits).length ? { resources: { limits } } : {}),
      ...(mounted.length ? { volumeMounts: mounted.map((volume) => ({ name: volume.name, mountPath: volume.path })) } : {}),
    };
    objects.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: metadata(objectName(app, component), component),
      spec: {
        replicas: input.formation[type] ?? 0,
        selector: { matchLabels: selector(component) },
        // paas's start-first rollout: a new pod is ready before an old one stops.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: { ...selector(component), 'app.kubernetes.io/managed-by': MANAGED_BY } },
          spec: {
            containers: [container],
            terminationGracePeriodSeconds: 10,
            ...(mounted.length ? { volumes: mounted.map((volume) => ({ name: volume.name, persistentVolumeClaim: { claimName: objectName(app, volume.name) } })) } : {}),
          },
        },
      },
    });
  }

  if (Object.hasOwn(input.processes, WEB)) {
    objects.push({
      apiVersion: 'v1', kind: 'Service', metadata: metadata(app, WEB),
      spec: { type: 'ClusterIP', selector: selector(WEB), ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }] },
    });
    if (input.domains.length) {
      objects.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: metadata(app, WEB),
        spec: {
          ...(options.ingressClass ? { ingressClassName: options.ingressClass } : {}),
          ...(options.tlsSecret ? { tls: [{ hosts: [...input.domains], secretName: options.tlsSecret }] } : {}),
          rules: input.domains.map((host) => ({
            host,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app, port: { number: SERVICE_PORT } } } }] },
          })),
        },
      });
    }
  }

  for (const type of types) {
    const replicas = input.formation[type] ?? 0;
    // A type scaled to 0 stays at 0: an HPA would need at least one replica.
    if (replicas < 1) continue;
    const component = names.get(type)!;
    const name = objectName(app, component);
    objects.push({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: metadata(name, component),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: replicas,
        maxReplicas: Math.max(replicas, options.maxReplicas ?? replicas * 2),
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: CPU_TARGET_PERCENT } } }],
      },
    });
  }

  // Scheduled tasks: a CronJob each, in UTC as paas reads schedules, mounting every volume as a one-off does.
  for (const task of input.cron ?? []) {
    const component = `cron-${typeName(task.id)}`;
    objects.push({
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: metadata(objectName(app, component), component),
      spec: {
        schedule: task.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: { allow: 'Allow', forbid: 'Forbid', replace: 'Replace' }[task.concurrencyPolicy],
        ...(task.maintenance ? { suspend: true } : {}),
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { labels: { ...selector(component), 'app.kubernetes.io/managed-by': MANAGED_BY } },
              spec: {
                restartPolicy: 'Never',
                containers: [{
                  name: 'task',
                  image: input.image,
                  args: commandArgs(task.command),
                  ...environment('cron'),
                  ...(volumes.length ? { volumeMounts: volumes.map((volume) => ({ name: volume.name, mountPath: volume.path })) } : {}),
                }],
                ...(volumes.length ? { volumes: volumes.map((volume) => ({ name: volume.name, persistentVolumeClaim: { claimName: objectName(app, volume.name) } })) } : {}),
              },
            },
          },
        },
      },
    });
  }
  return objects;
}

/** The objects as one multi-document YAML stream (`kubectl apply -f -` reads it). */
export function manifestsYaml(objects: readonly K8sObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** The objects as a v1 List (`kubectl apply -f` reads it too). */
export function manifestsList(objects: readonly K8sObject[]): { apiVersion: 'v1'; kind: 'List'; items: K8sObject[] } {
  return { apiVersion: 'v1', kind: 'List', items: [...objects] };
}
