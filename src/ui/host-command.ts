import os from 'node:os';
import { Flags } from '@oclif/core';
import { PaasError } from '../errors.js';
import { loadConfig } from '../config/index.js';
import type { AppConfig } from '../config/types.js';
import { checkAppName } from '../config/validators.js';
import { connectHost, parseHost, type HostAddress } from '../ssh/connect.js';
import { resolveIdentity } from '../ssh/identity.js';
import type { SshConnection } from '../ssh/client.js';
import { HostAgent } from '../host/agent.js';
import type { AppState } from '../release/types.js';
import { PaasCommand } from './command.js';
import { runSteps } from './progress.js';
import { appNameFromDir } from '../app.js';

export interface HostSession {
  address: HostAddress;
  ssh: SshConnection;
  agent: HostAgent;
}

/** Flags of every command that reaches hosts, with their environment fallbacks. */
export const hostFlags = {
  app: Flags.string({ char: 'a', description: 'app name (default: app in paas.yml, else the directory name)', env: 'PAAS_APP', helpGroup: 'HOST' }),
  host: Flags.string({ char: 'H', description: 'target host ssh://user@host:port (repeatable; default: PAAS_HOST, comma-separated, else hosts in paas.yml)', multiple: true, helpGroup: 'HOST' }),
  identity: Flags.string({ char: 'i', description: 'SSH private key file (default: PAAS_SSH_KEY, PAAS_IDENTITY, ssh-agent, ~/.ssh/id_*)', helpGroup: 'HOST' }),
  'trust-host-key': Flags.boolean({ description: 'trust a host key seen for the first time and record it in known_hosts (a changed key is still refused)', helpGroup: 'HOST' }),
};

export interface HostFlagValues {
  app?: string;
  host?: string[];
  identity?: string;
  'trust-host-key'?: boolean;
}

/** Who asked for a change, as recorded in releases. */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  const user = env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? os.userInfo().username;
  return `${user}@${os.hostname()}`;
}

export function hostAddresses(flags: HostFlagValues, config: AppConfig, env: NodeJS.ProcessEnv = process.env): HostAddress[] {
  const values = flags.host?.length ? flags.host : env.PAAS_HOST ? env.PAAS_HOST.split(',').map((h) => h.trim()).filter(Boolean) : config.hosts ?? [];
  if (values.length === 0) {
    throw new PaasError('usage', 'no host to talk to', { hint: 'pass --host ssh://user@host, set PAAS_HOST, or list hosts: in paas.yml' });
  }
  return values.map(parseHost);
}

/**
 * The hosts that keep the app's releases: every host on the single-host engine; on a cluster
 * (`engine: swarm`), the manager listed first, which changes the services for all nodes.
 */
export function releaseHosts(flags: HostFlagValues, config: AppConfig, env: NodeJS.ProcessEnv = process.env): HostAddress[] {
  const addresses = hostAddresses(flags, config, env);
  return config.engine === 'swarm' ? addresses.slice(0, 1) : addresses;
}

/** How long --wait waits for another command's lock. */
export const LOCK_WAIT_MS = 600_000;

export abstract class HostCommand extends PaasCommand {
  private sessions: HostSession[] = [];
  private locks: (() => Promise<void>)[] = [];

  /** paas.yml of the directory (or {} when there is none). */
  protected async configOf(dir: string): Promise<AppConfig> {
    return loadConfig(dir);
  }

  /** --app / PAAS_APP, else paas.yml's app:, else the directory's name (as deploy names it). */
  protected appName(flags: HostFlagValues, config: AppConfig, fallback: string = appNameFromDir(process.cwd())): string {
    const app = flags.app ?? config.app ?? fallback;
    if (!app) throw new PaasError('usage', 'which app?', { hint: 'pass --app NAME, set PAAS_APP, or run in a directory whose paas.yml has app:' });
    const problem = checkAppName(app);
    if (problem) throw new PaasError('usage', `invalid app name ${JSON.stringify(app)}: ${problem}`);
    return app;
  }

  /** Connects to one host; every connection is closed when the command ends. */
  protected async open(address: HostAddress, flags: HostFlagValues): Promise<HostSession> {
    const identity = await resolveIdentity({ ...(flags.identity ? { identity: flags.identity } : {}) });
    const timeoutMs = Number(process.env.PAAS_SSH_TIMEOUT) || undefined;
    const ssh = await connectHost(address, { identity, trustHostKey: flags['trust-host-key'] ?? false, ...(timeoutMs ? { timeoutMs } : {}) });
    const session = { address, ssh, agent: new HostAgent(ssh, address.label) };
    this.sessions.push(session);
    return session;
  }

  /**
   * Connects to every host, locks the app on each (one after another, so a held lock fails the
   * command before anything changes), and reads its releases: where a change of every host starts.
   */
  protected async lockEveryHost(addresses: HostAddress[], flags: HostFlagValues, app: string, what: string, wait: boolean): Promise<{ agents: HostAgent[]; tokens: string[]; states: AppState[] }> {
    const agents: HostAgent[] = [];
    const tokens: string[] = [];
    const states: AppState[] = [];
    for (const address of addresses) {
      const session = await this.open(address, flags);
      tokens.push(await this.lockApp(session, app, what, wait));
      agents.push(session.agent);
      states.push(await session.agent.call('releases', { app }));
    }
    return { agents, tokens, states };
  }

  /**
   * Runs `work` on each host in turn (each connected first; every connection is closed when the
   * command ends) and returns its answers with their host; unless --json, `print` shows each.
   */
  protected async eachHost<A extends object>(addresses: HostAddress[], flags: HostFlagValues, work: (session: HostSession) => Promise<A>, print?: (host: string, answer: A) => string[]): Promise<(A & { host: string })[]> {
    const results: (A & { host: string })[] = [];
    for (const address of addresses) {
      const answer = await work(await this.open(address, flags));
      results.push({ host: address.label, ...answer });
      if (print && !this.jsonEnabled()) for (const line of print(address.label, answer)) this.log(line);
    }
    return results;
  }

  /** eachHost with the app locked on each host first (for the rest of the command): `work` gets the lock's token. */
  protected async eachHostLocked<A extends object>(addresses: HostAddress[], flags: HostFlagValues, app: string, what: string, work: (session: HostSession, token: string) => Promise<A>, print?: (host: string, answer: A) => string[]): Promise<(A & { host: string })[]> {
    return this.eachHost(addresses, flags, async (session) => work(session, await this.lockApp(session, app, what, false)), print);
  }

  /**
   * After lockEveryHost: runs `change` on each host in turn, as a step of the progress (the
   * first failure stops the rest); results in host order.
   */
  protected async changeEveryHost<A>(locked: { agents: HostAgent[]; tokens: string[] }, addresses: HostAddress[], title: (host: string) => string, change: (agent: HostAgent, token: string, report: (line: string) => void) => Promise<A>): Promise<A[]> {
    const results: A[] = [];
    await runSteps<object>(locked.agents.map((agent, index) => ({
      title: title(addresses[index]!.label),
      run: async (_c, report) => { results[index] = await change(agent, locked.tokens[index]!, report); },
    })), {}, { json: this.jsonEnabled() });
    return results;
  }

  /** The open session of an address (after open()). */
  protected sessionOf(address: HostAddress): HostSession | undefined {
    return this.sessions.find((s) => s.address.label === address.label);
  }

  /** Locks the app on a host for the rest of the command; returns the token agent verbs present. */
  protected async lockApp(session: HostSession, app: string, command: string, wait: boolean): Promise<string> {
    const lock = await session.agent.holdLock(app, whoAmI(), command, wait ? LOCK_WAIT_MS : 0);
    this.holdUntilEnd(lock.release);
    return lock.token;
  }

  /** Something that holds a lock on a host (a lock, a deploy session): released when the command ends, before the connections close. */
  protected holdUntilEnd(release: () => Promise<void>): void {
    this.locks.push(release);
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    // Released (and awaited) before the connections close, so a next command finds it free.
    await Promise.all(this.locks.map((release) => release()));
    this.locks = [];
    for (const session of this.sessions) session.ssh.close();
    this.sessions = [];
    return super.finally(error);
  }
}
