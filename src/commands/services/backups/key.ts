import { hostFlags } from '../../../ui/host-command.js';
import { ServiceCommand } from '../../../ui/service-command.js';

export default class ServicesBackupsKey extends ServiceCommand {
  static override summary = 'Print the host\'s backup key, to keep somewhere safe off the host';
  static override description = 'Backups (and their downloads and off-host copies) are encrypted with this key; the host keeps it wrapped by its own key. To restore a backup on another host, pass it there: PAAS_BACKUP_KEY=paasbk1-... paas services:restore NAME --from FILE.';
  static override examples = ['<%= config.bin %> services:backups:key > backup-key.txt'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; key: string }> {
    const { flags } = await this.parse(ServicesBackupsKey);
    const { address, session } = await this.serviceHost(flags);
    const { key } = await session.agent.call('services-backups-key', {});
    if (!this.jsonEnabled()) this.log(key);
    return { host: address.label, key };
  }
}
