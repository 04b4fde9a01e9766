import { Flags } from '@oclif/core';
import type { ConfigChange } from '../config/changes.js';
import { nextReleaseVersion } from '../deploy/index.js';
import { HostCommand, releaseHosts, hostFlags, whoAmI, type HostFlagValues } from './host-command.js';

export const configChangeFlags = {
  ...hostFlags,
  wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }),
};

export interface ConfigChangeResult {
  app: string;
  changed: string[];
  /** The new release, when the app runs on its hosts (none when nothing changed or it never ran). */
  release?: number;
  hosts: { host: string; changed: string[]; version?: number }[];
}

/**
 * config:set and config:unset: the app is locked on every host first, then each host in turn
 * applies the change and rolls out a new release of its current image (release phase included).
 * The values travel in the agent's stdin as JSON, never in argv.
 */
export abstract class ConfigChangeCommand extends HostCommand {
  protected async change(flags: HostFlagValues & { wait?: boolean }, change: ConfigChange, what: string): Promise<ConfigChangeResult> {
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const addresses = releaseHosts(flags, config);
    const locked = await this.lockEveryHost(addresses, flags, app, what, flags.wait ?? false);
    const version = nextReleaseVersion(locked.states);
    const results = await this.changeEveryHost(locked, addresses, (host) => `${what} on ${host}`, (agent, token, report) => agent.call('config-set', {
      app, version, by: whoAmI(), keep: config.keepReleases ?? 5, 'lock-token': token,
    }, { stdin: JSON.stringify(change), onEvent: (m) => report(m) }));
    const released = results.find((r) => r.release)?.release;
    const changed = [...new Set(results.flatMap((r) => r.changed))].sort();
    if (!this.jsonEnabled()) {
      if (changed.length === 0) this.log(`${app}: no config var changed`);
      else if (released) this.log(`${app} v${released.version} is live with ${changed.join(', ')} changed (${released.urls.join(', ')})`);
      else this.log(`${app}: ${changed.join(', ')} changed; the app has no release yet, the next deploy uses them`);
    }
    return {
      app, changed, ...(released ? { release: released.version } : {}),
      hosts: results.map((r, i) => ({ host: addresses[i]!.label, changed: r.changed, ...(r.release ? { version: r.release.version } : {}) })),
    };
  }
}
