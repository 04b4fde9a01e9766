import type { VolumesView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { volumeLines } from '../../ui/views.js';

export default class Volumes extends HostCommand {
  static override summary = 'List the app\'s volumes: where each is mounted, by which processes, and whether its data exists';
  static override description = 'Volumes come from paas.yml `volumes:` (with each deploy) and from `paas volumes:add` (kept on the host). Each is a Docker volume named paas-APP.NAME; its data outlives deploys, restarts, rollbacks and apps:destroy (unless --volumes).';
  static override examples = ['<%= config.bin %> volumes', '<%= config.bin %> volumes --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(VolumesView & { host: string })[]> {
    const { flags } = await this.parse(Volumes);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(hostAddresses(flags, config), flags, ({ agent }) => agent.call('volumes', { app }), volumeLines);
  }
}
