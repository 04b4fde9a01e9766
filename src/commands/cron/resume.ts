import type { CronView } from '../../agent/protocol.js';
import { CronSwitchCommand, cronTaskArgs } from '../../ui/cron-command.js';
import { hostFlags } from '../../ui/host-command.js';

export default class CronResume extends CronSwitchCommand {
  static override summary = 'Run a suspended scheduled task on its schedule again';
  static override examples = ['<%= config.bin %> cron:resume report'];
  static override args = cronTaskArgs;
  static override flags = hostFlags;

  async run(): Promise<(CronView & { host: string })[]> {
    const { args, flags } = await this.parse(CronResume);
    return this.switchTask('cron-resume', args.id, flags);
  }
}
