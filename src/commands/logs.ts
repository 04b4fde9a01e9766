import { Flags } from '@oclif/core';
import { PassThrough } from 'node:stream';
import { PaasError } from '../errors.js';
import { HostCommand, releaseHosts, hostFlags } from '../ui/host-command.js';
import { LogFormatter, logPrefix, useColor } from '../ui/logs.js';
import { PROCESS_FILTER, mergeLogLines, type LogLine } from '../release/ps.js';

export default class Logs extends HostCommand {
  static override summary = 'Show the logs of the app\'s processes, merged, on every host';
  static override description = 'Lines of every replica of the current release, in time order (Docker\'s timestamps), each prefixed with its process (web.1, worker.1) and, with several hosts, the host; prefixes are coloured on a terminal (not with NO_COLOR). -f keeps streaming (new containers of a deploy or restart join) until Ctrl-C, which ends the `docker logs` processes on the hosts too.';
  static override examples = ['<%= config.bin %> logs', '<%= config.bin %> logs -f', '<%= config.bin %> logs -n 200 -p worker', '<%= config.bin %> logs -p web.2 --json'];
  static override flags = {
    ...hostFlags,
    follow: Flags.boolean({ char: 'f', description: 'keep streaming new lines until Ctrl-C' }),
    num: Flags.integer({ char: 'n', description: 'number of lines (the newest; with -f, the lines shown before streaming)', default: 100, min: 0, max: 100_000 }),
    process: Flags.string({ char: 'p', description: 'only this process type (web) or process (web.1)' }),
  };

  async run(): Promise<{ app: string; lines: LogLine[] } | undefined> {
    const { flags } = await this.parse(Logs);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    if (flags.process !== undefined && !PROCESS_FILTER.test(flags.process)) {
      throw new PaasError('usage', `${JSON.stringify(flags.process)} is not a process type or process`, { hint: 'write a type such as web, or one process such as web.1' });
    }
    if (flags.follow && this.jsonEnabled()) throw new PaasError('usage', '--json does not go with --follow', { hint: 'drop one of them' });
    const addresses = releaseHosts(flags, config);
    const multiHost = addresses.length > 1;
    const agents = [];
    for (const address of addresses) agents.push((await this.open(address, flags)).agent);
    const args = { app, tail: flags.num, ...(flags.process ? { process: flags.process } : {}) };
    const formatter = (prefixes: string[] = []) => new LogFormatter(multiHost, useColor(process.stdout.isTTY), prefixes);

    if (!flags.follow) {
      const all: LogLine[] = [];
      await Promise.all(agents.map((agent, index) => agent.call('logs', args, {
        onEvent: (message, step) => { if (step === 'log') all.push({ ...(JSON.parse(message) as LogLine), host: addresses[index]!.label }); },
      })));
      const lines = mergeLogLines(all, flags.num);
      if (this.jsonEnabled()) return { app, lines };
      const format = formatter(lines.map((l) => logPrefix(l, multiHost)));
      for (const line of lines) process.stdout.write(`${format.format(line)}\n`);
      return undefined;
    }

    // Follow: each agent streams until its stdin closes; Ctrl-C closes them all.
    const format = formatter();
    const stdins = agents.map(() => new PassThrough());
    const stop = () => { for (const stdin of stdins) stdin.end(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await Promise.all(agents.map((agent, index) => agent.call('logs', { ...args, follow: true }, {
        stdin: stdins[index]!,
        onEvent: (message, step) => {
          if (step === 'log') process.stdout.write(`${format.format({ ...(JSON.parse(message) as LogLine), host: addresses[index]!.label })}\n`);
        },
      })));
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    return undefined;
  }
}
