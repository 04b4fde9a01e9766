import { Flags } from '@oclif/core';
import { nextReleaseVersion } from '../../deploy/index.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags, whoAmI } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesLink extends ServiceCommand {
  static override summary = 'Link a service to an app: it reaches the service, and gets its URL as a config var (a new release)';
  static override description = 'The service\'s container joins the app\'s network (no other app reaches it), and the app gets DATABASE_URL (postgres) or REDIS_URL (redis), or the name given with --as, through config:set: a new release of the current image with zero downtime.';
  static override examples = ['<%= config.bin %> services:link shop-db --app shop', '<%= config.bin %> services:link reports-db --app shop --as REPORTS_DATABASE_URL'];
  static override args = { name: serviceNameArg };
  static override flags = {
    ...hostFlags,
    as: Flags.string({ description: 'the config var to set (default DATABASE_URL or REDIS_URL); ends in _URL' }),
    wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }),
  };

  async run(): Promise<{ host: string; app: string; service: string; as: string; release?: number }> {
    const { args, flags } = await this.parse(ServicesLink);
    const name = checkedServiceName(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const { address, session, hosts } = await this.serviceHost(flags);
    this.oneHostOnly(hosts, app);
    const token = await this.lockApp(session, app, `services:link ${name}`, flags.wait);
    const version = nextReleaseVersion([await session.agent.call('releases', { app })]);
    let result: Awaited<ReturnType<typeof session.agent.call<'services-link'>>> | undefined;
    await runSteps<object>([{
      title: `link ${name} to ${app} on ${address.label}`,
      run: async (_c, report) => {
        result = await session.agent.call('services-link', {
          name, app, ...(flags.as ? { as: flags.as } : {}), version, by: whoAmI(), keep: config.keepReleases ?? 5, 'lock-token': token,
        }, { onEvent: (m) => report(m) });
      },
    }], {}, { json: this.jsonEnabled() });
    const release = result!.release?.version;
    if (!this.jsonEnabled()) this.log(`${name} is linked to ${app} as ${result!.as}${release ? `; v${release} is live with it` : '; the next deploy gets it'}`);
    return { host: address.label, app, service: name, as: result!.as, ...(release ? { release } : {}) };
  }
}
