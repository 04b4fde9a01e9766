import { PaasCommand } from '../../ui/command.js';
import { connectEngine } from '../../docker/engine.js';
import { sandboxList, type SandboxInfo } from '../../sandbox/index.js';

export default class SandboxList extends PaasCommand {
  static override summary = 'List sandbox servers on the local Docker Engine';
  static override examples = ['<%= config.bin %> sandbox:list', '<%= config.bin %> sandbox:list --json'];

  async run(): Promise<SandboxInfo[]> {
    const sandboxes = await sandboxList(await connectEngine());
    if (!this.jsonEnabled()) {
      if (sandboxes.length === 0) this.log('no sandboxes (start one with: paas sandbox:up NAME)');
      for (const s of sandboxes) this.log(`${s.name.padEnd(16)} ${s.state.padEnd(8)} ${s.url.padEnd(28)} http://127.0.0.1:${s.httpPort}`);
    }
    return sandboxes;
  }
}
