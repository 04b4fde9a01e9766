import type { HostReport } from '../../agent/protocol.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { formatBytes } from '../../ui/format.js';

export default class HostInfo extends HostCommand {
  static override summary = 'Show what paas found on a host and what it will use';
  static override description = 'The Docker Engine (version, storage driver, image store), the builder a host build goes through, nginx and its Lua module, the SSH user and whether paas runs through sudo, the architecture and the free disk. Changes nothing.';
  static override examples = ['<%= config.bin %> host:info --host ssh://admin@203.0.113.10', '<%= config.bin %> host:info --json'];
  static override flags = { host: hostFlags.host, identity: hostFlags.identity, 'trust-host-key': hostFlags['trust-host-key'] };

  async run(): Promise<(HostReport & { host: string })[]> {
    const { flags } = await this.parse(HostInfo);
    return this.eachHost(hostAddresses(flags, await this.configOf('.')), flags, async ({ agent }) => agent.call('host-info', {}), (host, report) => [
      `${host}`,
      `  user:     ${report.user}${report.sudo ? ' (through passwordless sudo)' : ''}`,
      `  system:   ${report.os}, ${report.arch}, Node.js ${report.node}`,
      `  engine:   Docker Engine ${report.engine.version ?? 'not answering'} (API ${report.engine.api ?? '?'}), storage driver ${report.engine.storageDriver}, image store: ${report.engine.imageStore}`,
      `  builder:  ${report.builder}`,
      `  nginx:    ${report.nginx.version ?? 'not installed'}${report.nginx.lua ? ', with its Lua module' : ', without its Lua module (host:setup installs it)'}`,
      ...Object.entries(report.disk).map(([dir, free]) => `  free:     ${free === null ? 'unknown' : formatBytes(free)} in ${dir}`),
    ]);
  }
}
