import { Flags } from '@oclif/core';
import type { ClusterView } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { clusterLines } from '../../ui/cluster.js';

export default class ClusterInit extends HostCommand {
  static override summary = 'Make a host the first manager of a Docker Swarm cluster for paas apps';
  static override description = 'Starts a swarm on the host (Docker\'s `swarm init`, through the Engine API), with the overlay network paas apps reach each other on (`paas-internal`). Run again, it changes nothing. Then add nodes with cluster:join and deploy apps with `engine: swarm` in paas.yml.';
  static override examples = ['<%= config.bin %> cluster:init --host ssh://root@10.0.0.5 --advertise-addr 10.0.0.5'];
  static override flags = {
    host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'],
    'advertise-addr': Flags.string({ description: 'IPv4 address the other nodes reach this host at (default: Docker picks the address of its default route)' }),
  };

  async run(): Promise<(ClusterView & { created: boolean; host: string })[]> {
    const { flags } = await this.parse(ClusterInit);
    const [address] = hostAddresses(flags, await this.configOf('.'));
    return this.eachHost([address!], flags, ({ agent }) => agent.call('cluster-init', { ...(flags['advertise-addr'] ? { 'advertise-addr': flags['advertise-addr'] } : {}) }, { onEvent: (m) => this.logToStderr(m) }),
      (host, view) => [...(view.created ? [] : [`${host} was a manager of this cluster already: nothing changed`]), ...clusterLines(host, view)]);
  }
}
