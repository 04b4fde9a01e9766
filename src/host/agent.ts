import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PaasError, type ExitCodeName } from '../errors.js';
import type { AgentMessage } from '../agent/protocol.js';
import { AGENT_DIR, agentPath, standbySocket, verbArgv, type StandbyRequest, type Verb, type VerbInput, type VerbResults } from '../agent/protocol.js';
import type { SshConnection } from '../ssh/client.js';
import { packageRoot } from '../util/paths.js';

/** The bundled agent (dist/agent.mjs, built by `npm run build`): its bytes, its sha256 (hex) and the hash in its file name (the first 16 hex digits). */
export function agentBundle(): { code: Buffer; hash: string; sha256: string } {
  const file = path.join(packageRoot, 'dist', 'agent.mjs');
  let code: Buffer;
  try {
    code = readFileSync(file);
  } catch {
    throw new PaasError('failure', `the agent bundle ${file} is missing`, { hint: 'run `npm run build` in the paas checkout' });
  }
  const sha256 = createHash('sha256').update(code).digest('hex');
  return { code, hash: sha256.slice(0, 16), sha256 };
}

export interface CallOptions {
  stdin?: Readable | string | Buffer;
  onEvent?: (message: string, step?: string) => void;
  /** Use this build's standby agent when the host has one (a stream stdin only; see agent/standby.ts). */
  standby?: boolean;
  onStart?: (via: 'standby' | 'process') => void;
}

/** argv run as root: directly when logged in as root, else through passwordless sudo. */
export function asRoot(ssh: SshConnection, argv: string[]): string[] {
  return ssh.target.username === 'root' ? argv : ['sudo', '-n', ...argv];
}

/**
 * Copies stdin to FILE ($2, in DIR $1) if its sha256 is SHA256 ($3): into a temp file of its own
 * in the same directory (two installs at once do not share one), flushed to disk, checked, then
 * renamed over FILE. The script is constant; the paths and the hash come as arguments.
 */
export const INSTALL_SCRIPT = [
  'set -e; umask 077; mkdir -p "$1"',
  'tmp=$(mktemp "$2.XXXXXX")',
  'trap \'rm -f "$tmp"\' EXIT; trap \'exit 1\' HUP INT TERM PIPE',
  'cat > "$tmp"',
  'sync "$tmp" 2>/dev/null || sync',
  'sum=$(sha256sum < "$tmp")',
  'if [ "${sum%% *}" != "$3" ]; then echo "the agent arrived with sha256 ${sum%% *}, not $3" >&2; exit 1; fi',
  'mv -f "$tmp" "$2"; tmp=',
  'sync "$1" 2>/dev/null || true',
].join('; ');

/** The sha256 that `sha256sum FILE` printed for file, if it did (other lines, such as a login script's, are ignored). */
export function sha256sumOf(stdout: string, file: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.*)$/.exec(line.replace(/\r$/, ''));
    if (match?.[2] === file) return match[1];
  }
  return undefined;
}

/**
 * A typed client of the agent on one host, over one SSH connection. The agent file is named by
 * its hash, so a changed build is uploaded once and never confused with an old one.
 */
export class HostAgent {
  private readonly bundle = agentBundle();
  private installed = false;

  constructor(readonly ssh: SshConnection, readonly label: string) {}

  get path(): string {
    return agentPath(this.bundle.hash);
  }

  /**
   * Uploads the agent unless the file on the host has this build's exact content (its whole
   * sha256: a truncated or altered file is replaced). Returns whether it uploaded.
   */
  async install(): Promise<boolean> {
    if (this.installed) return false;
    const present = await this.ssh.exec(asRoot(this.ssh, ['sha256sum', this.path]));
    const upload = sha256sumOf(present.stdout, this.path) !== this.bundle.sha256;
    if (upload) {
      const result = await this.ssh.exec(asRoot(this.ssh, ['sh', '-c', INSTALL_SCRIPT, 'sh', AGENT_DIR, this.path, this.bundle.sha256]), this.bundle.code);
      if (result.code !== 0) {
        throw new PaasError('host', `cannot install the paas agent: ${result.stderr.trim()}`, {
          where: this.label,
          hint: 'the SSH user must be root or have passwordless sudo, and the host needs coreutils (mktemp, sha256sum)',
        });
      }
    }
    this.installed = true;
    return upload;
  }

  /**
   * Takes the app's lock on this host and holds it until release() (or until the connection
   * drops: the agent releases it when its stdin closes).
   */
  async holdLock(app: string, holder: string, command: string, waitMs = 0): Promise<{ token: string; release: () => Promise<void> }> {
    const stdin = new PassThrough();
    let onToken: (token: string) => void = () => {};
    const token = new Promise<string>((resolve) => { onToken = resolve; });
    const held = this.call('lock', { app, by: holder, command, wait: waitMs }, {
      stdin,
      onEvent: (message, step) => {
        if (step === 'locked') onToken(message);
      },
    });
    const value = await Promise.race([token, held.then(() => { throw new PaasError('host', 'the agent released the lock at once'); })]);
    return {
      token: value,
      release: async () => {
        stdin.end();
        await held.catch(() => {});
      },
    };
  }

  /**
   * Calls an agent verb; resolves with its result, or throws its error as a PaasError. With
   * `standby`, the verb goes to this build's standby agent when the host has one (see
   * agent/standby.ts), else to a new agent process; `onStart` is told which.
   */
  async call<V extends Verb>(verb: V, input: VerbInput<V>, options: CallOptions = {}): Promise<VerbResults[V]> {
    type T = VerbResults[V];
    const args = verbArgv(verb, input);
    const output = new AgentOutput(options.onEvent);
    if (options.standby && options.stdin !== undefined && typeof options.stdin !== 'string' && !Buffer.isBuffer(options.stdin)) {
      const ended = await this.viaStandby(verb, args, options.stdin, output, () => options.onStart?.('standby'));
      if (ended) return output.outcome<T>(verb, this.label, 0, true);
    }
    options.onStart?.('process');
    await this.install();
    const code = await this.ssh.execStream(asRoot(this.ssh, ['node', this.path, verb, ...args]), {
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      onStdout: (chunk) => output.push(chunk),
      onStderr: (chunk) => output.stderr.push(chunk.toString('utf8')),
    });
    return output.outcome<T>(verb, this.label, code, false);
  }

  /**
   * Runs the verb on the standby agent: resolves true once the channel ended (the outcome is in
   * `output`), false when there is no standby to talk to (nothing was read from `stdin` then).
   */
  private async viaStandby(verb: string, args: string[], stdin: Readable, output: AgentOutput, onGreeted: () => void): Promise<boolean> {
    let channel: Awaited<ReturnType<SshConnection['openStreamLocal']>>;
    try {
      channel = await this.ssh.openStreamLocal(standbySocket(this.bundle.hash));
    } catch {
      return false;
    }
    return new Promise((resolve) => {
      // The standby says hello first; a socket left by a dead standby closes without a word.
      // One data handler and one close handler for the channel's whole life: a standby that fails
      // at once sends everything and closes before the request could even be read.
      let greeted = false;
      let seen = Buffer.alloc(0);
      channel.on('data', (chunk: Buffer) => {
        if (greeted) return output.push(chunk);
        seen = Buffer.concat([seen, chunk]);
        const newline = seen.indexOf(0x0a);
        if (newline < 0) return;
        let hello: AgentMessage | undefined;
        try { hello = JSON.parse(seen.subarray(0, newline).toString('utf8')) as AgentMessage; } catch { hello = undefined; }
        if (hello?.type !== 'event' || hello.step !== 'standby') return void channel.destroy();
        greeted = true;
        onGreeted();
        if (newline + 1 < seen.length) output.push(seen.subarray(newline + 1));
        channel.write(`${JSON.stringify({ argv: [verb, ...args] } satisfies StandbyRequest)}\n`);
        stdin.on('error', () => channel.close());
        stdin.pipe(channel);
      });
      channel.on('error', () => {});
      // The standby closes its socket when it is done, and sshd passes that on as EOF; it closes
      // the channel only once this side has ended too (unlike an exec channel, which closes when
      // the process exits). Ended before the hello: nothing was read from stdin, and the caller
      // starts an agent instead.
      const done = () => {
        stdin.unpipe(channel);
        channel.close();
        resolve(greeted);
      };
      channel.on('end', done);
      channel.on('close', done);
    });
  }
}

/** The agent's stdout, as JSON lines: events go to onEvent; the last result or error is kept. */
class AgentOutput {
  private buffered = '';
  /** A character split between two SSH packets stays whole. */
  private readonly utf8 = new StringDecoder('utf8');
  private last: AgentMessage | undefined;
  readonly stderr: string[] = [];

  constructor(private readonly onEvent?: (message: string, step?: string) => void) {}

  push(chunk: Buffer): void {
    this.buffered += this.utf8.write(chunk);
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    lines.forEach((line) => this.line(line));
  }

  private line(line: string): void {
    if (!line.trim()) return;
    let message: AgentMessage;
    try {
      message = JSON.parse(line) as AgentMessage;
    } catch {
      this.stderr.push(line);
      return;
    }
    if (message.type === 'event') this.onEvent?.(message.message, message.step);
    else this.last = message;
  }

  /** The verb's result, or its error as a PaasError. */
  outcome<T>(verb: string, label: string, code: number, standby: boolean): T {
    this.line(this.buffered + this.utf8.end());
    this.buffered = '';
    const last = this.last;
    if (last?.type === 'result' && code === 0) return last.data as T;
    if (last?.type === 'error') {
      throw new PaasError(last.kind as ExitCodeName, last.message, {
        where: last.where ? `${label}: ${last.where}` : label,
        ...(last.details ? { details: last.details } : {}),
        ...(last.hint ? { hint: last.hint } : {}),
      });
    }
    if (standby) {
      throw new PaasError('ssh', `the connection to the agent ended before it finished (${verb})`, {
        where: label,
        hint: 'check the network and run the command again',
      });
    }
    const text = this.stderr.join('').trim();
    throw new PaasError('host', `the paas agent failed (${verb}, exit ${code})`, {
      where: label,
      details: text.split('\n').slice(-10),
      hint: /node: (command )?not found|No such file/.test(text) ? 'Node.js >= 18 is needed on the host: run `paas host:setup`' : 'run `paas host:setup` for this host, then try again',
    });
  }
}
