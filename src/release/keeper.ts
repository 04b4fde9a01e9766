/**
 * The formation keeper's decisions (the host service runs them every second): which containers
 * of an app's current release should run and do not, and when to try again one that keeps
 * stopping. Pure; the service (src/agent/service.ts) carries them out under the app's lock.
 */
import { planContainers, type ContainerPlan } from './containers.js';
import { WEB, type AppContainer, type Release, type ReleaseSpec } from './types.js';

/** A container as the keeper sees it: the engine's state word too (running, exited, created, restarting, paused, dead, removing). */
export interface KeptContainer extends AppContainer {
  status: string;
}

export interface KeepPlan {
  /** Containers of the current release that are stopped (killed, stopped outside paas): start them again. */
  start: KeptContainer[];
  /** Process and replica of the formation with no container at all (removed outside paas). */
  missing: { type: string; replica: number }[];
  /**
   * Stopped containers that no replica of the current release is: of older releases or older
   * restart generations, whose drain was cut short (a host restart, a killed agent) before it
   * removed them. Removed: a rollback starts new containers from the kept image.
   */
  leftover: KeptContainer[];
}

/** Engine states from which the engine itself will not bring a container back (its restart policy gave up, or it was stopped by hand). */
const STOPPED = new Set(['exited', 'created']);
/** States in which a container left over stays for good (the engine never removes a dead one). */
const LEFT = new Set(['exited', 'created', 'dead']);

/**
 * For each replica of the release's formation, the live container is the current release's one of
 * the highest restart generation (older generations are draining); a stopped one is started, a
 * missing one is reported. `restarting`, `paused` and `removing` live containers are left to the
 * engine and to the next tick. Any other container that is stopped is left over.
 */
export function planKeep(release: Release, containers: KeptContainer[]): KeepPlan {
  const plan: KeepPlan = { start: [], missing: [], leftover: [] };
  const live = new Set<KeptContainer>();
  for (const [type, replicas] of Object.entries(release.formation).sort(([a], [b]) => a.localeCompare(b))) {
    for (let replica = 1; replica <= replicas; replica++) {
      const candidates = containers.filter((c) => c.release === release.version && c.type === type && c.replica === replica);
      const newest = candidates.sort((a, b) => b.generation - a.generation)[0];
      if (!newest) plan.missing.push({ type, replica });
      else {
        live.add(newest);
        if (STOPPED.has(newest.status)) plan.start.push(newest);
      }
    }
  }
  plan.leftover = containers.filter((c) => !live.has(c) && LEFT.has(c.status));
  return plan;
}

/** How long to wait before starting a container again that was started `attempts` times already: 0, then 1 s doubling to 60 s. */
export function restartDelayMs(attempts: number): number {
  return attempts <= 0 ? 0 : Math.min(60_000, 1000 * 2 ** (attempts - 1));
}

/**
 * The containers that bring back the missing replicas of types other than web (which come back
 * by a rolling restart, on new ports): the release's own plan for them, with its environment.
 */
export function planRecreate(spec: ReleaseSpec, missing: KeepPlan['missing'], env: Record<string, string>): ContainerPlan[] {
  const others = missing.filter((m) => m.type !== WEB);
  const types = [...new Set(others.map((m) => m.type))];
  if (types.length === 0) return [];
  return planContainers(spec, [], { types }, env).filter((plan) => others.some((m) => m.type === plan.type && m.replica === plan.replica));
}
