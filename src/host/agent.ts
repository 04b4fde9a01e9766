import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { PaasError, type ExitCodeName } from '../errors.js';
import type { AgentMessage } from '../agent/protocol.js';
import { AGENT_DIR, agentPath } from '../agent/protocol.js';
import type { SshConnection } from '../ssh/client.js';
import { packageRoot } from '../util/paths.js';

/** The bundled agent (dist/agent.mjs, built by `npm run build`) and its content hash. */
export function agentBundle(): { code: Buffer; hash: string } {
  const file = path.join(packageRoot, 'dist', 'agent.mjs');
  let code: Buffer;
  try {
    code = readFileSync(file);
  } catch {
    throw new PaasError('failure', `the agent bundle ${file} is missing`, { hint: 'run `npm run build` in the paas checkout' });
  }
  return { code, hash: createHash('sha256').update(code).digest('hex').slice(0, 16) };
}

export interface CallOptions {
  stdin?: Readable | string | Buffer;
  onEvent?: (message: string, step?: string) => void;
}

/** argv run as root: directly when logged in as root, else through passwordless sudo. */
export function asRoot(ssh: SshConnection, argv: string[]): string[] {
  return ssh.target.username === 'root' ? argv : ['sudo', '-n', ...argv];
}

/** Copies stdin to FILE via a temp file and rename; the script is constant, paths come as arguments. */
const INSTALL_SCRIPT = 'set -e; umask 077; mkdir -p "$1"; cat > "$2.tmp"; mv "$2.tmp" "$2"';

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

  /** Uploads the agent unless this exact build is already there. Returns whether it uploaded. */
  async install(): Promise<boolean> {
    if (this.installed) return false;
    const present = await this.ssh.exec(asRoot(this.ssh, ['test', '-f', this.path]));
    if (present.code !== 0) {
      const upload = await this.ssh.exec(asRoot(this.ssh, ['sh', '-c', INSTALL_SCRIPT, 'sh', AGENT_DIR, this.path]), this.bundle.code);
      if (upload.code !== 0) {
        throw new PaasError('host', `cannot install the paas agent: ${upload.stderr.trim()}`, { where: this.label, hint: 'the SSH user must be root or have passwordless sudo' });
      }
    }
    this.installed = true;
    return present.code !== 0;
  }

  /**
   * Takes the app's lock on this host and holds it until release() (or until the connection
   * drops: the agent releases it when its stdin closes). With `info`, also returns what the
   * `info --app` verb would, read under the lock.
   */
  async holdLock(app: string, holder: string, command: string, waitMs = 0, info = false): Promise<{ token: string; info?: unknown; release: () => Promise<void> }> {
    const stdin = new PassThrough();
    let onToken: (token: string) => void = () => {};
    const token = new Promise<string>((resolve) => { onToken = resolve; });
    let facts: unknown;
    const held = this.call('lock', ['--app', app, '--by', holder, '--command', command, '--wait', String(waitMs), ...(info ? ['--info'] : [])], {
      stdin,
      onEvent: (message, step) => {
        if (step === 'info') facts = JSON.parse(message);
        if (step === 'locked') onToken(message);
      },
    });
    const value = await Promise.race([token, held.then(() => { throw new PaasError('host', 'the agent released the lock at once'); })]);
    return {
      token: value,
      ...(facts !== undefined ? { info: facts } : {}),
      release: async () => {
        stdin.end();
        await held.catch(() => {});
      },
    };
  }

  /** Calls an agent verb; resolves with its result, or throws its error as a PaasError. */
  async call<T>(verb: string, args: string[] = [], options: CallOptions = {}): Promise<T> {
    await this.install();
    let buffered = '';
    let outcome: AgentMessage | undefined;
    const stderr: string[] = [];
    const onLine = (line: string) => {
      if (!line.trim()) return;
      let message: AgentMessage;
      try {
        message = JSON.parse(line) as AgentMessage;
      } catch {
        stderr.push(line);
        return;
      }
      if (message.type === 'event') options.onEvent?.(message.message, message.step);
      else outcome = message;
    };
    const code = await this.ssh.execStream(asRoot(this.ssh, ['node', this.path, verb, ...args]), {
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      onStdout: (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        lines.forEach(onLine);
      },
      onStderr: (chunk) => { stderr.push(chunk.toString('utf8')); },
    });
    onLine(buffered);
    if (outcome?.type === 'result' && code === 0) return outcome.data as T;
    if (outcome?.type === 'error') {
      throw new PaasError(outcome.kind as ExitCodeName, outcome.message, {
        where: outcome.where ? `${this.label}: ${outcome.where}` : this.label,
        ...(outcome.details ? { details: outcome.details } : {}),
        ...(outcome.hint ? { hint: outcome.hint } : {}),
      });
    }
    const text = stderr.join('').trim();
    throw new PaasError('host', `the paas agent failed (${verb}, exit ${code})`, {
      where: this.label,
      details: text.split('\n').slice(-10),
      hint: /node: (command )?not found|No such file/.test(text) ? 'Node.js >= 18 is needed on the host: run `paas host:setup`' : 'run `paas host:setup` for this host, then try again',
    });
  }
}
