/** The volumes added on this host with volumes:add (apps/<app>/volumes.json), which every rollout reads. */
import path from 'node:path';
import { PaasError } from '../errors.js';
import { volumeCreate, volumeProblems, type VolumeMount } from '../release/volumes.js';
import { createVolume } from './engine.js';
import { appDir, readJson, writeAtomic } from './state.js';

export const volumesFile = (app: string) => path.join(appDir(app), 'volumes.json');

/** The volumes added on this host; a file that is not a valid list is an error naming it (never "no volumes"). */
export async function readHostVolumes(app: string): Promise<VolumeMount[]> {
  const file = volumesFile(app);
  const stored = await readJson<{ volumes?: unknown }>(file);
  if (stored === undefined) return [];
  const problems = volumeProblems(stored.volumes);
  const volumes = stored.volumes as VolumeMount[];
  if (problems.length || volumes.some((volume) => volume.source !== 'volumes:add')) {
    throw new PaasError('host', `${file} is not a valid list of volumes`, { where: file, details: problems.slice(0, 10), hint: 'fix or remove the file; `paas volumes:add` writes it again' });
  }
  return volumes;
}

export async function writeHostVolumes(app: string, volumes: VolumeMount[]): Promise<void> {
  await writeAtomic(volumesFile(app), `${JSON.stringify({ volumes }, null, 2)}\n`);
}

/** Creates the Docker volumes of these mounts that do not exist yet, with the app's labels. */
export async function ensureVolumes(app: string, volumes: readonly VolumeMount[] | undefined): Promise<void> {
  await Promise.all((volumes ?? []).map((volume) => createVolume(volumeCreate(app, volume.name))));
}

