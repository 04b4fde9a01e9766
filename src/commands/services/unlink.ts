import { Flags } from '@oclif/core';
import { nextReleaseVersion } from '../../deploy/index.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags, whoAmI } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesUnlink extends ServiceCommand {
  static override summary = 'Unlink a service from an app: its config var goes (a new release), then the app no longer reaches it';
  static override examples = ['<%= config.bin %> services:unlink shop-db --app shop'];
  static override args = { name: serviceNameArg };
  static override flags = { ...hostFlags, wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }) };

  async run(): Promise<{ host: string; app: string; service: string; release?: number }> {
    const { args, flags } = await this.parse(ServicesUnlink);
    const name = checkedServiceName(args.name);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const { address, session } = await this.serviceHost(flags);
    const token = await this.lockApp(session, app, `services:unlink ${name}`, flags.wait);
    const version = nextReleaseVersion([await session.agent.call('releases', { app })]);
    let release: number | undefined;
    await runSteps<object>([{
      title: `unlink ${name} from ${app} on ${address.label}`,
      run: async (_c, report) => {
        const result = await session.agent.call('services-unlink', { name, app, version, by: whoAmI(), keep: config.keepReleases ?? 5, 'lock-token': token }, { onEvent: (m) => report(m) });
        release = result.release?.version;
      },
    }], {}, { json: this.jsonEnabled() });
    if (!this.jsonEnabled()) this.log(`${name} is no longer linked to ${app}${release ? ` (v${release} is live without it)` : ''}`);
    return { host: address.label, app, service: name, ...(release ? { release } : {}) };
  }
}
