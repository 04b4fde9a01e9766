import { Args } from '@oclif/core';
import { PaasCommand } from '../../ui/command.js';
import { connectEngine } from '../../docker/engine.js';
import { sandboxDown } from '../../sandbox/index.js';

export default class SandboxDown extends PaasCommand {
  static override summary = 'Remove a sandbox server and everything it had';
  static override description = 'Removes the container, its Docker volume (the inner engine\'s images and containers) and its keys. Nothing else is touched. Succeeds when the sandbox does not exist.';
  static override examples = ['<%= config.bin %> sandbox:down demo'];
  static override args = { name: Args.string({ description: 'sandbox name', required: true }) };

  async run(): Promise<{ name: string; removed: string[] }> {
    const { args } = await this.parse(SandboxDown);
    const { removed } = await sandboxDown(await connectEngine(), args.name);
    if (!this.jsonEnabled()) this.log(removed.length ? `removed ${removed.join(', ')}` : `no sandbox named ${args.name}`);
    return { name: args.name, removed };
  }
}
