import { Args } from '@oclif/core';
import type { CronView } from '../agent/protocol.js';
import { HostCommand, hostAddresses, whoAmI, type HostFlagValues } from './host-command.js';
import { cronLines } from './views.js';

/** The argument of the cron:* commands that name a task (each command class declares it: oclif reads its own statics). */
export const cronTaskArgs = { id: Args.string({ description: 'the task\'s id (see paas cron)', required: true }) };

/** cron:suspend and cron:resume: one change of a task's state on every host of the app, under its lock. */
export abstract class CronSwitchCommand extends HostCommand {

  protected async switchTask(verb: 'cron-suspend' | 'cron-resume', id: string, flags: HostFlagValues): Promise<(CronView & { host: string })[]> {
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const what = `${verb.replace('-', ':')} ${id}`;
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, what, (session, token) => session.agent.call(verb, { app, id, 'lock-token': token, by: whoAmI() }), cronLines);
  }
}
