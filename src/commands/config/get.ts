import { Args } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { parseKeys } from '../../config/vars.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class ConfigGet extends HostCommand {
  static override summary = 'Print the value of one config var, exactly';
  static override description = 'Prints the value as stored (byte for byte) followed by a newline, for scripts: `paas config:get DATABASE_URL`. A var that is not set is an error (exit code 2).';
  static override examples = ['<%= config.bin %> config:get DATABASE_URL', '<%= config.bin %> config:get DATABASE_URL --json'];
  static override args = { key: Args.string({ description: 'name of the config var', required: true }) };
  static override flags = hostFlags;

  async run(): Promise<Record<string, string>> {
    const { args, flags } = await this.parse(ConfigGet);
    const [key] = parseKeys([args.key]);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const address = hostAddresses(flags, config)[0]!;
    const { agent } = await this.open(address, flags);
    const result = await agent.call('config-show', { app, reveal: true, key: [key!] });
    if (result.missing.length) {
      throw new PaasError('usage', `${app} has no config var ${key}`, { where: address.label, hint: 'see `paas config` for the names that are set' });
    }
    if (!this.jsonEnabled()) process.stdout.write(`${result.vars[key!]}\n`);
    return { [key!]: result.vars[key!]! };
  }
}
