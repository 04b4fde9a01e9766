import { isIPv6 } from 'node:net';
import { PaasError } from '../errors.js';
import { parseHostUrl, quote } from '../config/validators.js';
import { SshConnection } from './client.js';
import type { Identity } from './identity.js';
import { KnownHosts, hostKeyVerifier, knownHostsFiles } from './known-hosts.js';

export interface HostAddress {
  user: string;
  host: string;
  port: number;
  /** 'user@host:port' ('user@[v6addr]:port' for IPv6). */
  label: string;
}

/** ssh://user@host:port, user@host or host; the user defaults to root, the port to 22. */
export function parseHost(value: string): HostAddress {
  const url = parseHostUrl(value);
  if (!url) {
    throw new PaasError('usage', `${quote(value)} is not an SSH host`, { hint: 'write it as ssh://user@host:port, user@host or host' });
  }
  const { host, user = 'root', port = 22 } = url;
  return { user, host, port, label: `${user}@${isIPv6(host) ? `[${host}]` : host}:${port}` };
}

export interface ConnectOptions {
  identity: Identity;
  /** Accept and record the key of a host seen for the first time (--trust-host-key). */
  trustHostKey?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Told the known_hosts line written when a new host key was trusted. */
  onHostKeyTrusted?: (line: string) => void;
}

/** Connects and logs in, checking the host key against the known_hosts files. */
export async function connectHost(address: HostAddress, options: ConnectOptions): Promise<SshConnection> {
  const { user, host, port } = address;
  const files = knownHostsFiles(options.env);
  const verifier = hostKeyVerifier({
    knownHosts: await KnownHosts.load(files),
    host,
    port,
    user,
    trustUnknown: options.trustHostKey ?? false,
    trustFile: files[0]!,
    ...(options.onHostKeyTrusted ? { onTrusted: options.onHostKeyTrusted } : {}),
  });
  const { privateKey, agent } = options.identity;
  const connection = await SshConnection.connect({
    host,
    port,
    username: user,
    ...(privateKey ? { privateKey } : {}),
    ...(agent ? { agent } : {}),
    verifyHostKey: verifier.verify,
  }, options.timeoutMs);
  try {
    await verifier.commit();
  } catch (error) {
    connection.close();
    throw new PaasError('ssh', `cannot record the host key of ${address.label}: ${(error as Error).message}`, {
      where: files[0],
      hint: 'check that the known_hosts file and its directory are writable, or set PAAS_KNOWN_HOSTS',
      cause: error,
    });
  }
  return connection;
}

/** The host key a server offers, read without logging in (for `paas host:trust`). */
export async function fetchHostKey(address: HostAddress, timeoutMs?: number): Promise<Buffer> {
  let offered: Buffer | undefined;
  // Refusing the key ends the handshake before any authentication is attempted.
  const refusal = new PaasError('hostKey', 'host key read');
  try {
    const connection = await SshConnection.connect({
      host: address.host,
      port: address.port,
      username: address.user,
      verifyHostKey: (key) => {
        offered = key;
        return refusal;
      },
    }, timeoutMs);
    connection.close();
  } catch (error) {
    if (error === refusal && offered) return offered;
    throw error;
  }
  throw new PaasError('ssh', 'the server accepted a connection without checking its host key', { where: address.label });
}
