import type { ResolvedApp } from '../app.js';
import { PaasError } from '../errors.js';
import { appDockerfile } from '../build/dockerfile.js';
import { splitDockerfile } from '../build/split.js';
import type { HostAgent } from '../host/agent.js';
import { DeploySession } from '../host/deploy-session.js';
import type { HostAddress } from '../ssh/connect.js';
import type { Step } from '../ui/progress.js';
import {
  buildForDeploy, checkArchitectures, checkClaims, deployResult, deployToHost, inspectHost, nextReleaseVersion, sendSource,
  type DeployBuild, type DeployContext, type DeployResult, type HostOutcome, type HostTarget,
} from './index.js';

export interface DeploymentOptions {
  /** The app, its name settled (--app, paas.yml, the directory) and checked deployable. */
  resolved: ResolvedApp;
  addresses: HostAddress[];
  createdBy: string;
  /** What the hosts' locks say is under way ("deploy from ./api"). */
  command: string;
  /** How long to wait for another deploy's lock (0: fail at once). */
  lockWaitMs: number;
  /** A new SSH connection to a host, with its agent; closed by the caller when the command ends. */
  open: (address: HostAddress) => Promise<{ agent: HostAgent }>;
  /** Registers what must be released before the connections close (each host's deploy session). */
  holdUntilEnd: (release: () => Promise<void>) => void;
}

/**
 * One deploy of an app to its hosts, as steps: connect (every host at once, each locking the app
 * and telling its facts), build (local, started before the hosts answer), then a release on each
 * host in turn. Each step returns what it settled; the command only shows them.
 */
export class Deployment {
  readonly ctx: DeployContext;
  private readonly abort = new AbortController();
  private readonly started = Date.now();
  private opening: Promise<{ agent: HostAgent }>[] = [];
  private building: Promise<void> = Promise.resolve();
  private sourceBuild = false;
  /** Nodes of a cluster left out of this deploy: they did not answer. */
  skipped: string[] = [];
  /** Build lines printed before the Build step shows: kept for it. */
  private readonly early: string[] = [];
  private buildReport: (line: string) => void = (line) => { this.early.push(line); };

  constructor(private readonly options: DeploymentOptions) {
    this.ctx = { resolved: options.resolved, hosts: [], createdBy: options.createdBy, outcomes: [], seconds: {} };
  }

  /** The app runs on the hosts' Swarm cluster: the first host is its manager. */
  get swarm(): boolean {
    return this.ctx.resolved.config.engine === 'swarm';
  }

  get app(): string {
    return this.ctx.resolved.app;
  }

  /**
   * Starts what waits on nothing: the SSH handshakes first (they wait on the network while the
   * build loads its modules), then the local build, whose lines wait for the Build step.
   */
  async start(): Promise<void> {
    this.opening = this.options.addresses.map((address) => this.options.open(address));
    for (const open of this.opening) open.catch(() => {}); // awaited by connect()
    const { dir, plan } = this.ctx.resolved;
    const split = splitDockerfile(await appDockerfile(dir, plan));
    this.sourceBuild = typeof split !== 'string';
    this.building = buildForDeploy(this.ctx, split, (line) => this.buildReport(line), this.abort.signal);
    this.building.catch(() => {}); // awaited by build()
  }

  /** Every host's deploy session at once; the release number all of them will record. */
  async connect(): Promise<{ hosts: HostTarget[]; version: number }> {
    const t = Date.now();
    // Settled, not raced: every session is registered (and so closed) before a failure ends the command.
    const connected = await Promise.allSettled(this.options.addresses.map((address, index) => this.connectHost(address, index)));
    const failed = connected.find((outcome) => outcome.status === 'rejected');
    // On a cluster a node that does not answer is left out (Swarm does not schedule on a node that is down); its manager is not.
    // A refused key or a changed host key is not a node that is down: that fails the deploy.
    const down = (reason: unknown) => reason instanceof PaasError && reason.kind === 'ssh' && !/key/i.test(reason.message);
    if (failed && (!this.swarm || connected[0]!.status === 'rejected' || connected.some((o) => o.status === 'rejected' && !down(o.reason)))) throw failed.reason;
    this.skipped = connected.flatMap((outcome, index) => (outcome.status === 'rejected' ? [`${this.options.addresses[index]!.label}: ${(outcome.reason as Error).message}`] : []));
    this.ctx.hosts = connected.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    this.ctx.version = nextReleaseVersion(this.ctx.hosts.map((h) => h.state!));
    this.ctx.seconds.connect = (Date.now() - t) / 1000;
    return { hosts: this.ctx.hosts, version: this.ctx.version };
  }

  private async connectHost(address: HostAddress, index: number): Promise<HostTarget> {
    const connection = await this.opening[index]!;
    const session = new DeploySession(connection.agent, { app: this.app, by: this.ctx.createdBy, command: this.options.command, waitMs: this.options.lockWaitMs });
    this.options.holdUntilEnd(() => session.close());
    const host: HostTarget = {
      label: address.label, agent: connection.agent, session, sourceBytes: { bytes: 0 },
      reconnect: async () => (await this.options.open(address)).agent,
    };
    if (this.sourceBuild) {
      // Sent without waiting for the lock: the agent reads it only once it holds the lock.
      host.sent = this.building.then(() => sendSource(this.ctx, host));
      host.sent.catch(() => {}); // awaited by the host's release
    }
    inspectHost(host, await session.info());
    checkClaims(this.app, this.ctx.resolved.config.domains ?? [], host);
    return host;
  }

  /** The local build's result, once every host's architecture is known to match it. */
  async build(report: (line: string) => void): Promise<DeployBuild> {
    this.buildReport = report;
    this.early.splice(0).forEach(report);
    report(`next release: v${this.ctx.version}`);
    await this.building;
    await checkArchitectures(this.ctx.docker!, this.ctx.hosts);
    return this.ctx.build!;
  }

  /** Ships and rolls out on host `index` (after connect and build). */
  async release(index: number, report: (line: string) => void): Promise<HostOutcome> {
    return deployToHost(this.ctx, this.ctx.hosts[index]!, report);
  }

  /** The deploy as progress steps, in order. */
  steps(): Step<DeployContext>[] {
    const { addresses } = this.options;
    const connect: Step<DeployContext> = { title: `Connect to ${addresses.length === 1 ? addresses[0]!.label : `${addresses.length} hosts`}`, run: async (_c, report) => {
      await this.connect();
      for (const line of this.skipped) report(`left out (Swarm runs no task on a node that is down): ${line}`);
    } };
    const build: Step<DeployContext> = { title: `Build ${this.app}`, run: async (_c, report) => { await this.build(report); } };
    if (this.swarm) {
      // Every node gets the image first; then the manager updates the services.
      return [
        connect, build,
        { title: 'Image to the cluster\'s nodes', run: async (_c, report) => { await Promise.all(this.ctx.hosts.slice(1).map((_h, i) => this.release(i + 1, report))); } },
        { title: `Update the services on ${addresses[0]!.label}`, run: async (_c, report) => { await this.release(0, report); } },
      ];
    }
    return [
      connect, build,
      ...addresses.map((address, index) => ({
        title: `Release on ${address.label}`,
        run: async (_c: DeployContext, report: (line: string) => void) => { await this.release(index, report); },
      })),
    ];
  }

  /** Stops the local build if it still runs (a failed connection, a failed step). */
  stop(): void {
    this.abort.abort();
  }

  result(): DeployResult {
    this.ctx.seconds.total = (Date.now() - this.started) / 1000;
    return deployResult(this.ctx);
  }
}
