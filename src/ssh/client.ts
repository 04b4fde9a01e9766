import ssh2, { type ConnectConfig } from 'ssh2';
import { PaasError } from '../errors.js';
import { shellCommand } from '../util/shell.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string | Buffer;
  /** Host public keys accepted for this host, as "type base64" (known_hosts key fields). */
  hostKeys: string[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One SSH connection, reused for every command run on the host. */
export class SshConnection {
  private constructor(private readonly client: ssh2.Client, readonly target: SshTarget) {}

  static connect(target: SshTarget, timeoutMs = 15_000): Promise<SshConnection> {
    const client = new ssh2.Client();
    const accepted = new Set(target.hostKeys.map((k) => k.trim().split(/\s+/)[1]));
    let offered: string | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        offered = key.toString('base64');
        return accepted.has(offered);
      },
    };
    const where = `${target.username}@${target.host}:${target.port}`;
    return new Promise((resolve, reject) => {
      client.once('ready', () => resolve(new SshConnection(client, target)));
      client.once('error', (error: Error & { level?: string }) => {
        client.end();
        if (offered !== undefined && !accepted.has(offered)) {
          reject(new PaasError('hostKey', `the host key of ${where} is not one this machine trusts`, { where, hint: 'check the host\'s key out of band, then add it to known_hosts', cause: error }));
        } else {
          reject(new PaasError('ssh', `cannot connect over SSH: ${error.message}`, { where, hint: 'check the host, port, user and key', cause: error }));
        }
      });
      client.connect(config);
    });
  }

  /** Runs argv on the host (quoted by shellCommand, never concatenated), collecting its output. */
  exec(argv: readonly string[], input?: string | Buffer): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(shellCommand(argv), (error, channel) => {
        if (error) return reject(error);
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let code = -1;
        channel.on('data', (d: Buffer) => stdout.push(d));
        channel.stderr.on('data', (d: Buffer) => stderr.push(d));
        channel.on('exit', (exitCode: number | null) => { code = exitCode ?? -1; });
        channel.on('close', () => resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
        channel.end(input);
      });
    });
  }

  close(): void {
    this.client.end();
  }
}
