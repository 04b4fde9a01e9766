/*
 * A change of an app's config vars (config:set / config:unset), applied on each host to the vars
 * stored there. Pure: the values only ever exist in memory here.
 */

export interface ConfigChange {
  set: Record<string, string>;
  unset: string[];
}

/** The vars after the change, and the names whose value changed (set to a new value, or removed). */
export function applyChange(current: Record<string, string>, change: ConfigChange): { vars: Record<string, string>; changed: string[] } {
  const vars = new Map(Object.entries(current));
  const changed: string[] = [];
  for (const key of change.unset) {
    if (vars.delete(key)) changed.push(key);
  }
  for (const [key, value] of Object.entries(change.set)) {
    if (vars.get(key) !== value) changed.push(key);
    vars.set(key, value);
  }
  return { vars: Object.fromEntries([...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), changed: [...new Set(changed)].sort() };
}

/** The release description, as Heroku words it: "Set A, B config vars", "Unset C config var". */
export function changeDescription(change: ConfigChange): string {
  const parts: string[] = [];
  const set = Object.keys(change.set);
  if (set.length) parts.push(`Set ${set.join(', ')} config var${set.length === 1 ? '' : 's'}`);
  if (change.unset.length) parts.push(`Unset ${change.unset.join(', ')} config var${change.unset.length === 1 ? '' : 's'}`);
  return parts.join('; ');
}

/** Refuses a change that did not come from parseAssignments/parseKeys (the agent checks what it is sent). */
export function isConfigChange(value: unknown): value is ConfigChange {
  if (typeof value !== 'object' || value === null) return false;
  const { set, unset } = value as Partial<ConfigChange>;
  return typeof set === 'object' && set !== null && !Array.isArray(set) && Object.values(set).every((v) => typeof v === 'string')
    && Array.isArray(unset) && unset.every((k) => typeof k === 'string');
}

/**
 * The environment of a release's containers: paas.yml `env:` (in the release record), then the
 * config vars, which win on a name both define.
 */
export function releaseEnv(env: Record<string, string>, config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(new Map([...Object.entries(env), ...Object.entries(config)]));
}
