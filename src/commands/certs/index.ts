import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export interface CertView {
  app: string;
  certificate: null | {
    fingerprint: string; names: string[]; notAfter: string; selfSigned: boolean; redirect: boolean; addedAt: string;
    /** The app's names it serves over HTTPS. */
    serves: string[];
  };
}

export function certLines(host: string, view: CertView): string[] {
  const c = view.certificate;
  if (!c) return [`${view.app} on ${host}: no certificate (plain HTTP)`];
  return [
    `${view.app} on ${host}:`,
    `  certificate  ${c.names.join(', ')}${c.selfSigned ? ' (self-signed)' : ''}`,
    `  expires      ${c.notAfter}`,
    `  fingerprint  ${c.fingerprint}`,
    `  https for    ${c.serves.join(', ') || 'none of the app\'s names'}`,
    `  http         ${c.redirect ? 'redirects to https (308)' : 'served as well (no redirect)'}`,
  ];
}

export default class Certs extends HostCommand {
  static override summary = 'Show the app\'s TLS certificate on each host';
  static override examples = ['<%= config.bin %> certs', '<%= config.bin %> certs --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(CertView & { host: string })[]> {
    const { flags } = await this.parse(Certs);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (CertView & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const { agent } = await this.open(address, flags);
      const view = await agent.call<CertView>('certs', ['--app', app]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) for (const line of certLines(address.label, view)) this.log(line);
    }
    return result;
  }
}
