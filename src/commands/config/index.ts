import { Flags } from '@oclif/core';
import type { ConfigShowResult } from '../../agent/protocol.js';
import { renderVars } from '../../config/vars.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class Config extends HostCommand {
  static override summary = 'List the app\'s config vars (values masked unless --reveal)';
  static override description = 'Shows the config vars stored on the app\'s first host. Without --reveal the host sends only masks (8 characters; values of 12+ characters keep their first 2), so the values never leave it.';
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --reveal --app shop', '<%= config.bin %> config --json'];
  static override flags = { ...hostFlags, reveal: Flags.boolean({ description: 'show the values' }) };

  async run(): Promise<ConfigShowResult> {
    const { flags } = await this.parse(Config);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const address = hostAddresses(flags, config)[0]!;
    const { agent } = await this.open(address, flags);
    const result = await agent.call('config-show', { app, reveal: flags.reveal });
    if (!this.jsonEnabled()) {
      if (Object.keys(result.vars).length === 0) {
        this.log(`${app} has no config vars on ${address.label}`);
      } else {
        this.log(`=== ${app} config vars`);
        // Masks are already masks: render them as they are.
        for (const line of flags.reveal ? renderVars(result.vars, { reveal: true }) : maskedLines(result.vars)) this.log(line);
      }
    }
    return result;
  }
}

function maskedLines(vars: Record<string, string>): string[] {
  const keys = Object.keys(vars).sort();
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((key) => `${`${key}:`.padEnd(width + 1)} ${vars[key]}`);
}
