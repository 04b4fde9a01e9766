import type { ServiceView } from '../../agent/protocol.js';
import { hostFlags } from '../../ui/host-command.js';
import { ServiceCommand, serviceLines } from '../../ui/service-command.js';

export default class Services extends ServiceCommand {
  static override summary = 'List the backing services (Postgres, Redis) of the host, their state and the apps linked to them';
  static override examples = ['<%= config.bin %> services', '<%= config.bin %> services --json'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; services: ServiceView[] }> {
    const { flags } = await this.parse(Services);
    const { address, session } = await this.serviceHost(flags);
    const services = await session.agent.call('services', {});
    if (!this.jsonEnabled()) for (const line of serviceLines(address.label, services)) this.log(line);
    return { host: address.label, services };
  }
}
