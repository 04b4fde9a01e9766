import { chownSync, promises as fs, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import { STANDBY_VERBS, standbySocket, type AgentMessage, type StandbyRequest, type VerbIo } from './protocol.js';
import { start } from './exec.js';

/**
 * A standby agent: an agent process started ahead of time that waits on a unix socket (0700,
 * root) for one deploy. Over SSH the CLI opens a stream-local channel to the socket instead of
 * running `node agent.mjs deploy`, which saves Node.js's start (~0.2 s on a small host) on the
 * deploy's critical path. It serves exactly one connection (the socket is removed as soon as it
 * is taken, so a second deploy at the same moment starts its own agent), speaks the agent's JSON
 * lines on it, and exits; the deploy then starts the next standby. Its socket is named after its
 * build, so a CLI only ever talks to the agent build it installed. An agent run through sudo (a
 * non-root SSH user with passwordless sudo, who may do everything root does) gives the standby's
 * socket to that user, so sshd, which opens it as the user, can connect. When anything is off (no
 * socket, another user's, sshd refusing stream-local forwarding) the CLI starts the agent as usual.
 */

/** A standby that nobody used within this long exits (the next deploy starts the agent, and a new standby). */
const IDLE_MS = 6 * 60 * 60 * 1000;

/** The socket of this agent file's standby, or undefined when the file is not `agent-<hash>.mjs`. */
export function ownStandbySocket(agentFile: string | undefined): string | undefined {
  const hash = /^agent-([0-9a-f]+)\.mjs$/.exec(path.basename(agentFile ?? ''))?.[1];
  return hash ? standbySocket(hash) : undefined;
}

/** The user sudo ran this agent for (SUDO_UID), else undefined (root logged in). */
function sudoUid(): number | undefined {
  const uid = Number(process.env.SUDO_UID);
  return Number.isInteger(uid) && uid > 0 && uid < 2 ** 31 ? uid : undefined;
}

/** `standby --owner UID`: the socket's owner; anything else is refused. */
export function standbyOwner(args: readonly string[]): number | undefined {
  if (args.length === 0) return undefined;
  const uid = Number(args[1]);
  if (args.length !== 2 || args[0] !== '--owner' || !/^\d+$/.test(args[1] ?? '') || !(uid > 0 && uid < 2 ** 31)) {
    throw new PaasError('usage', `standby: expected no arguments or --owner UID, not ${JSON.stringify(args)}`);
  }
  return uid;
}

/** Starts this agent's standby, detached, unless this agent file has none. */
export function spawnStandby(): void {
  if (!ownStandbySocket(process.argv[1])) return;
  const owner = sudoUid();
  try {
    start(process.execPath, [process.argv[1]!, 'standby', ...(owner ? ['--owner', String(owner)] : [])], 'ignore', undefined, true).unref();
  } catch {
    // Only a speed-up: the next deploy starts the agent itself.
  }
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socket);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
}

/** Reads the first line of a stream; the bytes after it are put back. */
function firstLine(stream: Readable, maxBytes = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline < 0) {
        if (buffered.length > maxBytes) done(new PaasError('usage', 'the standby request line is too long'));
        return;
      }
      done(undefined, buffered.subarray(0, newline).toString('utf8'), buffered.subarray(newline + 1));
    };
    const onEnd = () => done(new PaasError('usage', 'the connection ended before the standby request'));
    const done = (error?: Error, line?: string, rest?: Buffer) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onEnd);
      stream.pause();
      if (error) return reject(error);
      if (rest?.length) stream.unshift(rest);
      resolve(line!);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onEnd);
  });
}

/**
 * The `standby` verb: waits for the first connection that sends a request and runs its verb on
 * it. Connections that end without one (another standby checking that this one answers) do not
 * use it up. Resolves with the exit code.
 */
export async function serveStandby(runVerb: (verb: string, args: string[], io: VerbIo) => Promise<number>, standbyArgs: readonly string[] = []): Promise<number> {
  const socket = ownStandbySocket(process.argv[1]);
  if (!socket) return 2;
  const owner = standbyOwner(standbyArgs);
  if (await answers(socket)) return 0; // this build already has a standby
  await fs.rm(socket, { force: true });
  const server = net.createServer();
  server.maxConnections = 1;
  let listening: { ino: number } | undefined;
  const connections: net.Socket[] = [];
  let wake: (() => void) | undefined;
  let over = false;
  const stop = () => { over = true; wake?.(); };
  const idle = setTimeout(stop, IDLE_MS);
  // A socket file removed (or replaced) by someone else: this standby can no longer be reached.
  const watch = setInterval(() => {
    void fs.stat(socket).then((stat) => { if (stat.ino !== listening?.ino) stop(); }, stop);
  }, 60_000);
  // Before any connection can come; not on a failed listen (the file may be another standby's).
  server.once('listening', () => {
    // Still owner-only (0700): only root and the sudo user it is given to can connect.
    if (owner !== undefined) chownSync(socket, owner, -1);
    listening = statSync(socket, { throwIfNoEntry: false });
  });
  server.on('connection', (c) => { connections.push(c); wake?.(); });
  server.once('error', stop);
  // The socket file is made by listen() itself: owner only. (The umask is put back at once:
  // what the agent writes later, nginx's files for one, keeps its own modes.)
  const previous = process.umask(0o077);
  try {
    server.listen(socket);
  } finally {
    process.umask(previous);
  }
  let taken: { connection: net.Socket; line: string } | undefined;
  while (!over && !taken) {
    const connection = connections.shift();
    if (!connection) {
      await new Promise<void>((resolve) => { wake = resolve; });
      continue;
    }
    connection.on('error', () => {});
    // Tells the client it reached a live agent before it sends anything it could not send again.
    connection.write(`${JSON.stringify({ type: 'event', message: String(process.pid), step: 'standby' } satisfies AgentMessage)}\n`);
    const line = await firstLine(connection).catch(() => undefined);
    if (line === undefined) connection.destroy();
    else taken = { connection, line };
  }
  clearTimeout(idle);
  clearInterval(watch);
  server.close();
  // Taken: the next deploy must not find it (a standby serves one). Only ever our own file.
  const current = await fs.stat(socket).catch(() => undefined);
  if (current && current.ino === listening?.ino) await fs.rm(socket, { force: true });
  if (!taken) return 0;
  const { connection } = taken;
  const send = (message: AgentMessage) => {
    if (!connection.destroyed) connection.write(`${JSON.stringify(message)}\n`);
  };
  let request: StandbyRequest | undefined;
  try {
    request = JSON.parse(taken.line) as StandbyRequest;
  } catch {
    request = undefined;
  }
  const [verb, ...args] = Array.isArray(request?.argv) ? request.argv.map(String) : [];
  const code = verb && STANDBY_VERBS.includes(verb)
    ? await runVerb(verb, args, { stdin: connection, send, log: () => {} })
    : await runVerb('', [], { stdin: connection, send, log: () => {} });
  // Closed, not half-closed: the CLI's side stays open (its stdin) until it sees the channel
  // close, which sshd signals only once the socket is closed (a process's exit does that for exec).
  await new Promise<void>((resolve) => connection.end(resolve));
  connection.destroy();
  return code;
}
