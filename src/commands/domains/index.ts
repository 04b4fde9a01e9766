import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export interface DomainsView {
  app: string;
  released: boolean;
  domains: { name: string; source: 'default' | 'paas.yml' | 'domains:add'; https: boolean }[];
}

/** Prints one host's answer of a domains verb. */
export function domainLines(host: string, view: DomainsView): string[] {
  return [
    `${view.app} on ${host}:${view.released ? '' : ' (not deployed yet: the names take effect at its first deploy)'}`,
    ...view.domains.map((d) => `  ${d.name.padEnd(40)} ${d.source.padEnd(12)} ${d.https ? 'https' : 'http'}`),
  ];
}

export default class Domains extends HostCommand {
  static override summary = 'List the host names an app answers to on each host';
  static override description = 'The default name <app>.<base domain>, the domains of paas.yml (domains:, set at deploy) and the ones added with domains:add, and whether a certificate serves each over HTTPS.';
  static override examples = ['<%= config.bin %> domains', '<%= config.bin %> domains --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(DomainsView & { host: string })[]> {
    const { flags } = await this.parse(Domains);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (DomainsView & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const { agent } = await this.open(address, flags);
      const view = await agent.call<DomainsView>('domains', ['--app', app]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) for (const line of domainLines(address.label, view)) this.log(line);
    }
    return result;
  }
}
