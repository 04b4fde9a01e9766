import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

import { keyLines } from '../../ui/views.js';

export default class Keys extends HostCommand {
  static override summary = 'List the SSH keys that may git push to the hosts';
  static override description = 'Keys added with keys:add, per host: name, type and SHA256 fingerprint. They may only run git push / git fetch of apps (a forced command), never a shell.';
  static override examples = ['<%= config.bin %> keys', '<%= config.bin %> keys --host ssh://root@203.0.113.10 --json'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; keys: { name: string; type: string; fingerprint: string }[] }[]> {
    const { flags } = await this.parse(Keys);
    return this.eachHost(hostAddresses(flags, await this.configOf('.')), flags, async ({ agent }) => ({ keys: await agent.call('keys-list', {}) }), (host, { keys }) => keyLines(host, keys));
  }
}
