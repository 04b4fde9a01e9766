import type { CronView } from '../../agent/protocol.js';
import { CronSwitchCommand, cronTaskArgs } from '../../ui/cron-command.js';
import { hostFlags } from '../../ui/host-command.js';

export default class CronSuspend extends CronSwitchCommand {
  static override summary = 'Stop running a scheduled task on its schedule, until cron:resume (kept across deploys)';
  static override examples = ['<%= config.bin %> cron:suspend report'];
  static override args = cronTaskArgs;
  static override flags = hostFlags;

  async run(): Promise<(CronView & { host: string })[]> {
    const { args, flags } = await this.parse(CronSuspend);
    return this.switchTask('cron-suspend', args.id, flags);
  }
}
