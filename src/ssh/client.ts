import type { Readable } from 'node:stream';
import ssh2, { type ConnectConfig } from 'ssh2';
import { PaasError } from '../errors.js';
import { shellCommand } from '../util/shell.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** A private key; when absent, `agent` must be set. */
  privateKey?: string | Buffer;
  /** Path of an ssh-agent socket (SSH_AUTH_SOCK). */
  agent?: string;
  /**
   * Decides whether the offered host key (raw SSH wire-format blob) is trusted. Returning a
   * PaasError refuses the connection with that error (unknown or changed key).
   */
  verifyHostKey: (key: Buffer) => PaasError | undefined;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecStreamOptions {
  /** Streamed into the command's stdin, then EOF. Without it, stdin is closed at once. */
  stdin?: Readable | string | Buffer;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

/** One SSH connection, reused for every command run on the host during a paas command. */
export class SshConnection {
  private closed = false;

  private constructor(private readonly client: ssh2.Client, readonly target: SshTarget) {
    client.on('close', () => { this.closed = true; });
    // A dropped connection fails the commands in flight (their channels close); nothing to throw here.
    client.on('error', () => { this.closed = true; });
  }

  get where(): string {
    return `${this.target.username}@${this.target.host}:${this.target.port}`;
  }

  static connect(target: SshTarget, timeoutMs = 15_000): Promise<SshConnection> {
    const client = new ssh2.Client();
    let refusal: PaasError | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.username,
      ...(target.privateKey ? { privateKey: target.privateKey } : {}),
      ...(target.agent ? { agent: target.agent } : {}),
      readyTimeout: timeoutMs,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        refusal = target.verifyHostKey(key);
        return refusal === undefined;
      },
    };
    const where = `${target.username}@${target.host}:${target.port}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      client.once('ready', () => {
        settled = true;
        client.removeListener('error', onConnectError);
        resolve(new SshConnection(client, target));
      });
      // ssh2 can emit more than one error while giving up (a timeout, then the lost socket).
      const onConnectError = (error: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (refusal) return reject(refusal);
        const auth = error.level === 'client-authentication';
        reject(new PaasError('ssh', auth ? `the host refused every key offered for ${target.username}` : `cannot connect over SSH: ${error.message}`, {
          where,
          hint: auth
            ? `add your public key to ~${target.username}/.ssh/authorized_keys on the host, or pass the right key with --identity`
            : 'check the host name, port and that sshd is running there',
          cause: error,
        }));
      };
      client.on('error', onConnectError);
      client.connect(config);
    });
  }

  /** Runs argv on the host, streaming stdin and output; resolves with the exit code. */
  execStream(argv: readonly string[], options: ExecStreamOptions = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.lostError());
      this.client.exec(shellCommand(argv), (error, channel) => {
        if (error) return reject(new PaasError('ssh', `cannot run a command over SSH: ${error.message}`, { where: this.where, cause: error }));
        let code: number | undefined;
        channel.on('data', (d: Buffer) => options.onStdout?.(d));
        channel.stderr.on('data', (d: Buffer) => options.onStderr?.(d));
        channel.on('exit', (exitCode: number | null) => { code = exitCode ?? undefined; });
        channel.on('close', () => (code === undefined ? reject(this.lostError()) : resolve(code)));
        const { stdin } = options;
        if (stdin === undefined || typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
          channel.end(stdin);
        } else {
          stdin.on('error', () => channel.close());
          stdin.pipe(channel);
        }
      });
    });
  }

  /**
   * Starts argv on the host and hands over the raw channel (for `paas run`: interactive stdio,
   * optionally on a pty of `pty.rows` x `pty.cols`). The caller ends and closes it.
   */
  openChannel(argv: readonly string[], pty?: { rows: number; cols: number; term: string }): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.lostError());
      this.client.exec(shellCommand(argv), pty ? { pty: { rows: pty.rows, cols: pty.cols, term: pty.term } } : {}, (error, channel) => {
        if (error) return reject(new PaasError('ssh', `cannot run a command over SSH: ${error.message}`, { where: this.where, cause: error }));
        resolve(channel);
      });
    });
  }

  /** Opens a channel to a unix socket on the host (OpenSSH stream-local forwarding); rejects when sshd cannot. */
  openStreamLocal(socketPath: string): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.lostError());
      this.client.openssh_forwardOutStreamLocal(socketPath, (error, channel) => (error ? reject(error) : resolve(channel)));
    });
  }

  /** Runs argv on the host (quoted by shellCommand, never concatenated), collecting its output. */
  async exec(argv: readonly string[], stdin?: string | Buffer): Promise<ExecResult> {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const code = await this.execStream(argv, { ...(stdin !== undefined ? { stdin } : {}), onStdout: (d) => stdout.push(d), onStderr: (d) => stderr.push(d) });
    return { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  }

  private lostError(): PaasError {
    return new PaasError('ssh', 'the SSH connection was lost before the command finished', {
      where: this.where,
      hint: 'check the network and run the command again (paas releases shows what the host serves)',
    });
  }

  close(): void {
    this.client.end();
  }
}
