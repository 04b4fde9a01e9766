import { Args } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import { checkedDomain } from '../../ui/arguments.js';
import type { DomainsView } from '../../agent/protocol.js';
import { domainLines } from '../../ui/views.js';

export default class DomainsRemove extends HostCommand {
  static override summary = 'Stop routing a host name added with domains:add';
  static override description = 'nginx stops answering NAME for the app at once, without a reload. Names from paas.yml go away by removing them there and deploying.';
  static override examples = ['<%= config.bin %> domains:remove shop.example.com'];
  static override args = { name: Args.string({ description: 'host name to remove', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string })[]> {
    const { args, flags } = await this.parse(DomainsRemove);
    const name = checkedDomain(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, `domains:remove ${name}`,
      (session, token) => session.agent.call('domains-remove', { app, name, 'lock-token': token, by: whoAmI() }),
      (host, view) => [`Removed ${name} from ${app} on ${host}`, ...domainLines(host, view).slice(1)]);
  }
}
