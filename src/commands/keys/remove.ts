import { Args } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class KeysRemove extends HostCommand {
  static override summary = 'Stop an SSH key from pushing to the hosts';
  static override examples = ['<%= config.bin %> keys:remove alice'];
  static override args = { name: Args.string({ description: 'the key\'s name (see paas keys)', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<{ host: string; removed: string }[]> {
    const { args, flags } = await this.parse(KeysRemove);
    return this.eachHost(hostAddresses(flags, await this.configOf('.')), flags, ({ agent }) => agent.call('keys-remove', { name: args.name }), (host) => [`${host}: removed ${args.name}`]);
  }
}
