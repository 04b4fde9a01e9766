import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { BALANCE_STRATEGIES } from '../../config/types.js';
import { balanceSettings, parseWeights } from '../../release/settings.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import { lbLines, type LbView } from './index.js';

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
    const result: (LbView & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const session = await this.open(address, flags);
      const token = await this.lockApp(session, app, `lb:set ${args.strategy}`, false);
      const view = await session.agent.call<LbView>('lb-set', [
        '--app', app, '--strategy', args.strategy, '--lock-token', token, '--by', whoAmI(),
        ...Object.entries(weights).flatMap(([replica, weight]) => ['--weight', `${replica}=${weight}`]),
      ]);
      result.push({ host: address.label, ...view });
      if (!this.jsonEnabled()) for (const line of lbLines(address.label, view)) this.log(line);
    }
    return result;
  }
}
