import { Args } from '@oclif/core';
import type { VerbResults } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';

export default class VolumesRestore extends HostCommand {
  static override summary = 'Restore a volume from a backup (the newest by default), then restart the app\'s processes';
  static override description = 'Under the app\'s lock, on its first host: the backup must decrypt and verify in full before the volume is touched; then the volume is emptied, the backup unpacked into it, and the processes restarted (ps:restart: web rolls with zero downtime).';
  static override examples = ['<%= config.bin %> volumes:restore data --app shop', '<%= config.bin %> volumes:restore data 20261201t030000z-1a2b3c'];
  static override args = { name: Args.string({ description: 'the volume\'s name', required: true }), backup: Args.string({ description: 'the backup\'s id (default: the newest)' }) };
  static override flags = hostFlags;

  async run(): Promise<VerbResults['volumes-restore'] & { host: string }> {
    const { args, flags } = await this.parse(VolumesRestore);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const [result] = await this.eachHostLocked(hostAddresses(flags, config).slice(0, 1), flags, app, `volumes:restore ${args.name}`,
      ({ agent }, token) => agent.call('volumes-restore', { app, name: args.name, ...(args.backup ? { backup: args.backup } : {}), by: whoAmI(), 'lock-token': token }),
      (host, done) => [`${app} ${args.name} on ${host}: restored backup ${done.backup}${done.restart ? `; restarted ${done.restart.types.join(', ')}` : ''}`]);
    return result!;
  }
}
