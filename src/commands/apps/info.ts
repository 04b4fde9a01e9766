import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import type { Release } from '../../release/types.js';

interface AppInfo {
  app: string;
  current?: number;
  release?: Release;
  releases: number;
  containers: { name: string; status: string; ports: string }[];
  urls: string[];
}

export default class AppsInfo extends HostCommand {
  static override summary = 'Show an app\'s current release, containers and URLs on each host';
  static override examples = ['<%= config.bin %> apps:info', '<%= config.bin %> apps:info --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(AppInfo & { host: string })[]> {
    const { flags } = await this.parse(AppsInfo);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (AppInfo & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const { agent } = await this.open(address, flags);
      const info = await agent.call<AppInfo>('app-info', ['--app', app]);
      result.push({ host: address.label, ...info });
      if (!this.jsonEnabled()) {
        this.log(`${app} on ${address.label}: ${info.current ? `v${info.current} (${info.release?.image})` : 'no release'}`);
        for (const url of info.urls) this.log(`  ${url}`);
        for (const c of info.containers) this.log(`  ${c.name.padEnd(36)} ${c.status.padEnd(24)} ${c.ports}`);
      }
    }
    return result;
  }
}
