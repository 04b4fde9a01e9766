import { Args } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import { checkedDomain } from './add.js';
import { domainLines, type DomainsView } from './index.js';

export default class DomainsRemove extends HostCommand {
  static override summary = 'Stop routing a host name added with domains:add';
  static override description = 'nginx stops answering NAME for the app at once (checked with `nginx -t`, then reloaded). Names from paas.yml go away by removing them there and deploying.';
  static override examples = ['<%= config.bin %> domains:remove shop.example.com'];
  static override args = { name: Args.string({ description: 'host name to remove', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string })[]> {
    const { args, flags } = await this.parse(DomainsRemove);
    const name = checkedDomain(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (DomainsView & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const session = await this.open(address, flags);
      const token = await this.lockApp(session, app, `domains:remove ${name}`, false);
      const view = await session.agent.call<DomainsView>('domains-remove', ['--app', app, '--name', name, '--lock-token', token, '--by', whoAmI()]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) {
        this.log(`Removed ${name} from ${app} on ${address.label}`);
        for (const line of domainLines(address.label, view).slice(1)) this.log(line);
      }
    }
    return result;
  }
}
