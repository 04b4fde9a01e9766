import { Args, Flags } from '@oclif/core';
import { resolveApp } from '../app.js';
import { checkDeployable, type DeployResult } from '../deploy/index.js';
import { Deployment } from '../deploy/deployment.js';
import { HostCommand, LOCK_WAIT_MS, hostAddresses, hostFlags, whoAmI } from '../ui/host-command.js';
import { runSteps } from '../ui/progress.js';
import { formatBytes } from '../ui/format.js';

export default class Deploy extends HostCommand {
  static override summary = 'Build the app and roll it out on its hosts with zero downtime';
  static override description = 'Detects the app and builds its dependencies locally (the Dockerfile above its `# paas:source` line), sends each host only what it lacks (the dependency image once, thin over SSH, no registry; then only the source) and has the host build the rest and its agent start the new release beside the old one, health-check it, switch nginx to it and drain the old containers. A Dockerfile without the line is built whole here and pushed thin. Hosts are done one after another; the first failure stops the deploy and says which hosts moved.';
  static override examples = [
    '<%= config.bin %> deploy',
    '<%= config.bin %> deploy ./api --host ssh://deploy@203.0.113.10',
    'PAAS_HOST=ssh://root@10.0.0.5 <%= config.bin %> deploy --json',
  ];
  static override args = { dir: Args.directory({ description: 'app directory', default: '.' }) };
  static override flags = {
    ...hostFlags,
    wait: Flags.boolean({ description: 'if another deploy of the app holds its lock, wait for it (up to 10 minutes) instead of failing' }),
  };

  async run(): Promise<DeployResult> {
    const { args, flags } = await this.parse(Deploy);
    const resolved = await resolveApp(args.dir);
    const app = this.appName(flags, resolved.config, resolved.app);
    checkDeployable(resolved, app);
    const deployment = new Deployment({
      resolved: { ...resolved, app },
      addresses: hostAddresses(flags, resolved.config),
      createdBy: whoAmI(),
      command: `deploy from ${args.dir}`,
      lockWaitMs: flags.wait ? LOCK_WAIT_MS : 0,
      open: (address) => this.open(address, flags),
      holdUntilEnd: (release) => this.holdUntilEnd(release),
    });
    await deployment.start();
    try {
      await runSteps(deployment.steps(), deployment.ctx, { json: this.jsonEnabled() });
    } finally {
      deployment.stop();
    }
    const result = deployment.result();
    if (!this.jsonEnabled()) {
      this.log(`${app} v${result.release} is live (${formatBytes(result.bytesSent)} sent, ${result.seconds.total!.toFixed(1)} s)`);
      for (const url of result.urls) this.log(`  ${url}`);
    }
    return result;
  }
}
