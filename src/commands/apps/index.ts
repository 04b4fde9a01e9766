import type { AppSummary } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { appListLines } from '../../ui/views.js';

export default class Apps extends HostCommand {
  static override summary = 'List the apps on a host';
  static override examples = ['<%= config.bin %> apps --host ssh://root@203.0.113.10', '<%= config.bin %> apps --json'];
  static override flags = { host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'] };

  async run(): Promise<{ host: string; apps: AppSummary[] }[]> {
    const { flags } = await this.parse(Apps);
    return this.eachHost(hostAddresses(flags, await this.configOf('.')), flags, async ({ agent }) => ({ apps: await agent.call('apps', {}) }), (host, { apps }) => appListLines(host, apps));
  }
}
