import { Args, Flags } from '@oclif/core';
import { PaasError } from '../errors.js';
import { HostCommand, releaseHosts, hostFlags, whoAmI } from '../ui/host-command.js';
import { nextReleaseVersion } from '../deploy/index.js';

export default class Rollback extends HostCommand {
  static override summary = 'Run an earlier release again, without rebuilding';
  static override description = 'Starts the image and settings of VERSION (default: the release before the current one) as a new release, with the same zero-downtime rollout as a deploy. The hosts keep the images of the newest releases (keep_releases, default 5).';
  static override examples = ['<%= config.bin %> rollback', '<%= config.bin %> rollback v3', '<%= config.bin %> rollback 3 --app shop --json'];
  static override args = { version: Args.string({ description: 'release to run again (v3 or 3)' }) };
  static override flags = { ...hostFlags, wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }) };

  async run(): Promise<{ app: string; release: number; rolledBackTo?: number; hosts: { host: string; version: number }[] }> {
    const { args, flags } = await this.parse(Rollback);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    let to: number | undefined;
    if (args.version !== undefined) {
      const match = /^v?(\d+)$/.exec(args.version);
      if (!match) throw new PaasError('usage', `${JSON.stringify(args.version)} is not a release number`, { hint: 'write it as v3 or 3' });
      to = Number(match[1]);
    }
    const addresses = releaseHosts(flags, config);
    const locked = await this.lockEveryHost(addresses, flags, app, `rollback${to !== undefined ? ` to v${to}` : ''}`, flags.wait);
    const { states } = locked;
    const version = nextReleaseVersion(states);
    const results = await this.changeEveryHost(locked, addresses, (host) => `Roll back ${app} on ${host}`, (agent, token, report) => agent.call('rollback', {
      app, version, by: whoAmI(), keep: config.keepReleases ?? 5, 'lock-token': token, ...(to !== undefined ? { to } : {}),
    }, { onEvent: (m) => report(m) }));
    const first = results[0]!;
    const rolledBackTo = to ?? (states[0]?.releases.find((r) => r.image === first.image && r.version !== first.version)?.version);
    if (!this.jsonEnabled()) this.log(`${app} v${first.version} is live: ${rolledBackTo ? `the code of v${rolledBackTo}` : first.image} (${first.urls.join(', ')})`);
    return { app, release: first.version, ...(rolledBackTo !== undefined ? { rolledBackTo } : {}), hosts: results.map((r, i) => ({ host: addresses[i]!.label, version: r.version })) };
  }
}
