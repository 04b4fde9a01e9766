import { PaasError, type ExitCodeName } from '../errors.js';
import { verbArgv, type AgentMessage } from '../agent/protocol.js';
import { asRoot, type HostAgent } from './agent.js';
import { END_FRAME, encodeFrame } from '../agent/protocol.js';

export interface RunStdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `paas run` on one host: the agent's `run` verb with stdio attached. With `tty` (the local stdin
 * is a terminal) the session gets a pty and the local terminal goes raw; otherwise stdin travels
 * framed (the frame codec of agent/protocol.ts). Resolves with the command's exit code. `onCancel` is handed a function that
 * gives up (Ctrl-C without a TTY): the channel closes and the agent removes the container.
 */
export async function runOnHost(agent: HostAgent, app: string, argv: string[], stdio: RunStdio, tty: boolean, onCancel: (cancel: () => void) => void = () => {}): Promise<number> {
  return attachOnHost(agent, ['run', ...verbArgv('run', { app, tty }), '--', ...argv], stdio, tty, onCancel);
}

/** runOnHost for any verb that attaches a one-off container (run, services-connect): `verb` is the agent's argv. */
export async function attachOnHost(agent: HostAgent, verb: string[], stdio: RunStdio, tty: boolean, onCancel: (cancel: () => void) => void = () => {}): Promise<number> {
  await agent.install();
  const command = asRoot(agent.ssh, ['node', agent.path, ...verb]);
  const pty = tty ? { rows: stdio.stdout.rows || 24, cols: stdio.stdout.columns || 80, term: process.env.TERM || 'xterm' } : undefined;
  const channel = await agent.ssh.openChannel(command, pty);
  let attached = false;
  const head = new AttachScanner();
  const said: Buffer[] = []; // stderr before attaching: shown if it fails
  let exitCode: number | undefined;
  const restore: (() => void)[] = [];
  return new Promise<number>((resolve, reject) => {
    channel.on('data', (chunk: Buffer) => {
      if (attached) {
        stdio.stdout.write(chunk);
        return;
      }
      const outcome = head.push(chunk);
      if (outcome?.kind === 'attached') {
        attached = true;
        startInput();
        if (outcome.rest.length) stdio.stdout.write(outcome.rest);
      } else if (outcome?.kind === 'error') {
        const message = outcome.message;
        fail(new PaasError(message.kind as ExitCodeName, message.message, {
          where: message.where ? `${agent.label}: ${message.where}` : agent.label,
          ...(message.details ? { details: message.details } : {}),
          ...(message.hint ? { hint: message.hint } : {}),
        }));
      }
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      if (attached) stdio.stderr.write(chunk);
      else said.push(chunk);
    });
    channel.on('exit', (code: number | null, signal?: string) => { exitCode = code ?? (signal ? 128 + 15 : 255); });
    channel.on('close', () => {
      restore.forEach((undo) => undo());
      if (attached) return resolve(exitCode ?? 255);
      fail(new PaasError('host', `the paas agent failed to start the command (exit ${exitCode ?? '?'})`, {
        where: agent.label,
        details: [...head.said(), ...Buffer.concat(said).toString('utf8').split('\n')].map((line) => line.trimEnd()).filter(Boolean).slice(-10),
        hint: 'run `paas host:setup` for this host, then try again',
      }));
    });
    let failed = false;
    function fail(error: PaasError): void {
      if (failed) return;
      failed = true;
      restore.forEach((undo) => undo());
      channel.close();
      reject(error);
    }
    function startInput(): void {
      if (tty) {
        const wasRaw = stdio.stdin.isRaw;
        stdio.stdin.setRawMode?.(true);
        const onData = (chunk: Buffer) => channel.write(chunk);
        const onResize = () => channel.setWindow(stdio.stdout.rows, stdio.stdout.columns, 0, 0);
        stdio.stdin.on('data', onData);
        stdio.stdout.on('resize', onResize);
        stdio.stdin.resume();
        restore.push(() => {
          stdio.stdin.off('data', onData);
          stdio.stdout.off('resize', onResize);
          stdio.stdin.setRawMode?.(wasRaw);
          stdio.stdin.pause();
        });
        return;
      }
      const onData = (chunk: Buffer) => { for (const part of encodeFrame(chunk)) channel.write(part); };
      // The end frame, but the channel's stdin stays open: its end would mean "the CLI is gone".
      const onEnd = () => channel.write(END_FRAME);
      stdio.stdin.on('data', onData);
      stdio.stdin.once('end', onEnd);
      stdio.stdin.resume();
      restore.push(() => {
        stdio.stdin.off('data', onData);
        stdio.stdin.off('end', onEnd);
        stdio.stdin.pause();
      });
      onCancel(() => channel.close());
    }
  });
}

type ErrorMessage = Extract<AgentMessage, { type: 'error' }>;

/** What the head of a `paas run` channel's stdout came to: the agent attached (then `rest` is the command's first bytes), or it failed. */
export type AttachOutcome = { kind: 'attached'; rest: Buffer } | { kind: 'error'; message: ErrorMessage };

/**
 * Reads a `paas run` channel's stdout line by line until the agent's attached event (or its
 * error). Lines that are not the agent's (a sudo warning, a login script's output) are skipped
 * and kept, however many come first. Bytes are kept as they arrived: a line is decoded only once
 * whole (a UTF-8 character split between packets stays intact), and what follows the attached
 * line is handed on exactly, binary or not.
 */
export class AttachScanner {
  private pending: Buffer = Buffer.alloc(0);
  private readonly skipped: string[] = [];

  /** Feeds stdout bytes; undefined until a line settles it. */
  push(chunk: Buffer): AttachOutcome | undefined {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = 0;
    for (let newline = this.pending.indexOf(0x0a); newline !== -1; newline = this.pending.indexOf(0x0a, start)) {
      const line = this.pending.subarray(start, newline).toString('utf8').replace(/\r$/, '');
      start = newline + 1;
      const message = agentMessage(line);
      if (message?.type === 'event' && message.step === 'attached') {
        const rest = this.pending.subarray(start);
        this.pending = Buffer.alloc(0);
        return { kind: 'attached', rest };
      }
      if (message?.type === 'error') {
        this.pending = this.pending.subarray(start);
        return { kind: 'error', message };
      }
      this.skipped.push(line);
    }
    this.pending = this.pending.subarray(start);
    return undefined;
  }

  /** What came before the agent spoke: the skipped lines and an unfinished last one. */
  said(): string[] {
    return this.pending.length ? [...this.skipped, this.pending.toString('utf8')] : [...this.skipped];
  }
}

function agentMessage(line: string): AgentMessage | undefined {
  try {
    const message = JSON.parse(line) as unknown;
    return typeof message === 'object' && message !== null ? (message as AgentMessage) : undefined;
  } catch {
    return undefined;
  }
}
