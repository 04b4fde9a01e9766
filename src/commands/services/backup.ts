import { Flags } from '@oclif/core';
import type { VerbResults } from '../../agent/protocol.js';
import { downloadBackup } from '../../host/backups.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';
import { formatBytes } from '../../ui/format.js';

export default class ServicesBackup extends ServiceCommand {
  static override summary = 'Back a service up now: a consistent dump (pg_dump, Redis RDB), encrypted on the host';
  static override description = 'The dump is encrypted with the host\'s backup key (AES-256-GCM; the key is kept wrapped by the host key, see `paas services:backups:key`) into /var/lib/paas/backups/NAME/, which outlives the service. A backup that fails says why and leaves the older ones as they are. --download also brings the encrypted file here.';
  static override examples = ['<%= config.bin %> services:backup shop-db', '<%= config.bin %> services:backup shop-db --download shop-db.backup'];
  static override args = { name: serviceNameArg };
  static override flags = { ...hostFlags, download: Flags.string({ description: 'also save the (encrypted) backup to this file' }) };

  async run(): Promise<VerbResults['services-backup'] & { host: string; downloaded?: string }> {
    const { args, flags } = await this.parse(ServicesBackup);
    const name = checkedServiceName(args.name);
    const { address, session } = await this.serviceHost(flags);
    let backup: VerbResults['services-backup'] | undefined;
    await runSteps<object>([
      { title: `back up ${name} on ${address.label}`, run: async (_c, report) => { backup = await session.agent.call('services-backup', { name }, { onEvent: (m) => report(m) }); } },
      ...(flags.download ? [{ title: `download to ${flags.download}`, run: async () => { await downloadBackup(session.agent, name, backup!.id, flags.download!); } }] : []),
    ], {}, { json: this.jsonEnabled() });
    if (!this.jsonEnabled()) this.log(`${name}: backup ${backup!.id} (${formatBytes(backup!.size)} encrypted)${flags.download ? `, saved to ${flags.download}` : ''}`);
    return { host: address.label, ...backup!, ...(flags.download ? { downloaded: flags.download } : {}) };
  }
}
