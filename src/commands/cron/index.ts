import type { CronView } from '../../agent/protocol.js';
import { HostCommand, releaseHosts, hostFlags } from '../../ui/host-command.js';
import { cronLines } from '../../ui/views.js';

export default class Cron extends HostCommand {
  static override summary = 'List the app\'s scheduled tasks (app.json cron, paas.yml cron:) with their next run';
  static override description = 'Schedules are read in UTC. Only the first of the app\'s hosts runs its tasks; the others list them.';
  static override examples = ['<%= config.bin %> cron', '<%= config.bin %> cron --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(CronView & { host: string })[]> {
    const { flags } = await this.parse(Cron);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(releaseHosts(flags, config), flags, ({ agent }) => agent.call('cron', { app }), cronLines);
  }
}
