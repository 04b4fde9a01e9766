import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export interface LbView {
  app: string;
  balance: string;
  source: 'lb:set' | 'paas.yml';
  weights?: Record<string, number>;
  replicas: { replica: string; port: number; weight?: number }[];
}

export function lbLines(host: string, view: LbView): string[] {
  return [
    `${view.app} on ${host}: ${view.balance} (from ${view.source})`,
    ...view.replicas.map((r) => `  ${r.replica.padEnd(8)} 127.0.0.1:${r.port}${r.weight !== undefined ? `  weight ${r.weight}` : ''}`),
  ];
}

export default class Lb extends HostCommand {
  static override summary = 'Show how nginx spreads the app\'s requests over its web replicas';
  static override examples = ['<%= config.bin %> lb', '<%= config.bin %> lb --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(LbView & { host: string })[]> {
    const { flags } = await this.parse(Lb);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (LbView & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const { agent } = await this.open(address, flags);
      const view = await agent.call<LbView>('lb', ['--app', app]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) for (const line of lbLines(address.label, view)) this.log(line);
    }
    return result;
  }
}
