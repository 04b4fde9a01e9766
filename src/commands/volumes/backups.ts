import { Args } from '@oclif/core';
import type { VerbResults } from '../../agent/protocol.js';
import { formatBytes } from '../../ui/format.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class VolumesBackups extends HostCommand {
  static override summary = 'List a volume\'s backups (newest first) on the app\'s first host';
  static override examples = ['<%= config.bin %> volumes:backups data --app shop'];
  static override args = { name: Args.string({ description: 'the volume\'s name', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<VerbResults['volumes-backups'] & { host: string }> {
    const { args, flags } = await this.parse(VolumesBackups);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const [result] = await this.eachHost(hostAddresses(flags, config).slice(0, 1), flags, ({ agent }) => agent.call('volumes-backups', { app, name: args.name }),
      (host, list) => [`${app} ${args.name} on ${host}: ${list.backups.length} backup(s)`, ...list.backups.map((b) => `  ${b.id.padEnd(26)} ${b.createdAt.replace('T', ' ').slice(0, 19)}  ${formatBytes(b.size)}`)]);
    return result!;
  }
}
