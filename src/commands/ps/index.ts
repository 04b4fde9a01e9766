import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { formationText } from '../../release/formation.js';
import { psTable, type ProcessRow } from '../../release/ps.js';
import type { ProcessLimits } from '../../release/types.js';

interface PsAnswer {
  app: string;
  current?: number;
  formation: Record<string, number>;
  limits: Record<string, ProcessLimits>;
  processes: ProcessRow[];
}

export default class Ps extends HostCommand {
  static override summary = 'List the app\'s processes on each host: state, release, uptime, CPU, memory';
  static override description = 'One line per container of the app on each host: process (web.1, worker.1), Docker state, release (old ones still draining are marked), uptime, CPU % and memory in use (one `docker stats --no-stream` sample) with the memory limit, and the CPU limit (paas.yml processes.<type>.memory / cpus).';
  static override examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --app shop --json'];
  static override flags = hostFlags;

  async run(): Promise<(PsAnswer & { host: string })[]> {
    const { flags } = await this.parse(Ps);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result: (PsAnswer & { host: string })[] = [];
    for (const address of hostAddresses(flags, config)) {
      const { agent } = await this.open(address, flags);
      const answer = await agent.call<PsAnswer>('ps', ['--app', app]);
      result.push({ host: address.label, ...answer });
      if (!this.jsonEnabled()) {
        const formation = formationText(answer.formation);
        this.log(`=== ${app} on ${address.label}: ${answer.current !== undefined ? `v${answer.current}${formation ? `, ${formation}` : ''}` : 'no release'}`);
        if (answer.processes.length) for (const line of psTable(answer.processes, answer.current)) this.log(line);
        else this.log('no containers');
      }
    }
    return result;
  }
}
