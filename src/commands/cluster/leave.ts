import { Flags } from '@oclif/core';
import { parseHost } from '../../ssh/connect.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class ClusterLeave extends HostCommand {
  static override summary = 'Take a host out of its cluster: drained first (its tasks start elsewhere), demoted, then gone';
  static override description = 'Through --manager (another manager) the host is drained: Swarm starts its tasks on the other nodes before it stops them here; a manager is demoted. Then the host leaves and the manager forgets it. The last manager leaves only with --force, which ends the cluster.';
  static override examples = ['<%= config.bin %> cluster:leave --host ssh://root@10.0.0.7 --manager ssh://root@10.0.0.5'];
  static override flags = {
    host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'],
    manager: Flags.string({ description: 'another manager of the cluster, ssh://user@host:port (not needed with --force on the last one)' }),
    force: Flags.boolean({ description: 'leave even as the last manager (the cluster and its services end)' }),
  };

  async run(): Promise<{ host: string; left: boolean; drained?: boolean; demoted?: boolean }[]> {
    const { flags } = await this.parse(ClusterLeave);
    const addresses = hostAddresses(flags, {});
    const manager = flags.manager ? await this.open(parseHost(flags.manager), flags) : undefined;
    const onEvent = (m: string) => this.logToStderr(m);
    return this.eachHost(addresses, flags, async ({ agent }) => {
      const self = (await agent.call('cluster', {})).self;
      if (self.state === 'inactive' || !self.nodeId) return { left: false };
      const drain = manager ? await manager.agent.call('cluster-drain', { node: self.nodeId }, { onEvent }) : undefined;
      const left = await agent.call('cluster-leave', { force: flags.force ?? false }, { onEvent });
      if (manager) await manager.agent.call('cluster-remove', { node: self.nodeId }, { onEvent });
      return { left: left.left, ...(drain ? { drained: drain.drained, demoted: drain.demoted } : {}) };
    }, (host, answer) => [answer.left ? `${host} left the cluster${answer.drained === false ? ' (some tasks had not moved within the wait)' : ''}` : `${host} was not in a cluster: nothing changed`]);
  }
}
