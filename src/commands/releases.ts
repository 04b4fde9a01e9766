import { HostCommand, releaseHosts, hostFlags } from '../ui/host-command.js';
import type { Release } from '../release/types.js';
import { volumeText } from '../release/volumes.js';

export default class Releases extends HostCommand {
  static override summary = 'List the app\'s releases';
  static override description = 'Number, image, when, who, what, status and volumes of each release the app\'s first host keeps (every host of an app records the same numbers).';
  static override examples = ['<%= config.bin %> releases', '<%= config.bin %> releases --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<{ app: string; current?: number; releases: Release[] }> {
    const { flags } = await this.parse(Releases);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const [address] = releaseHosts(flags, config);
    const { agent } = await this.open(address!, flags);
    const state = await agent.call('releases', { app });
    const releases = [...state.releases].sort((a, b) => b.version - a.version);
    if (!this.jsonEnabled()) {
      if (releases.length === 0) this.log(`${app} has no releases on ${address!.label}`);
      for (const r of releases) {
        const volumes = r.volumes?.length ? `  volumes ${r.volumes.map(volumeText).join(', ')}` : '';
        this.log(`v${String(r.version).padEnd(4)} ${r.status === 'active' ? '*' : ' '} ${r.createdAt.replace('T', ' ').slice(0, 19)}  ${r.createdBy.padEnd(24)} ${r.description.padEnd(24)} ${r.image}${volumes}`);
      }
    }
    return { app, ...(state.current !== undefined ? { current: state.current } : {}), releases };
  }
}
