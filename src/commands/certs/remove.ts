import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';

export default class CertsRemove extends HostCommand {
  static override summary = 'Remove the app\'s certificate: back to plain HTTP';
  static override examples = ['<%= config.bin %> certs:remove --app shop'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; app: string; removed: string }[]> {
    const { flags } = await this.parse(CertsRemove);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, 'certs:remove',
      (session, token) => session.agent.call('certs-remove', { app, 'lock-token': token, by: whoAmI() }),
      (host, answer) => [`Removed the certificate ${answer.removed} of ${app} on ${host}: plain HTTP only`]);
  }
}
