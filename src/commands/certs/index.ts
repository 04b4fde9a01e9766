import type { CertView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { certLines } from '../../ui/views.js';

export default class Certs extends HostCommand {
  static override summary = 'Show the app\'s TLS certificate on each host';
  static override examples = ['<%= config.bin %> certs', '<%= config.bin %> certs --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(CertView & { host: string })[]> {
    const { flags } = await this.parse(Certs);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHost(hostAddresses(flags, config), flags, ({ agent }) => agent.call('certs', { app }), certLines);
  }
}
