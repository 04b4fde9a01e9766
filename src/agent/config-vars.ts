/**
 * An app's config vars on this host. Values come in on stdin (never argv) and leave only in the
 * answer of `config-show --reveal`; events and errors name variables, never their values.
 */
import { applyChange, changeDescription, isConfigChange, type ConfigChange } from '../config/changes.js';
import { maskValue, parseAssignments, parseKeys } from '../config/vars.js';
import { PaasError } from '../errors.js';
import type { ReleaseSpec } from '../release/types.js';
import { parseJsonRequest } from './args.js';
import { readAppConfig, writeAppConfig } from './config-store.js';
import type { ConfigSetResult, ConfigShowResult, Emit } from './protocol.js';
import { currentRelease, specFromRelease } from './releases.js';
import { readRolloutInputs, rolloutLocked } from './rollout.js';

export async function showConfig(app: string, keys: string[], reveal: boolean): Promise<ConfigShowResult> {
  const stored = await readAppConfig(app);
  const chosen = keys.length ? Object.fromEntries(Object.entries(stored).filter(([k]) => keys.includes(k))) : stored;
  const vars = Object.fromEntries(Object.entries(chosen).map(([k, v]) => [k, reveal ? v : maskValue(v)]));
  return { app, vars, masked: !reveal, missing: keys.filter((k) => !Object.hasOwn(stored, k)) };
}

/** The change on stdin, checked as the CLI checks it (a hand-made request gets the same refusals). */
export function readChange(text: string): ConfigChange {
  const value = parseJsonRequest(text, 'the config change on stdin');
  if (!isConfigChange(value)) throw new PaasError('usage', 'the config change on stdin is not {set: {KEY: value}, unset: [KEY]}');
  const set = Object.keys(value.set).length ? parseAssignments(Object.entries(value.set).map(([k, v]) => `${k}=${v}`)) : {};
  const unset = value.unset.length ? parseKeys(value.unset) : [];
  if (Object.keys(set).length + unset.length === 0) throw new PaasError('usage', 'the config change is empty');
  return { set, unset };
}

/**
 * config:set / config:unset on this host (the caller holds the app's lock): the change applied to
 * the stored vars, and when the app runs, a new release of the current release's image with them
 * (release phase included), through the same rollout as a deploy. Nothing is stored if that
 * rollout fails.
 */
export async function changeConfig(app: string, change: ConfigChange, fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases'>, emit: Emit): Promise<ConfigSetResult> {
  const { vars, changed } = applyChange(await readAppConfig(app), change);
  if (changed.length === 0) {
    emit('no config var changed: no new release', 'config');
    return { app, changed };
  }
  // On a cluster manager standing in for the one that kept the releases: the cluster's history.
  const { readStateOrHistory } = await import('./swarm.js');
  const current = currentRelease(await readStateOrHistory(app));
  if (!current) {
    await writeAppConfig(app, vars);
    emit(`${app} has no release yet: the next deploy uses the new config`, 'config');
    return { app, changed };
  }
  const spec = specFromRelease(app, current, {
    ...fields,
    description: changeDescription({ set: Object.fromEntries(Object.keys(change.set).map((k) => [k, ''])), unset: change.unset }),
  });
  if (current.engine === 'swarm') {
    const { swarmRelease } = await import('./swarm.js');
    return { app, changed, release: await swarmRelease(spec, emit, vars) };
  }
  const options = { config: vars, releasePhase: true };
  return { app, changed, release: await rolloutLocked(spec, emit, readRolloutInputs(app, options), [], options) };
}
