import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { parseAllDocuments } from 'yaml';
import { resolveApp } from '../../src/app.js';
import { releaseSpec } from '../../src/release/spec.js';
import { isDnsLabel, manifestsYaml, objectName, planManifests, typeName, type K8sObject, type ManifestInput, type ManifestOptions } from '../../src/k8s/manifests.js';
import { PaasError } from '../../src/errors.js';

const examples = path.resolve(fileURLToPath(new URL('../../examples', import.meta.url)));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'paas-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function appDir(name: string, files: Record<string, string>): string {
  const dir = path.join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}

/** The kubernetes-models class of each kind paas prints: its validate() checks the object against the Kubernetes OpenAPI schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap, Secret, PersistentVolumeClaim, Service, Deployment, HorizontalPodAutoscaler, Ingress, CronJob,
};

/** Throws the schema's complaint about an object, or returns nothing. */
function validate(object: K8sObject): void {
  const Model = MODELS[object.kind];
  if (!Model) throw new Error(`no schema for kind ${object.kind}`);
  new Model(structuredClone(object) as never).validate();
}

/** Every name, label key and value, container and volume name an object holds, that must be a DNS-1123 label (the schema does not check these). */
function namesOf(object: K8sObject): string[] {
  const names = [object.metadata.name, ...Object.values(object.metadata.labels ?? {})];
  const spec = object.spec as { template?: { spec: { containers: { name: string; volumeMounts?: { name: string }[] }[]; volumes?: { name: string }[] } } } | undefined;
  for (const container of spec?.template?.spec.containers ?? []) names.push(container.name, ...(container.volumeMounts ?? []).map((m) => m.name));
  names.push(...(spec?.template?.spec.volumes ?? []).map((v) => v.name));
  const job = (object.spec as { jobTemplate?: { spec: { template: { spec: { containers: { name: string }[] } } } } } | undefined)?.jobTemplate;
  names.push(...(job?.spec.template.spec.containers ?? []).map((c) => c.name));
  if (object.metadata.namespace) names.push(object.metadata.namespace);
  return names;
}

function expectValid(objects: K8sObject[]): void {
  expect(objects.length).toBeGreaterThan(0);
  for (const object of objects) {
    expect(() => validate(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
    for (const name of namesOf(object)) expect(isDnsLabel(name), `${object.kind} ${object.metadata.name}: ${name}`).toBe(true);
  }
  const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(keys).size, keys.join(' ')).toBe(keys.length);
}

const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(' ')}`);
  return found as K8sObject & { spec: any; data?: any; stringData?: any };
};

async function planFor(dir: string, options: ManifestOptions = {}, image = 'registry.test/shop:v1'): Promise<K8sObject[]> {
  const { app, plan, config } = await resolveApp(dir);
  return planManifests(releaseSpec({ app, plan, config, image, imageId: '', version: 0, description: 'test', createdBy: 'test' }), options);
}

const NODE_APP = {
  'package.json': JSON.stringify({ name: 'shop', scripts: { start: 'node server.js' }, dependencies: { express: '^4.21.2' } }),
  'server.js': 'require("http").createServer((q, s) => s.end("ok")).listen(process.env.PORT);\n',
  'app.json': JSON.stringify({ env: {
    DATABASE_URL: { description: 'PostgreSQL', required: true },
    SMTP_URL: { required: false },
    SECRET_KEY_BASE: { generator: 'secret' },
    LOG_FORMAT: { value: 'json' },
  } }),
  'paas.yml': [
    'app: shop',
    'port: 3000',
    'processes:',
    '  web: 2',
    '  worker: { replicas: 1, command: "node worker.js --queue \'default q\'", memory: 512m, cpus: 0.5 }',
    'healthcheck: { path: /up, timeout: 3s, interval: 2s, successes: 2 }',
    'domains: [shop.example.com, "*.shop.example.com"]',
    'env: { LOG_LEVEL: info }',
    'volumes:',
    '  uploads: { path: /app/uploads, processes: [web] }',
    'cron:',
    '  nightly_report: { schedule: "30 2 * * *", command: "node report.js", concurrency_policy: forbid }',
    '  cleanup: { schedule: "@hourly", command: "node cleanup.js && echo done", maintenance: true }',
    '',
  ].join('\n'),
};

describe('planManifests for a node app with paas.yml and app.json', () => {
  it('prints exactly the objects paas runs, in apply order', async () => {
    const objects = await planFor(appDir('shop', NODE_APP), { namespace: 'shop', ingressClass: 'nginx', tlsSecret: 'shop-tls', maxReplicas: 5 });
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`)).toEqual([
      'v1 ConfigMap/shop-env',
      'v1 Secret/shop-config',
      'v1 PersistentVolumeClaim/shop-uploads',
      'apps/v1 Deployment/shop-web',
      'apps/v1 Deployment/shop-worker',
      'v1 Service/shop',
      'networking.k8s.io/v1 Ingress/shop',
      'autoscaling/v2 HorizontalPodAutoscaler/shop-web',
      'autoscaling/v2 HorizontalPodAutoscaler/shop-worker',
      'batch/v1 CronJob/shop-cron-nightly-report',
      'batch/v1 CronJob/shop-cron-cleanup',
    ]);
    expectValid(objects);
    for (const object of objects) expect(object.metadata.namespace).toBe('shop');

    expect(find(objects, 'ConfigMap', 'shop-env').data).toEqual({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    const secret = find(objects, 'Secret', 'shop-config');
    expect(secret.type).toBe('Opaque');
    expect(secret.stringData).toEqual({ DATABASE_URL: '', SECRET_KEY_BASE: '' });

    const web = find(objects, 'Deployment', 'shop-web');
    expect(web.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': 'web', 'app.kubernetes.io/managed-by': 'paas' });
    expect(web.spec.replicas).toBe(2);
    expect(web.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': 'web' } });
    expect(web.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const [webContainer] = web.spec.template.spec.containers;
    expect(webContainer).toEqual({
      name: 'web',
      image: 'registry.test/shop:v1',
      args: ['node', 'server.js'],
      env: [{ name: 'PORT', value: '3000' }, { name: 'PAAS_APP', value: 'shop' }, { name: 'PAAS_PROCESS', value: 'web' }],
      envFrom: [{ configMapRef: { name: 'shop-env' } }, { secretRef: { name: 'shop-config' } }],
      ports: [{ name: 'http', containerPort: 3000, protocol: 'TCP' }],
      startupProbe: { httpGet: { path: '/up', port: 'http' }, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 30 },
      readinessProbe: { httpGet: { path: '/up', port: 'http' }, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: '/up', port: 'http' }, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 3 },
      volumeMounts: [{ name: 'uploads', mountPath: '/app/uploads' }],
    });
    expect(web.spec.template.spec.volumes).toEqual([{ name: 'uploads', persistentVolumeClaim: { claimName: 'shop-uploads' } }]);

    const worker = find(objects, 'Deployment', 'shop-worker');
    expect(worker.spec.replicas).toBe(1);
    const [workerContainer] = worker.spec.template.spec.containers;
    // A command the shell must read runs as one argv element of sh -c, as on a host.
    expect(workerContainer.args).toEqual(['/bin/sh', '-c', "exec node worker.js --queue 'default q'"]);
    expect(workerContainer.resources).toEqual({ limits: { memory: '512Mi', cpu: '500m' } });
    expect(workerContainer.ports).toBeUndefined();
    expect(workerContainer.readinessProbe).toBeUndefined();
    expect(workerContainer.volumeMounts).toBeUndefined();

    expect(find(objects, 'Service', 'shop').spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
    const backend = { service: { name: 'shop', port: { number: 80 } } };
    expect(find(objects, 'Ingress', 'shop').spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com', '*.shop.example.com'], secretName: 'shop-tls' }],
      rules: ['shop.example.com', '*.shop.example.com'].map((host) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } })),
    });
    expect(find(objects, 'PersistentVolumeClaim', 'shop-uploads').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
    const report = find(objects, 'CronJob', 'shop-cron-nightly-report');
    expect(report.metadata.labels?.['app.kubernetes.io/component']).toBe('cron-nightly-report');
    expect(report.spec).toMatchObject({ schedule: '30 2 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { backoffLimit: 0 } } });
    expect(report.spec).not.toHaveProperty('suspend');
    const task = report.spec.jobTemplate.spec.template.spec;
    expect(task.restartPolicy).toBe('Never');
    expect(task.containers[0]).toMatchObject({ name: 'task', image: 'registry.test/shop:v1', args: ['node', 'report.js'], volumeMounts: [{ name: 'uploads', mountPath: '/app/uploads' }] });
    expect(task.containers[0].env).toContainEqual({ name: 'PAAS_PROCESS', value: 'cron' });
    const cleanup = find(objects, 'CronJob', 'shop-cron-cleanup');
    expect(cleanup.spec).toMatchObject({ schedule: '@hourly', concurrencyPolicy: 'Allow', suspend: true });
    expect(cleanup.spec.jobTemplate.spec.template.spec.containers[0].args).toEqual(['/bin/sh', '-c', 'node cleanup.js && echo done']);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'shop-web');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-web' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
  });

  it('defaults: no namespace, no ingress class, no tls, maxReplicas twice the replicas', async () => {
    const objects = await planFor(appDir('shop', NODE_APP));
    expectValid(objects);
    for (const object of objects) expect(object.metadata).not.toHaveProperty('namespace');
    const ingress = find(objects, 'Ingress', 'shop');
    expect(ingress.spec).not.toHaveProperty('ingressClassName');
    expect(ingress.spec).not.toHaveProperty('tls');
    expect(find(objects, 'HorizontalPodAutoscaler', 'shop-web').spec.maxReplicas).toBe(4);
    expect(find(objects, 'HorizontalPodAutoscaler', 'shop-worker').spec.maxReplicas).toBe(2);
    // --max-replicas below a type's replicas never lowers it under them.
    const low = await planFor(appDir('shop', NODE_APP), { maxReplicas: 1 });
    expect(find(low, 'HorizontalPodAutoscaler', 'shop-web').spec).toMatchObject({ minReplicas: 2, maxReplicas: 2 });
  });

  it('the repo\'s node example: one web Deployment running node server.js on 8080, no Ingress without domains', async () => {
    const objects = await planFor(path.join(examples, 'node'), {}, 'paas/node:latest');
    expectValid(objects);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/node-config', 'Deployment/node-web', 'Service/node', 'HorizontalPodAutoscaler/node-web']);
    const [container] = find(objects, 'Deployment', 'node-web').spec.template.spec.containers;
    expect(container).toMatchObject({ image: 'paas/node:latest', args: ['node', 'server.js'], ports: [{ containerPort: 8080 }] });
    // No configured check: paas only needs the port to answer, so does the probe.
    expect(container.readinessProbe).toEqual({ tcpSocket: { port: 'http' }, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  });
});

const ODD: ManifestInput = {
  app: 'a-really-long-application-name-that-uses-most-of-the-63-chars',
  image: 'paas/odd:latest',
  processes: { web: null, queue_worker: 'bundle exec sidekiq -C "config/side kiq.yml"', 'clock-': 'a && b | c', idle: 'sleep infinity' },
  formation: { web: 0, queue_worker: 3, 'clock-': 1, idle: 0 },
  port: 5000,
  domains: [],
  env: {},
  volumes: [
    { name: 'data', path: '/srv/data', source: 'paas.yml' },
    { name: 'cache-volume-with-a-long-name', path: '/srv/cache', processes: ['queue_worker'], source: 'paas.yml' },
  ],
  limits: { queue_worker: { memoryBytes: 1_000_000 } },
  cron: [{ id: '0a1b2c3d', schedule: '*/15 * * * *', command: 'rake "jobs:work[1]"', concurrencyPolicy: 'replace', maintenance: false, source: 'app.json cron[0]' }],
};

describe('planManifests with odd input', () => {
  it('underscores, trailing dashes, long names, no health check, 0 replicas and volumes still make valid objects', () => {
    const objects = planManifests(ODD);
    expectValid(objects);
    const worker = objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'queue-worker') as any;
    expect(worker.metadata.name.length).toBeLessThanOrEqual(63);
    expect(worker.spec.replicas).toBe(3);
    const [container] = worker.spec.template.spec.containers;
    expect(container.name).toBe('queue-worker');
    expect(container.env).toContainEqual({ name: 'PAAS_PROCESS', value: 'queue_worker' });
    expect(container.resources).toEqual({ limits: { memory: '1000000' } });
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(['/srv/data', '/srv/cache']);
    const clock = objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'clock') as any;
    expect(clock.spec.template.spec.containers[0].args).toEqual(['/bin/sh', '-c', 'a && b | c']);
    // web runs the image's CMD: no args at all.
    const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'web') as any;
    expect(web.spec.replicas).toBe(0);
    expect(web.spec.template.spec.containers[0]).not.toHaveProperty('args');
    // HPAs only for the types that run: one needs at least one replica.
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.labels?.['app.kubernetes.io/component'])).toEqual(['clock', 'queue-worker']);
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toHaveLength(2);
    expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(false);
    expect(objects.some((o) => o.kind === 'Ingress')).toBe(false);
    const cron = objects.find((o) => o.kind === 'CronJob') as any;
    expect(cron.metadata.name.length).toBeLessThanOrEqual(63);
    expect(cron.spec.concurrencyPolicy).toBe('Replace');
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].args).toEqual(['/bin/sh', '-c', 'exec rake "jobs:work[1]"']);
    expect(cron.spec.jobTemplate.spec.template.spec.volumes).toHaveLength(2);
  });

  it('a worker-only app has no Service', () => {
    const objects = planManifests({ ...ODD, app: 'jobs', processes: { worker: 'node w.js' }, formation: { worker: 1 }, volumes: [], limits: {}, cron: [] });
    expectValid(objects);
    expect(objects.map((o) => o.kind)).toEqual(['Secret', 'Deployment', 'HorizontalPodAutoscaler']);
  });

  it('refuses two types that would get the same name, and names Kubernetes would refuse', () => {
    const clash = () => planManifests({ ...ODD, processes: { a_b: 'x', 'a-b': 'y' }, formation: {}, volumes: [] });
    expect(clash).toThrow(PaasError);
    expect(clash).toThrow(/a_b and a-b would both be named a-b/);
    const task = { schedule: '@daily', command: 'x', concurrencyPolicy: 'allow' as const, maintenance: false, source: 'paas.yml cron.x' };
    expect(() => planManifests({ ...ODD, processes: { web: null, 'cron-x': 'y' }, formation: {}, volumes: [], cron: [{ ...task, id: 'x' }] })).toThrow(/task x would be named cron-x/);
    expect(() => planManifests({ ...ODD, cron: [{ ...task, id: 'a_b' }, { ...task, id: 'a-b' }] })).toThrow(/task a-b would be named cron-a-b/);
    expect(() => planManifests(ODD, { namespace: 'Not_A_Name' })).toThrow(/--namespace "Not_A_Name"/);
    expect(() => planManifests(ODD, { maxReplicas: 0 })).toThrow(/--max-replicas 0/);
  });

  it('names: types as labels, long names shortened with a hash, stable', () => {
    expect(typeName('queue_worker')).toBe('queue-worker');
    expect(typeName('clock-')).toBe('clock');
    expect(objectName('shop', 'web')).toBe('shop-web');
    const long = objectName(ODD.app, 'queue-worker');
    expect(long).toHaveLength(63);
    expect(isDnsLabel(long)).toBe(true);
    expect(objectName(ODD.app, 'queue-worker')).toBe(long);
    expect(objectName(ODD.app, 'queue-worker2')).not.toBe(long);
  });

  it('YAML: one document per object, no anchors or aliases, read back equal', () => {
    const objects = planManifests(ODD, { namespace: 'odd' });
    const text = manifestsYaml(objects);
    expect(text).not.toMatch(/[&*]a\d/);
    const documents = parseAllDocuments(text);
    expect(documents.map((d) => d.toJS())).toEqual(objects);
  });
});

describe('the schema check', () => {
  it('rejects a broken object, so the checks above can fail', () => {
    const [deployment] = planManifests({ ...ODD, app: 'broken', processes: { web: null }, formation: { web: 1 }, volumes: [] }).filter((o) => o.kind === 'Deployment');
    const broken = structuredClone(deployment!) as any;
    broken.spec.replicas = 'two';
    broken.spec.template.spec.containers[0].ports[0].containerPort = '5000';
    expect(() => validate(broken)).toThrow(/replicas|containerPort/);
    const noSelector = structuredClone(deployment!) as any;
    delete noSelector.spec.selector;
    expect(() => validate(noSelector)).toThrow(/selector/);
  });
});
