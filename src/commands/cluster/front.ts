import { Flags } from '@oclif/core';
import type { FrontView } from '../../agent/protocol.js';
import { PaasError } from '../../errors.js';
import { checkFrontOptions, parseNodes } from '../../cluster/front.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class ClusterFront extends HostCommand {
  static override summary = 'Make a host the front balancer of a cluster\'s nodes (one address for clients)';
  static override description = 'The host\'s nginx answers port 80 by proxying every request (Host header and all) to the nodes given, each a paas host that routes apps itself. A node that refuses, times out or answers 502/503/504 is skipped for --fail-timeout seconds and the request goes to the next one (idempotent requests only). Give the full node list each time; the same list again changes nothing. The front is a dedicated host: one with apps is refused. Without --node, shows the front\'s nodes.';
  static override examples = [
    '<%= config.bin %> cluster:front --host ssh://root@203.0.113.5 --node 10.0.0.2 --node 10.0.0.3 --node 10.0.0.4',
    '<%= config.bin %> cluster:front --host ssh://root@203.0.113.5 --node [2001:db8::2]:8080 --node node3.internal --json',
  ];
  static override flags = {
    host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'],
    node: Flags.string({ description: 'a node: IP, [IPv6] or DNS name, with an optional :PORT (default 80); repeatable, the full list each time', multiple: true }),
    'connect-timeout': Flags.integer({ description: 'seconds to wait for a node\'s connection before trying the next (default 1)' }),
    'fail-timeout': Flags.integer({ description: 'seconds a node that failed is left out (default 10)' }),
  };

  async run(): Promise<(FrontView & { host: string })[]> {
    const { flags } = await this.parse(ClusterFront);
    const addresses = hostAddresses(flags, await this.configOf('.'));
    const nodes = flags.node ?? [];
    const options = { ...(flags['connect-timeout'] !== undefined ? { connectTimeout: flags['connect-timeout'] } : {}), ...(flags['fail-timeout'] !== undefined ? { failTimeout: flags['fail-timeout'] } : {}) };
    if (nodes.length) {
      try {
        parseNodes(nodes);
        checkFrontOptions(options);
      } catch (error) {
        throw new PaasError('usage', (error as Error).message, { where: 'cluster:front', hint: 'give each node as IP, [IPv6] or a DNS name, with an optional :PORT, e.g. --node 10.0.0.2 --node 10.0.0.3:8080' });
      }
    }
    return this.eachHost(addresses, flags, ({ agent }) => (nodes.length
      ? agent.call('front-apply', { node: nodes, 'connect-timeout': flags['connect-timeout'], 'fail-timeout': flags['fail-timeout'] })
      : agent.call('front-show', {})), (host, view) => (view.front
      ? [
        `${host}: front balancer on port 80${nodes.length ? (view.changed ? ' (applied, nginx reloaded)' : ' (unchanged, no reload)') : ''}`,
        ...view.nodes.map((node) => `  node ${node}`),
        ...(view.options ? [`  connect timeout ${view.options.connectTimeout} s, a failed node left out for ${view.options.failTimeout} s, ${view.nodes.length} tries`] : []),
      ]
      : [`${host}: not a front balancer (give --node to make it one)`]));
  }
}
