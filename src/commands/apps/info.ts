import type { AppInfo } from '../../agent/protocol.js';
import { appInfoLines } from '../../ui/views.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
export default class AppsInfo extends HostCommand {
  static override summary = 'Show an app\'s current release, containers and URLs on each host';
  static override examples = ['<%= config.bin %> apps:info', '<%= config.bin %> apps:info --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(AppInfo & { host: string })[]> {
    const { flags } = await this.parse(AppsInfo);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(hostAddresses(flags, config), flags, ({ agent }) => agent.call('app-info', { app }), appInfoLines);
  }
}
