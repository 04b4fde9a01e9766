import { Flags } from '@oclif/core';
import type { BackupList } from '../../../agent/protocol.js';
import { PaasError } from '../../../errors.js';
import { downloadBackup } from '../../../host/backups.js';
import { checkedServiceName } from '../../../release/services.js';
import { formatBytes } from '../../../ui/format.js';
import { hostFlags } from '../../../ui/host-command.js';
import { ServiceCommand, serviceNameArg } from '../../../ui/service-command.js';

export default class ServicesBackups extends ServiceCommand {
  static override summary = 'List a service\'s backups on the host (newest first), with size and time; --download one';
  static override description = 'Backups outlive the service: they are listed after services:destroy too, so that destroy, create and restore works.';
  static override examples = ['<%= config.bin %> services:backups shop-db', '<%= config.bin %> services:backups shop-db --download latest.backup', '<%= config.bin %> services:backups shop-db --download b.backup --backup 20261201t030000z-1a2b3c'];
  static override args = { name: serviceNameArg };
  static override flags = {
    ...hostFlags,
    download: Flags.string({ description: 'save a backup (the newest, or --backup) to this file, encrypted as it is' }),
    backup: Flags.string({ description: 'the backup to download (default: the newest)', dependsOn: ['download'] }),
  };

  async run(): Promise<BackupList & { host: string; downloaded?: string }> {
    const { args, flags } = await this.parse(ServicesBackups);
    const name = checkedServiceName(args.name);
    const { address, session } = await this.serviceHost(flags);
    const list = await session.agent.call('services-backups', { name });
    if (flags.download) {
      const chosen = flags.backup ? list.backups.find((b) => b.id === flags.backup) : list.backups[0];
      if (!chosen) throw new PaasError('usage', flags.backup ? `${name} has no backup ${flags.backup}` : `${name} has no backups`, { hint: `paas services:backup ${name} makes one` });
      const size = await downloadBackup(session.agent, name, chosen.id, flags.download);
      if (!this.jsonEnabled()) this.log(`saved backup ${chosen.id} of ${name} (${formatBytes(size)}, encrypted) to ${flags.download}`);
      return { host: address.label, ...list, downloaded: flags.download };
    }
    if (!this.jsonEnabled()) {
      this.log(`${name} on ${address.label}: ${list.backups.length} backup(s)${list.exists ? '' : ' (the service is gone; restore into a new one with --to)'}${list.schedule ? `, scheduled ${list.schedule.schedule}${list.schedule.keepText ? ` keeping ${list.schedule.keepText}` : ''}` : ''}`);
      for (const b of list.backups) this.log(`  ${b.id.padEnd(26)} ${b.createdAt.replace('T', ' ').slice(0, 19)}  ${`${b.kind} ${b.sourceVersion}`.padEnd(12)} ${formatBytes(b.size)}`);
      for (const line of list.unreadable) this.log(`  not a readable backup: ${line}`);
    }
    return { host: address.label, ...list };
  }
}
