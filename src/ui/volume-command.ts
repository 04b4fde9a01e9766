import { Flags } from '@oclif/core';
import type { VolumesChangeResult } from '../agent/protocol.js';
import { nextReleaseVersion } from '../deploy/index.js';
import type { HostAgent } from '../host/agent.js';
import { HostCommand, hostAddresses, hostFlags, type HostFlagValues } from './host-command.js';
import { volumeLines } from './views.js';

export const volumeChangeFlags = {
  ...hostFlags,
  wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }),
};

/**
 * volumes:add and volumes:remove: the app is locked on every host first, then each host in turn
 * records the change and rolls out a new release of its current image with it (zero downtime).
 */
export abstract class VolumeChangeCommand extends HostCommand {
  protected async changeVolumes(flags: HostFlagValues & { wait?: boolean }, what: string,
    call: (agent: HostAgent, fields: { app: string; version: number; keep: number; 'lock-token': string }, report: (line: string) => void) => Promise<VolumesChangeResult>): Promise<(VolumesChangeResult & { host: string })[]> {
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const addresses = hostAddresses(flags, config);
    const locked = await this.lockEveryHost(addresses, flags, app, what, flags.wait ?? false);
    const version = nextReleaseVersion(locked.states);
    const results = await this.changeEveryHost(locked, addresses, (host) => `${what} on ${host}`,
      (agent, token, report) => call(agent, { app, version, keep: config.keepReleases ?? 5, 'lock-token': token }, report));
    if (!this.jsonEnabled()) {
      results.forEach((result, index) => {
        for (const line of volumeLines(addresses[index]!.label, result)) this.log(line);
        if (result.release) this.log(`  v${result.release.version} is live (${result.release.urls.join(', ')})`);
      });
    }
    return results.map((result, index) => ({ host: addresses[index]!.label, ...result }));
  }
}
