/**
 * `paas run`: a one-off container of the current release's image and environment, stdio attached.
 * After one JSON line ({type: event, step: attached}) stdout is the container's output, and the
 * agent's exit code is the command's. With a TTY docker shares the SSH session's pty; without,
 * stdin arrives in frames (protocol.ts) so that a dropped connection removes the container.
 */
import { randomBytes } from 'node:crypto';
import { releaseEnv } from '../config/changes.js';
import { PaasError } from '../errors.js';
import { networkCreate, oneOffName, planOneOff } from '../release/containers.js';
import { startAttachedArgv } from '../release/docker.js';
import { readAppConfig } from './config-store.js';
import { createContainer, engineGet, ensureNetwork, removeContainer } from './engine.js';
import { start } from './exec.js';
import { MessageReader } from './messages.js';
import { readState } from './state.js';

export async function runOneOff(app: string, argv: string[], tty: boolean): Promise<never> {
  if (argv.length === 0) throw new PaasError('usage', 'no command to run', { hint: 'paas run -- COMMAND [ARG ...]' });
  const state = await readState(app);
  const current = state.releases.find((r) => r.version === state.current);
  if (!current) throw new PaasError('usage', `${app} has no release on this host yet`, { hint: 'deploy it first: paas deploy' });
  const env = releaseEnv(current.env, await readAppConfig(app));
  const name = oneOffName(app, randomBytes(4).toString('hex'));
  if (current.engine !== 'swarm') await ensureNetwork(networkCreate(app));
  // Created through the Engine API (the env travels in its body); `docker start` only attaches.
  const id = await createContainer(name, planOneOff({ ...current, app }, env, {
    kind: 'run', argv, interactive: true, tty,
  }));
  return attachOneOff(id, name, tty);
}

/**
 * Attaches this process's stdio to a created one-off container and starts it (see the top of
 * this file); the process exits with the container's code, and the container goes whatever ends
 * first. Used by `paas run` and `services:connect`.
 */
export function attachOneOff(id: string, name: string, tty: boolean): Promise<never> {
  process.stdout.write(`${JSON.stringify({ type: 'event', message: name, step: 'attached' })}\n`);
  const child = start('docker', startAttachedArgv(id, true), [tty ? 'inherit' : 'pipe', 'inherit', 'inherit']);
  let finishing = false;
  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    // Whatever ended first, the container goes.
    await removeContainer(id).catch(() => {});
    process.exit(code);
  };
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGPIPE'] as const) {
    process.on(signal, () => { void finish(129); });
  }
  if (!tty) {
    child.stdin!.on('error', () => {});
    // The end frame closes the command's stdin. The channel's stdin ending without it means the
    // CLI is gone (Ctrl-C, dropped connection); a malformed frame is a bad request.
    new MessageReader(process.stdin).frames(child.stdin!).catch((error: unknown) => {
      void finish(error instanceof PaasError && error.kind === 'usage' ? 2 : 130);
    });
  }
  child.on('error', () => { void finish(127); });
  child.on('close', (code, signal) => {
    // A command that could not start (not found: 127, not executable: 126) fails `docker start`
    // itself; the engine keeps the code it would have had, as `docker run` reports it.
    const failed = code ?? (signal ? 128 + 9 : 1);
    void (failed === 0 ? Promise.resolve(0) : engineGet<{ State?: { ExitCode?: number } }>(`/containers/${id}/json`).then((answer) => answer.body?.State?.ExitCode || failed, () => failed))
      .then((exit) => finish(exit));
  });
  return new Promise<never>(() => {});
}
