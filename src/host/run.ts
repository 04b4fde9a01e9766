import { PaasError, type ExitCodeName } from '../errors.js';
import type { AgentMessage } from '../agent/protocol.js';
import { asRoot, type HostAgent } from './agent.js';
import { END_FRAME, encodeFrame } from './frames.js';

export interface RunStdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `paas run` on one host: the agent's `run` verb with stdio attached. With `tty` (the local stdin
 * is a terminal) the session gets a pty and the local terminal goes raw; otherwise stdin travels
 * framed (frames.ts). Resolves with the command's exit code. `onCancel` is handed a function that
 * gives up (Ctrl-C without a TTY): the channel closes and the agent removes the container.
 */
export async function runOnHost(agent: HostAgent, app: string, argv: string[], stdio: RunStdio, tty: boolean, onCancel: (cancel: () => void) => void = () => {}): Promise<number> {
  await agent.install();
  const command = asRoot(agent.ssh, ['node', agent.path, 'run', '--app', app, ...(tty ? ['--tty'] : []), '--', ...argv]);
  const pty = tty ? { rows: stdio.stdout.rows || 24, cols: stdio.stdout.columns || 80, term: process.env.TERM || 'xterm' } : undefined;
  const channel = await agent.ssh.openChannel(command, pty);
  let attached = false;
  let head = '';
  let exitCode: number | undefined;
  const restore: (() => void)[] = [];
  return new Promise<number>((resolve, reject) => {
    channel.on('data', (chunk: Buffer) => {
      if (attached) {
        stdio.stdout.write(chunk);
        return;
      }
      head += chunk.toString('latin1'); // bytes kept as they are until the first line is found
      const newline = head.indexOf('\n');
      if (newline === -1) return;
      const line = Buffer.from(head.slice(0, newline), 'latin1').toString('utf8').replace(/\r$/, '');
      const rest = Buffer.from(head.slice(newline + 1), 'latin1');
      head = '';
      let message: AgentMessage | undefined;
      try {
        message = JSON.parse(line) as AgentMessage;
      } catch {
        message = undefined;
      }
      if (message?.type === 'event' && message.step === 'attached') {
        attached = true;
        startInput();
        if (rest.length) stdio.stdout.write(rest);
      } else if (message?.type === 'error') {
        fail(new PaasError(message.kind as ExitCodeName, message.message, {
          where: message.where ? `${agent.label}: ${message.where}` : agent.label,
          ...(message.details ? { details: message.details } : {}),
          ...(message.hint ? { hint: message.hint } : {}),
        }));
      } else {
        head = `${line}\n${rest.toString('latin1')}`; // not the agent speaking (sudo?): shown if it fails
      }
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      if (attached) stdio.stderr.write(chunk);
      else head += chunk.toString('latin1');
    });
    channel.on('exit', (code: number | null, signal?: string) => { exitCode = code ?? (signal ? 128 + 15 : 255); });
    channel.on('close', () => {
      restore.forEach((undo) => undo());
      if (attached) return resolve(exitCode ?? 255);
      fail(new PaasError('host', `the paas agent failed to start the command (exit ${exitCode ?? '?'})`, {
        where: agent.label,
        details: Buffer.from(head, 'latin1').toString('utf8').trim().split('\n').slice(-10),
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
