import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaasError } from '../../src/errors.js';
import type { HostAddress } from '../../src/ssh/connect.js';
import type { HostCommand, HostSession } from '../../src/ui/host-command.js';
import type { DomainsView, LbView, RolloutResult } from '../../src/agent/protocol.js';
import type { AppState } from '../../src/release/types.js';
import Domains from '../../src/commands/domains/index.js';
import LbSet from '../../src/commands/lb/set.js';
import Rollback from '../../src/commands/rollback.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What a scripted host saw, in order: calls (verb and input), locks taken and released. */
type Seen = { host: string; event: string; verb?: string; input?: Record<string, unknown> };

/**
 * A host agent that answers from a script: `answers[verb](input)` is the result of a verb, a
 * thrown error its failure; `lockHeld` makes holdLock fail as a held lock does.
 */
function scriptedHost(label: string, seen: Seen[], answers: Record<string, (input: Record<string, unknown>) => unknown>, lockHeld = false): HostSession {
  let tokens = 0;
  const agent = {
    label,
    async call(verb: string, input: Record<string, unknown>) {
      seen.push({ host: label, event: 'call', verb, input });
      const answer = answers[verb];
      if (!answer) throw new Error(`scripted host ${label}: no answer for ${verb}`);
      return answer(input);
    },
    async holdLock(app: string) {
      if (lockHeld) throw new PaasError('lock', `${app} is locked on ${label} by someone@else (deploy)`);
      const token = `${label}-token-${++tokens}`;
      seen.push({ host: label, event: `lock ${token}` });
      return { token, release: async () => { seen.push({ host: label, event: `unlock ${token}` }); } };
    },
  };
  return { address: { host: label, label } as HostAddress, ssh: { close() {} } as HostSession['ssh'], agent: agent as unknown as HostSession['agent'] };
}

/** `Command` with its connections replaced by scripted hosts (by host name). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function scripted<T extends new (...args: any[]) => HostCommand & { run(): Promise<unknown> }>(command: T, hosts: Record<string, HostSession>): T {
  return class extends command {
    protected override async open(address: HostAddress): Promise<HostSession> {
      const host = hosts[address.host];
      if (!host) throw new Error(`no scripted host ${address.label}`);
      return host;
    }
  };
}

let config: Config;
beforeAll(async () => { config = await Config.load({ root }); });

let stdout: string[] = [];
let stderr: string[] = [];
function capture(): void {
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { stdout.push(String(chunk)); return true; });
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => { stdout.push(`${String(line)}\n`); });
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => { stderr.push(`${String(line)}\n`); });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { stderr.push(String(chunk)); return true; });
}
afterEach(() => { vi.restoreAllMocks(); });

const hostFlags = ['--app', 'shop', '--host', 'ssh://root@a.test', '--host', 'ssh://root@b.test'];

describe('list commands (HostCommand.eachHost): each host in turn, answers with their host', () => {
  const view = (name: string): DomainsView => ({ app: 'shop', released: true, domains: [{ name: `shop.${name}`, source: 'default', https: false }] });

  it('domains asks every host, in order, and prints each host\'s lines', async () => {
    const seen: Seen[] = [];
    const Command = scripted(Domains, {
      'a.test': scriptedHost('a.test', seen, { domains: () => view('a.test') }),
      'b.test': scriptedHost('b.test', seen, { domains: () => view('b.test') }),
    });
    capture();
    const result = await (Command as typeof Domains).run(hostFlags, config);
    vi.restoreAllMocks();
    expect(seen).toEqual([
      { host: 'a.test', event: 'call', verb: 'domains', input: { app: 'shop' } },
      { host: 'b.test', event: 'call', verb: 'domains', input: { app: 'shop' } },
    ]);
    expect(result.map((r) => [r.host, r.domains[0]!.name])).toEqual([['root@a.test:22', 'shop.a.test'], ['root@b.test:22', 'shop.b.test']]);
    const printed = stdout.join('');
    expect(printed).toContain('shop.a.test');
    expect(printed.indexOf('shop.a.test')).toBeLessThan(printed.indexOf('shop.b.test'));
  });

  it('--json prints one document with every host\'s answer, and no lines', async () => {
    const seen: Seen[] = [];
    const Command = scripted(Domains, {
      'a.test': scriptedHost('a.test', seen, { domains: () => view('a.test') }),
      'b.test': scriptedHost('b.test', seen, { domains: () => view('b.test') }),
    });
    capture();
    await (Command as typeof Domains).run([...hostFlags, '--json'], config);
    vi.restoreAllMocks();
    const document = JSON.parse(stdout.join('')) as (DomainsView & { host: string })[];
    expect(document.map((d) => [d.host, d.domains[0]!.name])).toEqual([['root@a.test:22', 'shop.a.test'], ['root@b.test:22', 'shop.b.test']]);
  });
});

describe('lb:set (HostCommand.eachHostLocked): the lock first, its token in the call, released at the end', () => {
  it('locks, calls with the token, and unlocks each host before the command ends', async () => {
    const seen: Seen[] = [];
    const answer = (): LbView => ({ app: 'shop', balance: 'least_conn', source: 'lb:set', replicas: [{ replica: 'web.1', port: 41001 }] });
    const Command = scripted(LbSet, {
      'a.test': scriptedHost('a.test', seen, { 'lb-set': answer }),
      'b.test': scriptedHost('b.test', seen, { 'lb-set': answer }),
    });
    capture();
    await (Command as typeof LbSet).run(['least_conn', ...hostFlags], config);
    vi.restoreAllMocks();
    expect(seen.map((s) => `${s.host} ${s.event}${s.verb ? ` ${s.verb} ${String(s.input!['lock-token'])} ${String(s.input!.strategy)}` : ''}`)).toEqual([
      'a.test lock a.test-token-1',
      'a.test call lb-set a.test-token-1 least_conn',
      'b.test lock b.test-token-1',
      'b.test call lb-set b.test-token-1 least_conn',
      'a.test unlock a.test-token-1',
      'b.test unlock b.test-token-1',
    ]);
  });

  it('a bad strategy is refused before any host is reached', async () => {
    const seen: Seen[] = [];
    const Command = scripted(LbSet, { 'a.test': scriptedHost('a.test', seen, {}), 'b.test': scriptedHost('b.test', seen, {}) });
    capture();
    await expect((Command as typeof LbSet).run(['fastest', ...hostFlags], config)).rejects.toMatchObject({ oclif: { exit: 2 } });
    vi.restoreAllMocks();
    expect(seen).toEqual([]);
    expect(stderr.join('')).toContain('fastest');
  });
});

describe('rollback (lockEveryHost, then changeEveryHost)', () => {
  const state = (versions: number[]): AppState => ({
    app: 'shop', current: versions.at(-1), releases: versions.map((version) => ({ version, image: `paas/shop:${version}` })),
  } as unknown as AppState);
  const rolledBack = (input: Record<string, unknown>): RolloutResult => ({ version: input.version, image: 'paas/shop:1', urls: ['http://shop.test/'] } as unknown as RolloutResult);

  it('locks and reads every host before changing any; every host records the same next number', async () => {
    const seen: Seen[] = [];
    const Command = scripted(Rollback, {
      'a.test': scriptedHost('a.test', seen, { releases: () => state([1, 2]), rollback: rolledBack }),
      'b.test': scriptedHost('b.test', seen, { releases: () => state([1, 2, 3]), rollback: rolledBack }),
    });
    capture();
    const result = await (Command as typeof Rollback).run(['v1', ...hostFlags], config);
    vi.restoreAllMocks();
    expect(seen.map((s) => `${s.host} ${s.event}${s.verb ? ` ${s.verb}` : ''}`)).toEqual([
      'a.test lock a.test-token-1', 'a.test call releases',
      'b.test lock b.test-token-1', 'b.test call releases',
      'a.test call rollback', 'b.test call rollback',
      'a.test unlock a.test-token-1', 'b.test unlock b.test-token-1',
    ]);
    const calls = seen.filter((s) => s.verb === 'rollback').map((s) => s.input);
    expect(calls).toEqual([
      { app: 'shop', version: 4, by: expect.any(String), keep: 5, 'lock-token': 'a.test-token-1', to: 1 },
      { app: 'shop', version: 4, by: expect.any(String), keep: 5, 'lock-token': 'b.test-token-1', to: 1 },
    ]);
    expect(result).toEqual({ app: 'shop', release: 4, rolledBackTo: 1, hosts: [{ host: 'root@a.test:22', version: 4 }, { host: 'root@b.test:22', version: 4 }] });
  });

  it('a lock held on the second host fails the command before the first host changes', async () => {
    const seen: Seen[] = [];
    const Command = scripted(Rollback, {
      'a.test': scriptedHost('a.test', seen, { releases: () => state([1, 2]), rollback: rolledBack }),
      'b.test': scriptedHost('b.test', seen, { releases: () => state([1, 2]) }, true),
    });
    capture();
    await expect((Command as typeof Rollback).run([...hostFlags], config)).rejects.toMatchObject({ oclif: { exit: 10 } });
    vi.restoreAllMocks();
    expect(seen.map((s) => `${s.host} ${s.event}${s.verb ? ` ${s.verb}` : ''}`)).toEqual([
      'a.test lock a.test-token-1', 'a.test call releases', 'a.test unlock a.test-token-1',
    ]);
    expect(stderr.join('')).toContain('locked on b.test');
  });
});
