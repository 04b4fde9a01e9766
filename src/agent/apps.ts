/** The apps of this host: the list, one app's details, and destroying one. */
import { promises as fs } from 'node:fs';
import { LABEL } from '../release/containers.js';
import { appContainerTableArgv, imageTagsArgv } from '../release/docker.js';
import { planDestroy } from '../release/plan.js';
import { EMPTY_SETTINGS, extraDomains, type AppSettings } from '../release/settings.js';
import { VOLUME_LABEL } from '../release/volumes.js';
import { apiName, containersLabelled, engineRequest, removeContainer, removeNetwork, removeVolume, volumesLabelled } from './engine.js';
import { docker } from './exec.js';
import { repoPath } from './git.js';
import { readSites, removeRoutes, removeSite } from './nginx.js';
import type { AppInfo, AppSummary, DestroyResult, Emit } from './protocol.js';
import { appUrls, currentRelease, readHostInfo } from './releases.js';
import { appStateDir, certsDir, readSettings } from './settings.js';
import { listApps, readState } from './state.js';
import { forgetApp, linkedServices } from './services.js';

const exists = (file: string) => fs.stat(file).then(() => true, () => false);

export async function listAppSummaries(): Promise<AppSummary[]> {
  const host = await readHostInfo();
  return Promise.all((await listApps()).map(async (app) => {
    const state = await readState(app);
    const current = currentRelease(state);
    const settings: AppSettings = await readSettings(app).catch(() => EMPTY_SETTINGS);
    const domains = extraDomains(current?.domains ?? [], settings);
    return { app, ...(state.current !== undefined ? { current: state.current } : {}), ...(current ? { image: current.image } : {}), urls: current ? appUrls(app, domains, host, settings.certificate?.names) : [] };
  }));
}

export async function appInfo(app: string): Promise<AppInfo> {
  const state = await readState(app);
  const host = await readHostInfo();
  const current = currentRelease(state);
  const { stdout } = await docker(appContainerTableArgv(`${LABEL.app}=${app}`), { timeoutMs: 60_000 });
  const containers = stdout.split('\n').filter(Boolean).map((line) => {
    const [name = '', status = '', ports = ''] = line.split('\t');
    return { name, status, ports };
  });
  const settings = await readSettings(app);
  const domains = extraDomains(current?.domains ?? [], settings);
  return {
    app, ...(state.current !== undefined ? { current: state.current } : {}), ...(current ? { release: current } : {}),
    releases: state.releases.length, containers, urls: current ? appUrls(app, domains, host, settings.certificate?.names) : [], services: await linkedServices(app),
  };
}

/** Removes everything of one app from this host (the caller holds its lock), in planDestroy's order. */
export async function destroyApp(app: string, withVolumes: boolean, emit: Emit): Promise<DestroyResult> {
  // On a cluster's manager the app's services go first: Swarm stops their tasks on every node.
  const { isSwarmApp, removeSwarmApp } = await import('./swarm.js');
  const swarmServices = await isSwarmApp(app) ? await removeSwarmApp(app, emit) : [];
  const containers = await containersLabelled([`${LABEL.app}=${app}`]);
  const images = (await docker(imageTagsArgv(`paas/${app}`), { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  const plan = planDestroy(app, {
    site: (await readSites()).sites.some((site) => site.app === app),
    containers: containers.map((c) => ({ id: c.Id })), images,
    ...(await exists(certsDir(app)) ? { certsDir: certsDir(app) } : {}),
    ...(await exists(repoPath(app)) ? { repo: repoPath(app) } : {}),
    stateDir: appStateDir(app),
  });
  if (plan.site) await removeSite(app);
  await removeRoutes(app);
  emit(`nginx no longer serves ${app}`, 'destroy');
  await Promise.all(plan.containers.map((id) => removeContainer(id)));
  // Linked services leave the network (it cannot go while they are on it) and forget the app.
  const unlinked = await forgetApp(app);
  if (unlinked.length) emit(`unlinked the service(s) ${unlinked.join(', ')} (their data stays)`, 'destroy');
  await removeNetwork(plan.network);
  const removedImages: string[] = [];
  for (const image of plan.images) {
    const answer = await engineRequest('DELETE', `/images/${apiName(image)}?force=1`).catch(() => ({ status: 0 }));
    if (answer.status === 200) removedImages.push(image);
  }
  emit(`removed ${plan.containers.length} container(s) and ${removedImages.length} image(s)`, 'destroy');
  // After the containers (a volume in use cannot go); the data is kept unless asked for.
  const volumes = (await volumesLabelled([`${VOLUME_LABEL.app}=${app}`])).map((volume) => volume.Name).sort();
  if (withVolumes) for (const volume of volumes) await removeVolume(volume);
  if (volumes.length) emit(withVolumes ? `removed the volume(s) ${volumes.join(', ')}` : `kept the volume(s) ${volumes.join(', ')} (their data; apps:destroy --volumes removes them)`, 'destroy');
  for (const dir of plan.dirs) await fs.rm(dir, { recursive: true, force: true });
  return {
    app, containers: containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')), images: removedImages, removed: plan.dirs,
    ...(swarmServices.length ? { swarmServices } : {}),
    volumes: withVolumes ? { removed: volumes, kept: [] } : { removed: [], kept: volumes },
  };
}
