import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';

export default class CertsRemove extends HostCommand {
  static override summary = 'Remove the app\'s certificate: back to plain HTTP';
  static override examples = ['<%= config.bin %> certs:remove --app shop'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; app: string; removed: string }[]> {
    const { flags } = await this.parse(CertsRemove);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: { host: string; app: string; removed: string }[] = [];
    for (const address of hostAddresses(flags, config)) {
      const session = await this.open(address, flags);
      const token = await this.lockApp(session, app, 'certs:remove', false);
      const answer = await session.agent.call<{ app: string; removed: string }>('certs-remove', ['--app', app, '--lock-token', token, '--by', whoAmI()]);
      result.push({ host: address.label, ...answer });
      if (!this.jsonEnabled()) this.log(`Removed the certificate ${answer.removed} of ${app} on ${address.label}: plain HTTP only`);
    }
    return result;
  }
}
