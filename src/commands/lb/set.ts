import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { BALANCE_STRATEGIES } from '../../config/types.js';
import { balanceSettings, parseWeights } from '../../release/settings.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import type { LbView } from '../../agent/protocol.js';
import { lbLines } from '../../ui/views.js';

export default class LbSet extends HostCommand {
  static override summary = 'Set the app\'s load-balancing strategy (applies at once, no release, no reload)';
  static override description = `STRATEGY is one of ${BALANCE_STRATEGIES.join(', ')}. It overrides paas.yml's balance: on the hosts and is kept across deploys and rollbacks. With weighted, --weight web.N=W gives replica N a relative share (default 1 each).`;
  static override examples = ['<%= config.bin %> lb:set least_conn', '<%= config.bin %> lb:set weighted --weight web.1=3 --weight web.2=1'];
  static override args = { strategy: Args.string({ description: `one of ${BALANCE_STRATEGIES.join(', ')}`, required: true }) };
  static override flags = {
    ...hostFlags,
    weight: Flags.string({ description: 'web.N=W: relative weight of replica N (weighted only; repeatable)', multiple: true }),
  };

  async run(): Promise<(LbView & { host: string })[]> {
    const { args, flags } = await this.parse(LbSet);
    let weights: Record<string, number>;
    try {
      weights = parseWeights(flags.weight ?? []);
      balanceSettings(args.strategy, weights);
    } catch (error) {
      throw new PaasError('usage', (error as Error).message, { where: 'lb:set', hint: `write e.g. paas lb:set weighted --weight web.1=3 --weight web.2=1 (strategies: ${BALANCE_STRATEGIES.join(', ')})` });
    }
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, `lb:set ${args.strategy}`, (session, token) => session.agent.call('lb-set', {
      app, strategy: args.strategy, 'lock-token': token, by: whoAmI(), weight: Object.entries(weights).map(([replica, weight]) => `${replica}=${weight}`),
    }), lbLines);
  }
}
