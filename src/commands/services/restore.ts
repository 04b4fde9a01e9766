import { Args, Flags } from '@oclif/core';
import type { VerbResults } from '../../agent/protocol.js';
import { uploadStream } from '../../host/backups.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesRestore extends ServiceCommand {
  static override summary = 'Restore a backup into a service (the newest by default); it must decrypt and verify before any data changes';
  static override description = 'Postgres: pg_restore --clean in one transaction. Redis: the service stops, its data is replaced by the snapshot, and it starts again. --to restores into another service of the same kind (destroy, create and restore works: backups outlive services). --from restores a file from services:backups --download; on another host, give the key it was made with in PAAS_BACKUP_KEY (see services:backups:key).';
  static override examples = [
    '<%= config.bin %> services:restore shop-db',
    '<%= config.bin %> services:restore shop-db 20261201t030000z-1a2b3c --to shop-db-copy',
    'PAAS_BACKUP_KEY=paasbk1-... <%= config.bin %> services:restore shop-db --from shop-db.backup',
  ];
  static override args = { name: serviceNameArg, backup: Args.string({ description: 'the backup\'s id (default: the newest)' }) };
  static override flags = {
    ...hostFlags,
    to: Flags.string({ description: 'restore into this service instead (same kind)' }),
    from: Flags.string({ description: 'restore this file (from services:backups --download) instead of a backup on the host', exclusive: ['to', 'from-target'] }),
    'from-target': Flags.string({ description: 'restore from the off-host copies (services:backups:target): ssh or s3', options: ['ssh', 's3'] }),
  };

  async run(): Promise<VerbResults['services-restore'] & { host: string }> {
    const { args, flags } = await this.parse(ServicesRestore);
    const name = checkedServiceName(args.name);
    const to = flags.to ? checkedServiceName(flags.to) : undefined;
    const { address, session } = await this.serviceHost(flags);
    let result: VerbResults['services-restore'] | undefined;
    await runSteps<object>([{
      title: `restore ${flags.from ?? args.backup ?? `the newest backup of ${name}`}${flags['from-target'] ? ` from the ${flags['from-target']} target` : ''} into ${to ?? name} on ${address.label}`,
      run: async (_c, report) => {
        result = flags.from
          ? await session.agent.call('services-restore', { name, upload: true }, { stdin: uploadStream(flags.from, process.env.PAAS_BACKUP_KEY), onEvent: (m) => report(m) })
          : await session.agent.call('services-restore', {
            name, ...(args.backup ? { backup: args.backup } : {}), ...(to ? { to } : {}), ...(flags['from-target'] ? { 'from-target': flags['from-target'] } : {}),
          }, { onEvent: (m) => report(m) });
      },
    }], {}, { json: this.jsonEnabled() });
    if (!this.jsonEnabled()) this.log(`restored backup ${result!.backup} of ${result!.service} into ${result!.into}`);
    return { host: address.label, ...result! };
  }
}
