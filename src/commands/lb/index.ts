import type { LbView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { lbLines } from '../../ui/views.js';

export default class Lb extends HostCommand {
  static override summary = 'Show how nginx spreads the app\'s requests over its web replicas';
  static override examples = ['<%= config.bin %> lb', '<%= config.bin %> lb --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(LbView & { host: string })[]> {
    const { flags } = await this.parse(Lb);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(hostAddresses(flags, config), flags, ({ agent }) => agent.call('lb', { app }), lbLines);
  }
}
