/**
 * An app's releases on this host: the current one, a new release made from a recorded one
 * (config changes, scaling, restarts and rollbacks all start from a record), the host's facts
 * and the app's URLs.
 */
import { PaasError } from '../errors.js';
import { certificateCovers } from '../tls/pem.js';
import type { AppState, Release, ReleaseSpec } from '../release/types.js';
import type { HostInfo } from './protocol.js';
import { HOST_FILE, readJson } from './state.js';

export async function readHostInfo(): Promise<HostInfo> {
  const info = await readJson<HostInfo>(HOST_FILE);
  if (!info) throw new PaasError('host', 'this host is not set up for paas', { hint: 'run `paas host:setup` for it first' });
  return info;
}

/** Where the app answers: https:// (port 443, where the redirect points) for the names its certificate covers. */
export function appUrls(app: string, domains: string[], host: HostInfo, certificateNames: string[] = []): string[] {
  const port = host.publicPort === 80 ? '' : `:${host.publicPort}`;
  return [`${app}.${host.baseDomain}`, ...domains].map((name) => (certificateCovers(certificateNames, name) ? `https://${name}/` : `http://${name}${port}/`));
}

/** The release that serves now, if any. */
export function currentRelease(state: AppState): Release | undefined {
  return state.releases.find((r) => r.version === state.current);
}

/** The release that serves now; a usage error when the app has none on this host. */
export function requireCurrentRelease(state: AppState): Release {
  const release = currentRelease(state);
  if (!release) throw new PaasError('usage', `${state.app} has no release on this host`, { hint: 'deploy it first: `paas deploy`' });
  return release;
}

/**
 * A new release made from a recorded one: the same image, processes, settings and env; its
 * config var names are set again by the rollout, from the config it runs with.
 */
export function specFromRelease(app: string, release: Release, fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases' | 'description'>): ReleaseSpec {
  const { createdAt: _at, status: _status, configVars: _names, ...kept } = release;
  return { ...kept, app, ...fields };
}

/** The release a rollback runs again: `to`, else the newest one before the current release. */
export function rollbackTarget(state: AppState, to: number | undefined): Release {
  const current = state.current;
  const target = to !== undefined
    ? state.releases.find((r) => r.version === to)
    : [...state.releases].filter((r) => current === undefined || r.version < current).sort((a, b) => b.version - a.version)[0];
  if (!target) {
    throw new PaasError('usage', to !== undefined ? `${state.app} has no release v${to}` : `${state.app} has no earlier release to roll back to`, {
      hint: 'see `paas releases` for the releases this host keeps',
    });
  }
  return target;
}

/** The spec that starts an earlier release again as a new release (Heroku's rollback). */
export function rollbackSpec(state: AppState, options: { to?: number; version: number; createdBy: string; keepReleases: number }): ReleaseSpec {
  const target = rollbackTarget(state, options.to);
  return specFromRelease(state.app, target, {
    version: options.version, createdBy: options.createdBy, keepReleases: options.keepReleases, description: `Rollback to v${target.version}`,
  });
}
