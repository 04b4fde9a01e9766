import { Args, Flags } from '@oclif/core';
import type { BackupList } from '../../../agent/protocol.js';
import { parseRetention } from '../../../backup/retention.js';
import { parseSchedule } from '../../../release/cron.js';
import { checkedServiceName } from '../../../release/services.js';
import { hostFlags } from '../../../ui/host-command.js';
import { ServiceCommand, serviceNameArg } from '../../../ui/service-command.js';

export default class ServicesBackupsSchedule extends ServiceCommand {
  static override summary = 'Back a service up on a schedule (UTC), run by the host itself, keeping what --keep says';
  static override description = 'Five cron fields or @daily-style names, in UTC, as scheduled tasks take them. The host service starts each due backup (once, however many runs were missed while the host was down) and then removes the backups the retention does not keep: the newest of each of the last N days, ISO weeks and months (--keep daily=7,weekly=4,monthly=6,last=3); the newest backup is never removed. --off stops it.';
  static override examples = ['<%= config.bin %> services:backups:schedule shop-db "0 3 * * *" --keep daily=7,weekly=4', '<%= config.bin %> services:backups:schedule shop-db --off'];
  static override args = { name: serviceNameArg, schedule: Args.string({ description: 'when, e.g. "0 3 * * *" or @daily (UTC)' }) };
  static override flags = {
    ...hostFlags,
    keep: Flags.string({ description: 'retention: daily=N,weekly=N,monthly=N,last=N (default: keep every backup)' }),
    off: Flags.boolean({ description: 'stop backing it up on a schedule', exclusive: ['keep'] }),
  };

  async run(): Promise<BackupList & { host: string }> {
    const { args, flags } = await this.parse(ServicesBackupsSchedule);
    const name = checkedServiceName(args.name);
    // Checked here before any host is reached, and again by the host.
    if (args.schedule) parseSchedule(args.schedule, 'the schedule');
    if (flags.keep) parseRetention(flags.keep);
    const { address, session } = await this.serviceHost(flags);
    const list = await session.agent.call('services-backups-schedule', { name, ...(args.schedule ? { schedule: args.schedule } : {}), ...(flags.keep ? { keep: flags.keep } : {}), off: flags.off });
    if (!this.jsonEnabled()) this.log(list.schedule ? `${name}: backed up at "${list.schedule.schedule}" (UTC)${list.schedule.keepText ? `, keeping ${list.schedule.keepText}` : ', keeping every backup'}` : `${name}: no scheduled backups`);
    return { host: address.label, ...list };
  }
}
