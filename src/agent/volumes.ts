/**
 * An app's volumes on this host: those added with volumes:add (apps/<app>/volumes.json, read by
 * every rollout), the Docker volumes that hold their data, and the changes, each a new release of
 * the current image with zero downtime. Data is never removed here but by apps:destroy --volumes.
 */
import { PaasError } from '../errors.js';
import { checkProcessType } from '../config/validators.js';
import type { ReleaseSpec } from '../release/types.js';
import { dockerVolumeName, mergeVolumes, MAX_VOLUMES, parseVolumeArgument, volumeText, VOLUME_LABEL, type VolumeMount } from '../release/volumes.js';
import { volumesLabelled } from './engine.js';
import type { Emit, VolumesChangeResult, VolumesView } from './protocol.js';
import { currentRelease, specFromRelease } from './releases.js';
import { readRolloutInputs, rolloutLocked } from './rollout.js';
import { readState } from './state.js';
import { readHostVolumes, writeHostVolumes } from './volume-store.js';

/** Every volume of the app: the current release's mounts, those added here, and Docker volumes whose data no mount uses any more. */
export async function volumesView(app: string): Promise<VolumesView> {
  const [state, added, docker] = await Promise.all([readState(app), readHostVolumes(app), volumesLabelled([`${VOLUME_LABEL.app}=${app}`])]);
  const current = currentRelease(state);
  const mounted = current?.volumes ?? [];
  const declared = [...mounted, ...added.filter((volume) => !mounted.some((m) => m.name === volume.name))];
  const present = new Set(docker.map((volume) => volume.Name));
  return {
    app,
    ...(state.current !== undefined ? { current: state.current } : {}),
    volumes: declared.map((volume) => ({
      name: volume.name, path: volume.path, ...(volume.processes ? { processes: volume.processes } : {}), source: volume.source,
      dockerVolume: dockerVolumeName(app, volume.name), mounted: mounted.some((m) => m.name === volume.name), exists: present.has(dockerVolumeName(app, volume.name)),
    })),
    unmounted: docker.map((volume) => volume.Name).filter((name) => !declared.some((volume) => dockerVolumeName(app, volume.name) === name)).sort(),
  };
}

/** The new release of the current image with the host's volumes as `added`; nothing is kept if it fails. */
async function rollOutVolumes(app: string, before: VolumeMount[], after: VolumeMount[], description: string, fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>, emit: Emit): Promise<VolumesChangeResult> {
  const current = currentRelease(await readState(app));
  // Intent first: the host's list is what the user asked for; a rollout that fails puts it back.
  await writeHostVolumes(app, after);
  if (!current) {
    emit(`${app} has no release yet: the next deploy mounts its volumes`, 'volumes');
    return { ...(await volumesView(app)) };
  }
  const spec = specFromRelease(app, current, { ...fields, description });
  try {
    const release = await rolloutLocked(spec, emit, readRolloutInputs(app), [], { releasePhase: false });
    return { ...(await volumesView(app)), release };
  } catch (error) {
    await writeHostVolumes(app, before);
    throw error;
  }
}

/** volumes:add NAME:/path [-p TYPE]: mounted by a new release (the caller holds the app's lock). */
export async function addVolume(app: string, argument: string, types: string[], fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>, emit: Emit): Promise<VolumesChangeResult> {
  const { name, path: mountPath } = parseVolumeArgument(argument);
  for (const type of types) {
    const problem = checkProcessType(type);
    if (problem) throw new PaasError('usage', problem, { where: '--process' });
  }
  const [state, before] = await Promise.all([readState(app), readHostVolumes(app)]);
  const current = currentRelease(state);
  const unknown = current ? types.filter((type) => !Object.hasOwn(current.processes, type)) : [];
  if (unknown.length) throw new PaasError('usage', `${app} has no process type ${unknown.join(', ')}`, { where: '--process', hint: `its process types are ${Object.keys(current!.processes).join(', ')}` });
  const existing = before.find((volume) => volume.name === name);
  if (existing) throw new PaasError('usage', `${app} already has the volume ${volumeText(existing)}`, { hint: `paas volumes:remove ${name} first to mount it elsewhere` });
  if (before.length >= MAX_VOLUMES) throw new PaasError('usage', `${app} has ${before.length} volumes, at most ${MAX_VOLUMES} are allowed`);
  const mount: VolumeMount = { name, path: mountPath, ...(types.length ? { processes: [...new Set(types)] } : {}), source: 'volumes:add' };
  const after = [...before, mount];
  const clash = before.find((volume) => volume.path === mountPath);
  if (clash) throw new PaasError('usage', `${mountPath} is already the path of the volume ${clash.name}`);
  // The same check a rollout makes against paas.yml's volumes, before anything is written.
  mergeVolumes(current?.volumes ?? [], after);
  emit(`adding the volume ${volumeText(mount)} (Docker volume ${dockerVolumeName(app, name)})`, 'volumes');
  return rollOutVolumes(app, before, after, `Add volume ${volumeText(mount)}`, fields, emit);
}

/** volumes:remove NAME: no longer mounted from a new release on; its data stays (apps:destroy --volumes removes it). */
export async function removeVolumeMount(app: string, name: string, fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>, emit: Emit): Promise<VolumesChangeResult> {
  const [state, before] = await Promise.all([readState(app), readHostVolumes(app)]);
  const removed = before.find((volume) => volume.name === name);
  if (!removed) {
    const fromConfig = currentRelease(state)?.volumes?.find((volume) => volume.name === name && volume.source === 'paas.yml');
    if (fromConfig) throw new PaasError('usage', `the volume ${name} comes from paas.yml`, { where: 'paas.yml volumes', hint: `remove volumes.${name} from paas.yml and deploy` });
    throw new PaasError('usage', `${app} has no volume ${name} added with volumes:add`, { hint: 'see `paas volumes`' });
  }
  emit(`unmounting the volume ${volumeText(removed)}; its data stays in ${dockerVolumeName(app, name)}`, 'volumes');
  return rollOutVolumes(app, before, before.filter((volume) => volume.name !== name), `Remove volume ${name}`, fields, emit);
}
