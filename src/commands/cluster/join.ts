import { Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { parseHost } from '../../ssh/connect.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class ClusterJoin extends HostCommand {
  static override summary = 'Add a host to a cluster, as a manager or a worker';
  static override description = 'Asks the manager for the join token and gives it to the host on the agent\'s input (never on a command line), which joins through its Engine API. A host in the cluster already is left as it is. Three managers keep the cluster working when one dies (Raft needs a majority); workers run tasks only (their nginx does not route: Docker answers service queries on managers only).';
  static override examples = ['<%= config.bin %> cluster:join --host ssh://root@10.0.0.6 --manager ssh://root@10.0.0.5', '<%= config.bin %> cluster:join --host ssh://root@10.0.0.7 --manager ssh://root@10.0.0.5 --role worker'];
  static override flags = {
    host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'],
    manager: Flags.string({ description: 'a manager of the cluster, ssh://user@host:port', required: true }),
    role: Flags.string({ description: 'manager or worker', options: ['manager', 'worker'], default: 'manager' }),
    'advertise-addr': Flags.string({ description: 'IPv4 address the other nodes reach this host at (default: Docker picks)' }),
  };

  async run(): Promise<{ host: string; joined: boolean; nodeId: string; manager: boolean }[]> {
    const { flags } = await this.parse(ClusterJoin);
    const addresses = hostAddresses(flags, {});
    const manager = await this.open(parseHost(flags.manager), flags);
    const { token, managers } = await manager.agent.call('cluster-token', { role: flags.role });
    return this.eachHost(addresses, flags, async ({ agent, address }) => {
      if (address.label === manager.address.label) throw new PaasError('usage', `${address.label} is the manager itself`, { hint: 'give another host with --host' });
      return agent.call('cluster-join', {}, {
        stdin: JSON.stringify({ token, managers, ...(flags['advertise-addr'] ? { advertise: flags['advertise-addr'] } : {}) }),
        onEvent: (m) => this.logToStderr(m),
      });
    }, (host, answer) => [answer.joined ? `${host} joined the cluster as a ${answer.manager ? 'manager' : 'worker'} (node ${answer.nodeId.slice(0, 12)})` : `${host} is in the cluster already (node ${answer.nodeId.slice(0, 12)}): nothing changed`]);
  }
}
