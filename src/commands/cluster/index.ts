import type { ClusterView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { clusterLines } from '../../ui/cluster.js';

export default class Cluster extends HostCommand {
  static override summary = 'Show the cluster a host is in: its nodes, their role and state, and the apps\' services';
  static override description = 'Ask a manager (--host) for the whole cluster; a worker tells only that it is one. Changes nothing.';
  static override examples = ['<%= config.bin %> cluster --host ssh://root@203.0.113.10'];
  static override flags = { host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'] };

  async run(): Promise<(ClusterView & { host: string })[]> {
    const { flags } = await this.parse(Cluster);
    const [address] = hostAddresses(flags, await this.configOf('.'));
    return this.eachHost([address!], flags, ({ agent }) => agent.call('cluster', {}), clusterLines);
  }
}
