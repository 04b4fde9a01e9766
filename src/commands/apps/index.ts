import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

interface AppSummary { app: string; current?: number; image?: string; urls: string[] }

export default class Apps extends HostCommand {
  static override summary = 'List the apps on a host';
  static override examples = ['<%= config.bin %> apps --host ssh://root@203.0.113.10', '<%= config.bin %> apps --json'];
  static override flags = { host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'] };

  async run(): Promise<{ host: string; apps: AppSummary[] }[]> {
    const { flags } = await this.parse(Apps);
    const result: { host: string; apps: AppSummary[] }[] = [];
    for (const address of hostAddresses(flags, await this.configOf('.'))) {
      const { agent } = await this.open(address, flags);
      const apps = await agent.call<AppSummary[]>('apps');
      result.push({ host: address.label, apps });
      if (!this.jsonEnabled()) {
        this.log(`${address.label}:${apps.length ? '' : ' no apps'}`);
        for (const a of apps) this.log(`  ${a.app.padEnd(24)} ${a.current ? `v${a.current}` : '-'}  ${a.urls[0] ?? ''}`);
      }
    }
    return result;
  }
}
