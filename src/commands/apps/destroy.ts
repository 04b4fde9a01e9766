import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { checkAppName } from '../../config/validators.js';
import { confirmationProblem } from '../../ui/arguments.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';

import type { DestroyResult } from '../../agent/protocol.js';

export default class AppsDestroy extends HostCommand {
  static override summary = 'Remove an app and everything it has from the hosts';
  static override description = 'Under the app\'s lock: its names in nginx\'s sites table (no reload), routes, containers, images (paas/APP:*), certificates, settings, releases and git repository; its volumes (their data) only with --volumes. Other apps are not touched. Asks for the app\'s name in a terminal; elsewhere pass --confirm APP.';
  static override examples = ['<%= config.bin %> apps:destroy shop', '<%= config.bin %> apps:destroy shop --confirm shop --host ssh://root@203.0.113.10'];
  static override args = { app: Args.string({ description: 'the app to destroy', required: true }) };
  static override flags = {
    host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'],
    confirm: Flags.string({ description: 'the app\'s name again, to confirm without a prompt' }),
    volumes: Flags.boolean({ description: 'also remove the app\'s volumes and their data (kept by default: a new app of the same name mounts them again)' }),
  };

  async run(): Promise<(DestroyResult & { host: string })[]> {
    const { args, flags } = await this.parse(AppsDestroy);
    const app = args.app;
    const invalid = checkAppName(app);
    if (invalid) throw new PaasError('usage', invalid, { where: 'the APP argument' });
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.jsonEnabled();
    const problem = confirmationProblem(app, flags.confirm, interactive);
    if (problem) throw new PaasError('usage', problem, { hint: `run: paas apps:destroy ${app} --confirm ${app}` });
    if (flags.confirm === undefined) {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = (await rl.question(`This removes ${app}, its releases, images, domains and certificates${flags.volumes ? ', and its volumes with their data,' : ''} from its hosts. Type ${app} to confirm: `)).trim();
      rl.close();
      if (answer !== app) throw new PaasError('usage', `${JSON.stringify(answer)} does not match the app ${app}; nothing was removed`);
    }
    return this.eachHostLocked(hostAddresses(flags, await this.configOf('.')), flags, app, 'apps:destroy',
      (session, token) => session.agent.call('destroy', { app, 'lock-token': token, by: whoAmI(), volumes: flags.volumes }),
      (host, done) => [
        `Destroyed ${app} on ${host}: ${done.swarmServices?.length ? `the cluster service(s) ${done.swarmServices.join(', ')}, ` : ''}${done.containers.length} container(s), ${done.images.length} image(s), ${done.removed.length} path(s)${done.volumes.removed.length ? `, ${done.volumes.removed.length} volume(s)` : ''}`,
        ...(done.volumes.kept.length ? [`  kept the volume(s) ${done.volumes.kept.join(', ')} and their data (apps:destroy ${app} --volumes removes them)`] : []),
      ]);
  }
}
