import { Args } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import type { DomainsView } from '../../agent/protocol.js';
import { checkedDomain } from '../../ui/arguments.js';
import { domainLines } from '../../ui/views.js';

export default class DomainsAdd extends HostCommand {
  static override summary = 'Route a host name to the app (no new release, no downtime)';
  static override description = 'nginx on each host answers NAME with the app at once, without a reload (the host\'s sites table changes, not nginx\'s configuration). The name is kept on the host across deploys and rollbacks. A name another app of the host already has is refused. Point the name\'s DNS at the hosts yourself.';
  static override examples = ['<%= config.bin %> domains:add shop.example.com', '<%= config.bin %> domains:add "*.shop.example.com" --app shop'];
  static override args = { name: Args.string({ description: 'host name, e.g. shop.example.com or *.example.com', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string; added: boolean })[]> {
    const { args, flags } = await this.parse(DomainsAdd);
    const name = checkedDomain(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, `domains:add ${name}`,
      (session, token) => session.agent.call('domains-add', { app, name, 'lock-token': token, by: whoAmI() }),
      (host, view) => [view.added ? `Added ${name} to ${app} on ${host}` : `${app} already answers at ${name} on ${host}`, ...domainLines(host, view).slice(1)]);
  }
}
