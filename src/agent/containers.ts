import { imageTagsArgv } from '../release/docker.js';
import { LABEL, releasePhaseName } from '../release/containers.js';
import type { AppContainer } from '../release/types.js';
import { docker, sleep } from './exec.js';
import { readState } from './state.js';
import { apiName, containersLabelled, engineRequest, removeContainer, stopAndRemoveContainer, type EngineContainer } from './engine.js';

/*
 * The app's containers on this host, always found by their labels: the agent acts only on
 * containers whose labels say they are the app's, never on a name alone.
 */

/** The agent's name for an app's container (its labels read back). */
export type ListedContainer = AppContainer;

/** An engine container as the app's: its labels read back. */
export function listed(container: EngineContainer & { Ports?: { PublicPort?: number }[] }): ListedContainer {
  const labels = container.Labels ?? {};
  const port = container.Ports?.find((p) => p.PublicPort)?.PublicPort;
  return {
    id: container.Id,
    name: (container.Names[0] ?? '').replace(/^\//, ''),
    release: Number(labels[LABEL.release]) || 0,
    type: labels[LABEL.process] ?? '',
    replica: Number(labels[LABEL.replica]) || 0,
    generation: Number(labels[LABEL.restart]) || 0,
    running: container.State === 'running',
    ...(port ? { port } : {}),
  };
}

/** The app's process containers, by their labels (one-off containers have no process label: a rollout leaves them be). */
export async function appContainers(app: string): Promise<ListedContainer[]> {
  return (await containersLabelled([`${LABEL.app}=${app}`])).map(listed).filter((c) => c.type !== '');
}

export async function removeContainers(containers: { id: string }[]): Promise<void> {
  await Promise.all(containers.map((c) => removeContainer(c.id)));
}

/** Stops the app's containers with these names (found by the app's label: never another app's). */
export async function stopAppContainers(app: string, names: string[], stopTimeoutSeconds: number, keep: (c: ListedContainer) => boolean = () => false): Promise<string[]> {
  const wanted = new Set(names);
  const containers = (await appContainers(app)).filter((c) => wanted.has(c.name) && !keep(c));
  await Promise.all(containers.map((c) => stopAndRemoveContainer(c.id, stopTimeoutSeconds)));
  return containers.map((c) => c.name);
}

/** The release-phase container a crashed attempt may have left. */
/** Removes the one-off containers of a release's phases (release, app.json scripts) that an attempt that crashed left. */
export async function removeReleasePhaseLeftover(app: string, version: number): Promise<void> {
  const names = (['release', 'predeploy', 'postdeploy', 'first-deploy'] as const).map((phase) => `/${releasePhaseName(app, version, phase)}`);
  const mine = (await containersLabelled([`${LABEL.app}=${app}`])).filter((c) => c.Names.some((n) => names.includes(n)));
  await removeContainers(mine.map((c) => ({ id: c.Id })));
}

/**
 * Removes the images (tags) that are still on the engine; one still used by a container stays.
 * An engine that did not answer, or refused for another reason (under load: a build's export
 * still holding it), is asked again, up to 3 times a second apart.
 */
export async function pruneImages(images: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const image of images) {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const answer = await engineRequest<{ message?: string }>('DELETE', `/images/${apiName(image)}`).catch(() => ({ status: 0, body: undefined }));
      if (answer.status === 200) removed.push(image);
      const settled = answer.status === 200 || answer.status === 404 || (answer.status === 409 && /container/i.test(answer.body?.message ?? ''));
      if (settled || attempt === 3) break;
      await sleep(1000);
    }
  }
  return removed;
}


/**
 * The app's image tags that no release of its state uses: what a failed or aborted attempt built
 * or loaded (dependency images stay: the next deploy builds on them). `only`: just these tags.
 */
export async function pruneUnreleased(app: string, only?: string[]): Promise<string[]> {
  const state = await readState(app);
  const used = new Set(state.releases.map((r) => r.image));
  const tags = only ?? (await docker(imageTagsArgv(`paas/${app}`), { check: false, timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  return pruneImages(tags.filter((tag) => tag.startsWith(`paas/${app}:`) && !tag.startsWith(`paas/${app}:deps-`) && !used.has(tag)));
}
