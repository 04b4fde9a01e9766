import { Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesDestroy extends ServiceCommand {
  static override summary = 'Remove a service, its container and its data (refused while an app is linked to it); its backups are kept unless --backups';
  static override examples = ['<%= config.bin %> services:destroy shop-db --confirm shop-db'];
  static override args = { name: serviceNameArg };
  static override flags = {
    ...hostFlags,
    confirm: Flags.string({ description: 'the service\'s name again: its data goes', required: true }),
    backups: Flags.boolean({ description: 'also remove its backups on the host (off-host copies stay where they are)' }),
  };

  async run(): Promise<{ host: string; service: string; removed: string[] }> {
    const { args, flags } = await this.parse(ServicesDestroy);
    const name = checkedServiceName(args.name);
    if (flags.confirm !== name) throw new PaasError('usage', `--confirm ${JSON.stringify(flags.confirm)} does not match the service ${name}; nothing was removed`, { hint: `run: paas services:destroy ${name} --confirm ${name}` });
    const { address, session } = await this.serviceHost(flags);
    const result = await session.agent.call('services-destroy', { name, backups: flags.backups });
    if (!this.jsonEnabled()) this.log(`Destroyed ${name} on ${address.label}: ${result.removed.join(', ')}`);
    return { host: address.label, ...result };
  }
}
