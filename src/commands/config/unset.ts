import { Args } from '@oclif/core';
import { parseKeys } from '../../config/vars.js';
import { ConfigChangeCommand, configChangeFlags, type ConfigChangeResult } from '../../ui/config-command.js';

export default class ConfigUnset extends ConfigChangeCommand {
  static override summary = 'Remove config vars and restart the app without them (a new release)';
  static override examples = ['<%= config.bin %> config:unset DEBUG', '<%= config.bin %> config:unset OLD_KEY LEGACY_MODE --app shop'];
  static override strict = false;
  static override args = { key: Args.string({ description: 'name of a config var (repeatable)', required: true }) };
  static override flags = configChangeFlags;

  async run(): Promise<ConfigChangeResult> {
    const { flags, argv } = await this.parse(ConfigUnset);
    const unset = parseKeys(argv as string[]);
    return this.change(flags, { set: {}, unset }, `Unset ${unset.join(', ')}`);
  }
}
