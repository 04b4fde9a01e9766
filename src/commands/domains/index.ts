import type { DomainsView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { domainLines } from '../../ui/views.js';

export default class Domains extends HostCommand {
  static override summary = 'List the host names an app answers to on each host';
  static override description = 'The default name <app>.<base domain>, the domains of paas.yml (domains:, set at deploy) and the ones added with domains:add, and whether a certificate serves each over HTTPS.';
  static override examples = ['<%= config.bin %> domains', '<%= config.bin %> domains --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string })[]> {
    const { flags } = await this.parse(Domains);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(hostAddresses(flags, config), flags, ({ agent }) => agent.call('domains', { app }), domainLines);
  }
}
