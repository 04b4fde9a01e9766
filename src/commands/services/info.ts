import { Flags } from '@oclif/core';
import type { ServiceView } from '../../agent/protocol.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { ServiceCommand, serviceInfoLines, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesInfo extends ServiceCommand {
  static override summary = 'Show a service: kind, version, state, its URL (password masked), data volume and links';
  static override examples = ['<%= config.bin %> services:info shop-db', '<%= config.bin %> services:info shop-db --reveal --json'];
  static override args = { name: serviceNameArg };
  static override flags = { ...hostFlags, reveal: Flags.boolean({ description: 'show the URL with its password' }) };

  async run(): Promise<ServiceView & { url: string; host: string }> {
    const { args, flags } = await this.parse(ServicesInfo);
    const { address, session } = await this.serviceHost(flags);
    const info = await session.agent.call('services-info', { name: checkedServiceName(args.name), reveal: flags.reveal });
    if (!this.jsonEnabled()) for (const line of serviceInfoLines(address.label, info)) this.log(line);
    return { host: address.label, ...info };
  }
}
