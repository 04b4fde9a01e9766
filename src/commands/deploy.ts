import { Args, Flags } from '@oclif/core';
import { resolveApp } from '../app.js';
import { appDockerfile } from '../build/dockerfile.js';
import { splitDockerfile } from '../build/split.js';
import {
  buildForDeploy, checkArchitectures, checkClaims, checkDeployable, deployResult, deployToHost, inspectHost, nextReleaseVersion, sendSource,
  type DeployContext, type DeployResult, type HostFacts, type HostTarget,
} from '../deploy/index.js';
import { DeploySession } from '../host/deploy-session.js';
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
    const ctx: DeployContext = {
      resolved: { ...resolved, app }, hosts: [], createdBy: whoAmI(), outcomes: [], seconds: {},
    };
    const addresses = hostAddresses(flags, resolved.config);
    const started = Date.now();
    // The local build needs no host: it starts now and runs while the hosts connect. Its lines
    // wait for the Build step to show them; a failed connection aborts it.
    const abort = new AbortController();
    // SSH handshakes first: they wait on the network while the build below loads its modules.
    const opening = addresses.map((address) => this.open(address, flags));
    for (const open of opening) open.catch(() => {}); // awaited by the Connect step
    const split = splitDockerfile(await appDockerfile(resolved.dir, resolved.plan));
    const sourceBuild = typeof split !== 'string';
    const early: string[] = [];
    let buildReport = (line: string) => { early.push(line); };
    const building = buildForDeploy(ctx, split, (line) => buildReport(line), abort.signal);
    building.catch(() => {});
    // Every host's deploy session starts at once: each takes the app's lock and tells its facts.
    // Each host is sent the source as soon as the local build is done, and builds it while the
    // other hosts connect and earlier hosts roll out.
    const connectHost = async (c: DeployContext, address: (typeof addresses)[number], index: number): Promise<HostTarget> => {
      const connection = await opening[index]!;
      const session = new DeploySession(connection.agent, { app, by: ctx.createdBy, command: `deploy from ${args.dir}`, waitMs: flags.wait ? LOCK_WAIT_MS : 0 });
      this.holdUntilEnd(() => session.close());
      const host: HostTarget = {
        label: address.label, agent: connection.agent, session, sourceBytes: { bytes: 0 },
        reconnect: async () => (await this.open(address, flags)).agent,
      };
      if (sourceBuild) {
        // Sent without waiting for the lock: the agent reads it only once it holds the lock.
        host.sent = building.then(() => sendSource(c, host));
        host.sent.catch(() => {}); // awaited by the host's release step
      }
      inspectHost(host, await session.info<HostFacts>());
      checkClaims(app, resolved.config.domains ?? [], host);
      return host;
    };
    const connect = async (c: DeployContext) => {
      const t = Date.now();
      // Settled, not raced: every connection is registered (and so closed) before a failure ends the command.
      const connected = await Promise.allSettled(addresses.map((address, index) => connectHost(c, address, index)));
      const failed = connected.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      c.hosts = connected.map((outcome) => (outcome as PromiseFulfilledResult<HostTarget>).value);
      c.version = nextReleaseVersion(c.hosts.map((h) => h.state!));
      c.seconds.connect = (Date.now() - t) / 1000;
    };
    try {
      await runSteps<DeployContext>([
        { title: `Connect to ${addresses.length === 1 ? addresses[0]!.label : `${addresses.length} hosts`}`, run: connect },
        { title: `Build ${app}`, run: async (c, report) => {
          buildReport = report;
          early.splice(0).forEach(report);
          report(`next release: v${c.version}`);
          await building;
          await checkArchitectures(c.docker!, c.hosts);
        } },
        ...addresses.map((address, index) => ({
          title: `Release on ${address.label}`,
          run: (c: DeployContext, report: (line: string) => void) => deployToHost(c, c.hosts[index]!, report),
        })),
      ], ctx, { json: this.jsonEnabled() });
    } finally {
      abort.abort();
    }
    ctx.seconds.total = (Date.now() - started) / 1000;
    const result = deployResult(ctx);
    if (!this.jsonEnabled()) {
      this.log(`${app} v${result.release} is live (${formatBytes(result.bytesSent)} sent, ${ctx.seconds.total.toFixed(1)} s)`);
      for (const url of result.urls) this.log(`  ${url}`);
    }
    return result;
  }
}
