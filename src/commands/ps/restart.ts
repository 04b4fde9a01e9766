import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { HostCommand, releaseHosts, hostFlags, whoAmI } from '../../ui/host-command.js';

interface RestartAnswer { app: string; version: number; types: string[]; restarted: string[]; draining: string[] }

export default class PsRestart extends HostCommand {
  static override summary = 'Restart the app\'s processes, web with zero downtime';
  static override description = 'Restarts the current release without making a new one (as Heroku does). web: fresh containers of the release start beside the running ones (named ...-v<release>-r<n>, n counting restarts), are health-checked, nginx switches to them and the old ones drain: no request fails. Other types: their containers are stopped (SIGTERM, then SIGKILL after the stop timeout) and started again. Hosts are done one after another. On the swarm engine (through the first host, a manager): a forced update of each service, one task at a time, start-first.';
  static override examples = ['<%= config.bin %> ps:restart', '<%= config.bin %> ps:restart web', '<%= config.bin %> ps:restart worker --app shop'];
  static override args = { type: Args.string({ description: 'process type to restart (default: all)' }) };
  static override flags = { ...hostFlags, wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }) };

  async run(): Promise<{ app: string; hosts: (RestartAnswer & { host: string })[] }> {
    const { args, flags } = await this.parse(PsRestart);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    if (args.type !== undefined && !/^[A-Za-z0-9_-]{1,30}$/.test(args.type)) {
      throw new PaasError('usage', `${JSON.stringify(args.type)} is not a process type`, { hint: 'name a type of the Procfile or paas.yml processes, such as web or worker' });
    }
    const addresses = releaseHosts(flags, config);
    const locked = await this.lockEveryHost(addresses, flags, app, `ps:restart${args.type ? ` ${args.type}` : ''}`, flags.wait);
    const answers = await this.changeEveryHost(locked, addresses, (host) => `Restart ${args.type ?? 'every process of'} ${app} on ${host}`,
      (agent, token, report) => agent.call('restart', { app, by: whoAmI(), 'lock-token': token, ...(args.type ? { type: args.type } : {}) }, { onEvent: (m) => report(m) }));
    const hosts = answers.map((answer, index) => ({ host: addresses[index]!.label, ...answer }));
    if (!this.jsonEnabled()) for (const h of hosts) this.log(`${h.host}: restarted ${h.types.join(', ')} of ${app} v${h.version} (${h.restarted.join(', ') || 'nothing'})`);
    return { app, hosts };
  }
}
