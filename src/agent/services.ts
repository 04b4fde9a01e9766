/**
 * Backing services on this host (src/release/services.ts decides names and bodies): create,
 * list, link to an app (its container joins the app's network; the app gets the URL as a config
 * var, a new release), unlink, destroy, and a client attached to a one-off container. Each change
 * writes its intent to the service's record first (status creating / linking / unlinking), so a
 * killed agent leaves a record the next command of that service finishes or undoes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { CLUSTER_NETWORK, appNetwork, networkCreate } from '../release/containers.js';
import { execArgv, logsArgv } from '../release/docker.js';
import {
  KINDS, SERVICE_LABEL, checkServiceName, checkedServiceName, linkVariable, planServiceClient, planServiceContainer, readinessArgv, serviceContainer, serviceNetwork, serviceUrl, serviceVolume,
  type ServiceKind, type ServiceLink, type ServiceRecord,
} from '../release/services.js';
import { changeConfig } from './config-vars.js';
import { readAppConfig } from './config-store.js';
import {
  apiName, containersLabelled, createContainer, createVolume, engineGet, engineRequest, ensureNetwork, removeContainer, removeNetwork, removeVolume, startContainer,
} from './engine.js';
import { docker, sleep } from './exec.js';
import { failpoint } from './failpoints.js';
import { withHostLock } from './lock.js';
import { attachOneOff } from './oneoff.js';
import type { ConfigSetResult, Emit, ServiceView } from './protocol.js';
import type { ReleaseSpec } from '../release/types.js';
import { loadOrCreateKey, readVars, SECRET_KEY_FILE, writeVars } from './secrets.js';
import { ROOT, readJson, readState, writeAtomic } from './state.js';

export const SERVICES_DIR = path.join(ROOT, 'services');
/** A service's backups (and their off-host targets): apart from its record, they outlive it. */
export const serviceBackupsDir = (name: string) => path.join(ROOT, 'backups', checkedServiceName(name));
const READY_TIMEOUT_MS = 120_000;

function serviceDir(name: string): string {
  const problem = checkServiceName(name);
  if (problem) throw new PaasError('usage', problem);
  return path.join(SERVICES_DIR, name);
}
const recordFile = (name: string) => path.join(serviceDir(name), 'service.json');
const secretFile = (name: string) => path.join(serviceDir(name), 'secret.enc');
/** The password's additional authenticated data: a secret file copied to another service does not decrypt. */
const secretScope = (name: string) => `service:${name}`;

const SERVICES_LOCK = 'services';

/** Changes of services (and of their records) one at a time on this host. */
export function withServicesLock<T>(work: () => Promise<T>): Promise<T> {
  return withHostLock(SERVICES_LOCK, 120_000, () => new PaasError('lock', 'another command is changing the services of this host', { hint: 'wait for it and run the command again' }), work);
}

export async function readService(name: string): Promise<ServiceRecord | undefined> {
  return readJson<ServiceRecord>(recordFile(name));
}

export async function requireService(name: string): Promise<ServiceRecord> {
  const record = await readService(name);
  if (!record) throw new PaasError('usage', `this host has no service ${name}`, { hint: 'see `paas services`; create one with `paas services:create postgres NAME`' });
  return record;
}

async function writeService(record: ServiceRecord): Promise<void> {
  await writeAtomic(recordFile(record.name), `${JSON.stringify(record, null, 2)}\n`);
}

/** Changes a service's record under the services lock. */
export async function updateService(name: string, change: (record: ServiceRecord) => ServiceRecord): Promise<ServiceRecord> {
  return withServicesLock(async () => {
    const updated = change(await requireService(name));
    await writeService(updated);
    return updated;
  });
}

async function servicePassword(name: string): Promise<string> {
  const vars = await readVars(secretFile(name), await loadOrCreateKey(SECRET_KEY_FILE), secretScope(name));
  if (!vars.PASSWORD) throw new PaasError('host', `the password of the service ${name} is missing`, { where: secretFile(name) });
  return vars.PASSWORD;
}

export async function listServiceNames(): Promise<string[]> {
  try {
    return (await fs.readdir(SERVICES_DIR, { withFileTypes: true })).filter((e) => e.isDirectory() && !checkServiceName(e.name)).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function containerState(name: string): Promise<string> {
  const answer = await engineGet<{ State?: { Status?: string; Restarting?: boolean } }>(`/containers/${apiName(serviceContainer(name))}/json`);
  return answer.status === 200 ? answer.body?.State?.Status ?? 'unknown' : 'missing';
}

function view(record: ServiceRecord, state: string): ServiceView {
  return {
    name: record.name, kind: record.kind, version: record.version, image: record.image, createdAt: record.createdAt, status: record.status, state,
    container: serviceContainer(record.name), volume: serviceVolume(record.name), network: serviceNetwork(record.name),
    links: record.links.map((link) => ({ app: link.app, as: link.as, status: link.status })),
  };
}

export async function listServices(): Promise<ServiceView[]> {
  const records = await readServiceRecords();
  return Promise.all(records.map(async (record) => view(record, await containerState(record.name))));
}

/** services:info: the view, and the URL with its password masked (the full one only with reveal). */
export async function serviceInfo(name: string, reveal: boolean): Promise<ServiceView & { url: string }> {
  const record = await requireService(name);
  const url = serviceUrl(record, reveal ? await servicePassword(name) : '********');
  return { ...view(record, await containerState(name)), url };
}

/** Waits until the server answers (readinessArgv in its container), within READY_TIMEOUT_MS. */
async function waitReady(record: ServiceRecord, emit: Emit): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < READY_TIMEOUT_MS) {
    const answer = await docker(execArgv(serviceContainer(record.name), readinessArgv(record)), { check: false, timeoutMs: 10_000 }).catch((error: Error) => ({ code: 1, stderr: error.message, stdout: '' }));
    if (answer.code === 0) return Date.now() - started;
    last = answer.stderr.trim().split('\n').pop() ?? '';
    if (await containerState(record.name) === 'exited') break;
    await sleep(250);
  }
  const logs = await docker(logsArgv(serviceContainer(record.name), 20), { check: false, timeoutMs: 10_000 }).catch(() => ({ stdout: '', stderr: '' }));
  emit(`the ${record.kind} server did not answer`, 'service');
  throw new PaasError('host', `the service ${record.name} (${record.kind} ${record.version}) did not come up within ${READY_TIMEOUT_MS / 1000} s`, {
    details: [...`${logs.stdout}${logs.stderr}`.trim().split('\n').slice(-20), ...(last ? [last] : [])],
    hint: `see \`docker logs ${serviceContainer(record.name)}\` on the host; \`paas services:destroy ${record.name} --confirm ${record.name}\` removes it`,
  });
}

/**
 * services:create: the record first (status creating), then the password, network, volume and
 * container, and once the server answers, status created. Run again after a crash, it carries on
 * from the record (the same password, the same data).
 */
export async function createService(kind: ServiceKind, name: string, version: string, emit: Emit): Promise<ServiceView & { url: string }> {
  return withServicesLock(async () => {
    const image = KINDS[kind].image(version);
    const existing = await readService(name);
    if (existing && (existing.status === 'created' || existing.kind !== kind || existing.version !== version)) {
      throw new PaasError('usage', `this host has a service ${name} already (${existing.kind} ${existing.version})`, { hint: 'choose another name, or `paas services:destroy` it first' });
    }
    if ((await engineGet(`/images/${apiName(image)}/json`)).status !== 200) {
      throw new PaasError('host', `the image ${image} is not on this host`, { hint: 'paas services:create sends it from your machine\'s Docker Engine: run it from paas, not the agent alone' });
    }
    const record: ServiceRecord = existing ?? { name, kind, version, image, createdAt: new Date().toISOString(), status: 'creating', links: [] };
    await writeService(record);
    const key = await loadOrCreateKey(SECRET_KEY_FILE);
    const stored = await readVars(secretFile(name), key, secretScope(name));
    const password = stored.PASSWORD ?? randomBytes(24).toString('base64url');
    if (!stored.PASSWORD) await writeVars(secretFile(name), { PASSWORD: password }, key, secretScope(name));
    await ensureNetwork({ Name: serviceNetwork(name), Driver: 'bridge', CheckDuplicate: true, Labels: { [SERVICE_LABEL.service]: name } });
    await createVolume({ Name: serviceVolume(name), Driver: 'local', Labels: { [SERVICE_LABEL.service]: name } });
    if (await containerState(name) === 'missing') {
      await createContainer(serviceContainer(name), planServiceContainer(record, password));
      emit(`created ${serviceContainer(name)} (${image}), data in the volume ${serviceVolume(name)}`, 'service');
    }
    await startContainer(serviceContainer(name));
    await failpoint('service-create');
    const ms = await waitReady(record, emit);
    emit(`${kind} ${version} answers (${ms} ms)`, 'service');
    const created: ServiceRecord = { ...record, status: 'created' };
    await writeService(created);
    return { ...view(created, 'running'), url: serviceUrl(created, '********') };
  });
}

async function connectNetwork(network: string, container: string): Promise<void> {
  const answer = await engineRequest<{ message?: string }>('POST', `/networks/${encodeURIComponent(network)}/connect`, { Container: container });
  if (answer.status === 200) return;
  // Connected already (a link run again after a crash).
  if (answer.status === 403 && /already exists|already attached/i.test(answer.body?.message ?? '')) return;
  throw new PaasError('host', `the Docker Engine refused to connect ${container} to ${network}: ${answer.body?.message ?? answer.status}`);
}

async function disconnectNetwork(network: string, container: string): Promise<void> {
  await engineRequest('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { Container: container, Force: true }).catch(() => undefined);
}

/** The network a linked service joins for the app: the app's own, or on the swarm engine the cluster's overlay (its tasks on any node reach the service by name). */
async function linkNetwork(app: string): Promise<string> {
  const state = await readState(app);
  const current = state.releases.find((r) => r.version === state.current);
  return current?.engine === 'swarm' ? CLUSTER_NETWORK : appNetwork(app);
}

/** The service leaves the app's network; the cluster's only when no other cluster app it is linked to stays. */
async function leaveNetwork(record: ServiceRecord, app: string): Promise<void> {
  const network = await linkNetwork(app);
  if (network === CLUSTER_NETWORK) {
    for (const other of record.links.filter((l) => l.app !== app)) if ((await linkNetwork(other.app)) === CLUSTER_NETWORK) return;
  }
  await disconnectNetwork(network, serviceContainer(record.name));
}

async function setLink(name: string, app: string, link: ServiceLink | undefined): Promise<ServiceRecord> {
  return withServicesLock(async () => {
    const record = await requireService(name);
    const others = record.links.filter((l) => l.app !== app || (link && l.as !== link.as));
    const updated = { ...record, links: link ? [...others, link] : others };
    await writeService(updated);
    return updated;
  });
}

type ReleaseFields = Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>;

/**
 * services:link (the caller holds the app's lock): the intent in the record, the service's
 * container on the app's network, then the URL as a config var, which is a new release with zero
 * downtime. A release that fails undoes the link.
 */
export async function linkService(name: string, app: string, as: string | undefined, fields: ReleaseFields, emit: Emit): Promise<ConfigSetResult & { service: string; as: string }> {
  const record = await requireService(name);
  if (record.status !== 'created') throw new PaasError('usage', `the service ${name} is not created yet`, { hint: `run \`paas services:create ${record.kind} ${name}\` again to finish it` });
  const variable = linkVariable(record.kind, as);
  const taken = record.links.find((l) => l.app === app && l.status === 'linked');
  if (taken && taken.as !== variable) throw new PaasError('usage', `${name} is linked to ${app} already, as ${taken.as}`);
  const state = await readState(app);
  if (state.releases.length === 0 && !(await readAppConfig(app).then((vars) => Object.keys(vars).length > 0))) {
    throw new PaasError('usage', `this host has no app ${app}`, { hint: 'deploy it first (paas deploy), then link the service' });
  }
  await setLink(name, app, { app, as: variable, status: 'linking' });
  const network = await linkNetwork(app);
  try {
    if (network !== CLUSTER_NETWORK) await ensureNetwork(networkCreate(app));
    await connectNetwork(network, serviceContainer(name));
    emit(`${serviceContainer(name)} joined the network ${network} of ${app}`, 'link');
    await failpoint('service-link');
    const url = serviceUrl(record, await servicePassword(name));
    const changed = await changeConfig(app, { set: { [variable]: url }, unset: [] }, fields, emit);
    await setLink(name, app, { app, as: variable, status: 'linked' });
    return { ...changed, service: name, as: variable };
  } catch (error) {
    await leaveNetwork(record, app);
    await setLink(name, app, undefined);
    throw error;
  }
}

/** services:unlink: the config var goes first (a new release), then the network, then the link. */
export async function unlinkService(name: string, app: string, fields: ReleaseFields, emit: Emit): Promise<ConfigSetResult & { service: string }> {
  const record = await requireService(name);
  const links = record.links.filter((l) => l.app === app);
  if (links.length === 0) throw new PaasError('usage', `${name} is not linked to ${app}`, { hint: 'see `paas services:info NAME`' });
  for (const link of links) await setLink(name, app, { ...link, status: 'unlinking' });
  const set = await readAppConfig(app);
  const unset = links.map((l) => l.as).filter((v) => Object.hasOwn(set, v));
  const changed = unset.length ? await changeConfig(app, { set: {}, unset }, fields, emit) : { app, changed: [] };
  await leaveNetwork(record, app);
  emit(`${serviceContainer(name)} left the network of ${app}`, 'link');
  await setLink(name, app, undefined);
  return { ...changed, service: name };
}

/** apps:destroy of `app` (under its lock): every service leaves its network and forgets the link. */
export async function forgetApp(app: string): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await listServiceNames()) {
    const record = await readService(name);
    if (!record?.links.some((l) => l.app === app)) continue;
    await leaveNetwork(record, app);
    await setLink(name, app, undefined);
    dropped.push(name);
  }
  return dropped;
}

/** services:destroy: refused while linked; the container, network, volume (the data) and record go. */
export async function destroyService(name: string, withBackups: boolean, emit: Emit): Promise<{ service: string; removed: string[] }> {
  return withServicesLock(async () => {
    const record = await requireService(name);
    const linked = record.links.map((l) => l.app);
    if (linked.length) throw new PaasError('usage', `the service ${name} is linked to ${[...new Set(linked)].join(', ')}`, { hint: `unlink it first: paas services:unlink ${name} --app ${linked[0]}` });
    const removed: string[] = [];
    for (const container of await containersLabelled([`${SERVICE_LABEL.service}=${name}`])) await removeContainer(container.Id);
    removed.push(serviceContainer(name));
    await removeNetwork(serviceNetwork(name));
    removed.push(serviceNetwork(name));
    await removeVolume(serviceVolume(name));
    removed.push(serviceVolume(name));
    await fs.rm(serviceDir(name), { recursive: true, force: true });
    // Backups (and their off-host targets) outlive the service unless asked for.
    if (withBackups) {
      await fs.rm(serviceBackupsDir(name), { recursive: true, force: true });
      removed.push(`its backups (${serviceBackupsDir(name)})`);
    }
    emit(`removed the ${record.kind} service ${name} and its data${withBackups ? ' and backups' : '; its backups are kept'}`, 'service');
    return { service: name, removed };
  });
}

/** services:connect: psql or redis-cli attached, in a one-off container on the service's network. */
export async function connectService(name: string, tty: boolean): Promise<never> {
  const record = await requireService(name);
  const password = await servicePassword(name);
  const client = `paas-svc-${name}.connect.${randomBytes(4).toString('hex')}`;
  const id = await createContainer(client, planServiceClient(record, password, tty));
  return attachOneOff(id, client, tty);
}

/** The host service's tick: a created service whose container stopped (a crash, `docker kill`) is started again. */
export async function keepServices(records: readonly ServiceRecord[]): Promise<string[]> {
  const created = records.filter((record) => record.status === 'created');
  if (created.length === 0) return [];
  // One listing of the engine for all of them (not one request per service each second).
  const stopped = async () => {
    const containers = await containersLabelled([SERVICE_LABEL.service]);
    return created.flatMap((record) => {
      const container = containers.find((c) => c.Names.includes(`/${serviceContainer(record.name)}`));
      return container?.State === 'exited' || container?.State === 'created' ? [{ record, id: container.Id }] : [];
    });
  };
  if ((await stopped()).length === 0) return [];
  // Under the services lock, never while a command holds it: a restore stops a service on purpose
  // and writes its volume meanwhile.
  return withHostLock(SERVICES_LOCK, 0, () => new PaasError('lock', 'services busy'), async () => {
    const started: string[] = [];
    for (const { record, id } of await stopped()) {
      await startContainer(id, serviceContainer(record.name)).then(() => started.push(record.name), () => undefined);
    }
    return started;
  }).catch((error: unknown) => {
    if (error instanceof PaasError && error.kind === 'lock') return [];
    throw error;
  });
}

/** Every service record of this host (those that do not read are left out): what the host service's tick works from. */
export async function readServiceRecords(): Promise<ServiceRecord[]> {
  const records = await Promise.all((await listServiceNames()).map((name) => readService(name).catch(() => undefined)));
  return records.filter((record): record is ServiceRecord => record !== undefined);
}

/** The services linked to an app, with their state (ps, apps:info). */
export async function linkedServices(app: string): Promise<{ name: string; kind: ServiceKind; as: string; state: string }[]> {
  const linked: { name: string; kind: ServiceKind; as: string; state: string }[] = [];
  for (const name of await listServiceNames()) {
    const record = await readService(name).catch(() => undefined);
    for (const link of record?.links.filter((l) => l.app === app && l.status === 'linked') ?? []) {
      linked.push({ name, kind: record!.kind, as: link.as, state: await containerState(name) });
    }
  }
  return linked;
}
