import type { PsResult } from '../../agent/protocol.js';
import { HostCommand, releaseHosts, hostFlags } from '../../ui/host-command.js';
import { psLines } from '../../ui/views.js';

export default class Ps extends HostCommand {
  static override summary = 'List the app\'s processes on each host: state, release, uptime, CPU, memory';
  static override description = 'One line per container of the app on each host: process (web.1, worker.1), Docker state, release (old ones still draining are marked), uptime, CPU % and memory in use (one `docker stats --no-stream` sample) with the memory limit, and the CPU limit (paas.yml processes.<type>.memory / cpus).';
  static override examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(PsResult & { host: string })[]> {
    const { flags } = await this.parse(Ps);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(releaseHosts(flags, config), flags, ({ agent }) => agent.call('ps', { app }), psLines);
  }
}
