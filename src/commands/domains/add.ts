import { Args } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { checkHostname } from '../../config/validators.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import { domainLines, type DomainsView } from './index.js';

/** The NAME argument of domains:add / domains:remove, refused before any host is reached. */
export function checkedDomain(name: string): string {
  const problem = checkHostname(name);
  if (problem) {
    throw new PaasError('usage', problem, {
      where: 'the NAME argument',
      hint: 'give a DNS name such as shop.example.com (lowercase letters, digits, dashes and dots; an optional leading *.)',
    });
  }
  return name;
}

export default class DomainsAdd extends HostCommand {
  static override summary = 'Route a host name to the app (no new release, no downtime)';
  static override description = 'nginx on each host answers NAME with the app at once: its site is rewritten, checked with `nginx -t` and reloaded. The name is kept on the host across deploys and rollbacks. A name another app of the host already has is refused. Point the name\'s DNS at the hosts yourself.';
  static override examples = ['<%= config.bin %> domains:add shop.example.com', '<%= config.bin %> domains:add "*.shop.example.com" --app shop'];
  static override args = { name: Args.string({ description: 'host name, e.g. shop.example.com or *.example.com', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string; added: boolean })[]> {
    const { args, flags } = await this.parse(DomainsAdd);
    const name = checkedDomain(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (DomainsView & { host: string; added: boolean })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const session = await this.open(address, flags);
      const token = await this.lockApp(session, app, `domains:add ${name}`, false);
      const view = await session.agent.call<DomainsView & { added: boolean }>('domains-add', ['--app', app, '--name', name, '--lock-token', token, '--by', whoAmI()]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) {
        this.log(view.added ? `Added ${name} to ${app} on ${address.label}` : `${app} already answers at ${name} on ${address.label}`);
        for (const line of domainLines(address.label, view).slice(1)) this.log(line);
      }
    }
    return result;
  }
}
