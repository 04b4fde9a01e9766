import { cronTaskArgs } from '../../ui/cron-command.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class CronRun extends HostCommand {
  static override summary = 'Run a scheduled task now, once, in a one-off container of the current release';
  static override description = 'It runs on the host that runs the app\'s tasks (the first of its hosts), whatever its schedule and concurrency policy. Its output is in `paas logs -p cron`.';
  static override examples = ['<%= config.bin %> cron:run report', '<%= config.bin %> cron:run 266fe726 --app shop'];
  static override args = cronTaskArgs;
  static override flags = hostFlags;

  async run(): Promise<({ app: string; task: string; container: string } & { host: string })[]> {
    const { args, flags } = await this.parse(CronRun);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const first = hostAddresses(flags, config).slice(0, 1);
    return this.eachHost(first, flags, ({ agent }) => agent.call('cron-run', { app, id: args.id }), (host, answer) => [`${answer.task} on ${host}: started ${answer.container} (paas logs -p cron)`]);
  }
}
