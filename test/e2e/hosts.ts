import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { paas, paasJson, runId, scratchDir, type CliResult } from './helpers.js';

export interface TestHost {
  name: string;
  /** ssh://USER@127.0.0.1:PORT (root, or the sandbox's --user) */
  url: string;
  user: string;
  sshPort: number;
  httpPort: number;
  /** nginx's port 443, published on 127.0.0.1. */
  httpsPort: number;
  keyPath: string;
  hostKey: string;
  container: string;
}

/**
 * A world of its own for one test file: HOME (so ~/.ssh/known_hosts is empty) and PAAS_HOME
 * (sandbox keys, paas's known_hosts) in a scratch directory, and sandbox hosts set up for paas.
 */
export function testWorld(label: string) {
  const scratch = scratchDir(`paas-${label}-`);
  const home = path.join(scratch.dir, 'home');
  mkdirSync(home);
  const env: Record<string, string> = { HOME: home, PAAS_HOME: path.join(scratch.dir, 'paas-home') };
  const hosts: TestHost[] = [];

  async function cli(args: string[], extraEnv: Record<string, string | undefined> = {}, cwd?: string): Promise<CliResult> {
    return paas(args, { env: { ...env, ...extraEnv }, ...(cwd ? { cwd } : {}) });
  }

  async function cliJson<T>(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<T> {
    return paasJson<T>(args, { env: { ...env, ...extraEnv } });
  }

  /** A sandbox server, set up with `paas host:setup` (apps at <app>.localhost on its HTTP port); `sandboxFlags` say its kind (`--flavour trixie`, `--user admin`). */
  async function addHost(suffix: string, sandboxFlags: string[] = [], options: { setup?: boolean } = {}): Promise<TestHost> {
    const name = `${label}-${suffix}-${runId}`.slice(0, 31);
    // One key for every host of the world, as a team has one deploy key for its servers.
    const sandbox = await cliJson<TestHost>(['sandbox:up', name, ...(hosts[0] ? ['--identity', hosts[0].keyPath] : []), ...sandboxFlags]);
    const host = { ...sandbox, name };
    hosts.push(host);
    if (options.setup === false) return host;
    await cliJson(['host:setup', '--host', host.url, '--identity', host.keyPath, '--public-port', String(host.httpPort)]);
    return host;
  }

  /** The flags that point a command at hosts. */
  function at(...targets: TestHost[]): string[] {
    return [...targets.flatMap((h) => ['--host', h.url]), '--identity', targets[0]!.keyPath];
  }

  async function cleanup(): Promise<void> {
    for (const host of hosts) await cli(['sandbox:down', host.name]);
    scratch.cleanup();
  }

  return { env, dir: scratch.dir, cli, cliJson, addHost, at, cleanup, hosts };
}

/** GET through a host's nginx with the app's Host header (fetch would replace Host). */
export function viaNginx(host: TestHost, app: string, pathname = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port: host.httpPort, path: pathname, headers: { Host: `${app}.localhost` }, timeout: 5000, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve({ status: 0, body: String(error) }));
  });
}
