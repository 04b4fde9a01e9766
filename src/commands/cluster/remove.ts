import { Args } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class ClusterRemove extends HostCommand {
  static override summary = 'Remove a node from the cluster through a manager (drained first when it still answers)';
  static override description = 'NODE is a node ID (or 6+ characters of one) or a hostname, as `paas cluster` lists them. For a node that is gone for good; a node that still runs is drained first (its tasks start elsewhere), then removed by force.';
  static override examples = ['<%= config.bin %> cluster:remove 3f2a9c1b7d0e --host ssh://root@10.0.0.5'];
  static override args = { node: Args.string({ description: 'node ID or hostname', required: true }) };
  static override flags = { host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'] };

  async run(): Promise<{ host: string; removed: string }[]> {
    const { args, flags } = await this.parse(ClusterRemove);
    const [address] = hostAddresses(flags, await this.configOf('.'));
    return this.eachHost([address!], flags, ({ agent }) => agent.call('cluster-remove', { node: args.node }, { onEvent: (m) => this.logToStderr(m) }), (host, answer) => [`${host}: node ${answer.removed.slice(0, 12)} removed from the cluster`]);
  }
}
