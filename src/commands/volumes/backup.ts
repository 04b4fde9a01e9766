import { Args } from '@oclif/core';
import type { VerbResults } from '../../agent/protocol.js';
import { formatBytes } from '../../ui/format.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class VolumesBackup extends HostCommand {
  static override summary = 'Back a volume up now: a tar of its files, encrypted on the host (first host of the app)';
  static override description = 'Made from a throwaway container of the app\'s current image (which needs tar), the volume mounted read-only; encrypted with the host\'s backup key into /var/lib/paas/backups/volumes/APP/NAME/. Files the app writes meanwhile may or may not be in it: for a consistent copy of a database file, use a service instead.';
  static override examples = ['<%= config.bin %> volumes:backup data --app shop'];
  static override args = { name: Args.string({ description: 'the volume\'s name', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<VerbResults['volumes-backup'] & { host: string }> {
    const { args, flags } = await this.parse(VolumesBackup);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const [result] = await this.eachHost(hostAddresses(flags, config).slice(0, 1), flags, ({ agent }) => agent.call('volumes-backup', { app, name: args.name }),
      (host, backup) => [`${app} ${args.name} on ${host}: backup ${backup.id} (${formatBytes(backup.size)} encrypted)`]);
    return result!;
  }
}
