import { Args } from '@oclif/core';
import { parseAssignments } from '../../config/vars.js';
import { ConfigChangeCommand, configChangeFlags, type ConfigChangeResult } from '../../ui/config-command.js';

export default class ConfigSet extends ConfigChangeCommand {
  static override summary = 'Set config vars and restart the app with them (a new release)';
  static override description = 'Sets one or more KEY=VALUE pairs (the value is kept byte for byte: quote the pair in your shell). Each host stores them encrypted, runs the release phase, and rolls out a new release of the current image with them, with zero downtime; no rebuild. Config vars override paas.yml env of the same name. Values are never printed: see `paas config --reveal`.';
  static override examples = [
    '<%= config.bin %> config:set DATABASE_URL=postgres://db/shop',
    '<%= config.bin %> config:set \'GREETING=hello world\' MODE=fast --app shop',
  ];
  static override strict = false;
  static override args = { assignment: Args.string({ description: 'KEY=VALUE (repeatable)', required: true }) };
  static override flags = configChangeFlags;

  async run(): Promise<ConfigChangeResult> {
    const { flags, argv } = await this.parse(ConfigSet);
    const set = parseAssignments(argv as string[]);
    return this.change(flags, { set, unset: [] }, `Set ${Object.keys(set).join(', ')}`);
  }
}
