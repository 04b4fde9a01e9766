/**
 * The paas agent: runs on each host as `node agent.mjs VERB [--flag value ...]`, bundled into one
 * file with no node_modules. JSON lines on stdout (events, then one result or error), human text
 * on stderr, exit code 0 on success. See protocol.ts. A standby agent (standby.ts) serves the same
 * protocol over a unix socket, so a deploy need not wait for Node.js to start.
 *
 * The client may go away at any moment (an SSH connection cut, a CLI killed): writes to stdout
 * and stderr then fail, and are dropped; SIGHUP is ignored. The verb goes on until the step it
 * is in is finished or undone, and its locks go with the process.
 */
import { ExitCode, PaasError } from '../errors.js';
import { isVerb, parseVerbArgs, type AgentMessage, type Verb, type VerbHandler, type VerbIo } from './protocol.js';
import { reconcileHost } from './reconcile.js';
import { readBounded } from './args.js';
import { ensureService, serveHost } from './service.js';
import { serveStandby, spawnStandby } from './standby.js';
import { RAW_VERBS, VERBS } from './verbs.js';

function errorMessage(error: unknown): AgentMessage & { type: 'error' } {
  const paas = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
  return { type: 'error', kind: paas.kind, message: paas.message, ...(paas.where ? { where: paas.where } : {}), ...(paas.details.length ? { details: paas.details } : {}), ...(paas.hint ? { hint: paas.hint } : {}) };
}

/** Runs one JSON-protocol verb; resolves with its exit code. */
export async function runVerb(verb: string | undefined, argv: string[], io: VerbIo): Promise<number> {
  try {
    if (!isVerb(verb)) throw new PaasError('usage', `unknown agent verb ${JSON.stringify(verb ?? '')}`, { hint: `one of ${Object.keys(VERBS).join(', ')}` });
    const { args, positionals } = parseVerbArgs(verb, argv);
    // What a killed agent left is settled before anything else happens on this host.
    await reconcileHost();
    const handler = VERBS[verb] as VerbHandler<Verb>;
    const data = await handler({
      args,
      positionals,
      emit: (message, step) => {
        io.send({ type: 'event', message, ...(step ? { step } : {}) });
        io.log(`${message}\n`);
      },
      readStdin: () => readBounded(io.stdin),
      stdin: io.stdin,
    });
    io.send({ type: 'result', data });
    return 0;
  } catch (error) {
    const message = errorMessage(error);
    io.send(message);
    io.log(`${error instanceof PaasError ? error.format() : message.message}\n`);
    return ExitCode[message.kind];
  } finally {
    // The next deploy finds an agent already started (see standby.ts).
    if (verb === 'deploy') spawnStandby();
    // The host service keeps what was deployed running (service.ts); not on the command's path.
    if (verb === 'deploy' || verb === 'setup') await ensureService().catch((error: unknown) => io.log(`the paas host service was not started: ${(error as Error).message}\n`));
  }
}

/** A write to a client that may be gone: dropped then (EPIPE), never fatal. */
function safeWrite(stream: NodeJS.WriteStream, text: string): void {
  if (stream.destroyed || !stream.writable) return;
  try {
    stream.write(text);
  } catch {
    // the client went away
  }
}

async function main(): Promise<number> {
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const [verb, ...args] = process.argv.slice(2);
  if (verb === 'standby') return serveStandby(runVerb, args);
  if (verb === 'service') return serveHost(args);
  // Verbs run by git (the git user's shell, the pre-receive hook) own stdout: no JSON protocol.
  const raw = verb ? RAW_VERBS[verb] : undefined;
  if (raw) {
    process.on('SIGHUP', () => {});
    try {
      return await raw(args);
    } catch (error) {
      const paas = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
      safeWrite(process.stderr, `${paas.format()}\n`);
      return ExitCode[paas.kind];
    }
  }
  // `run` and `services-connect` handle SIGHUP themselves (the container goes); every other verb finishes its step.
  if (verb !== 'run' && verb !== 'services-connect') process.on('SIGHUP', () => {});
  const code = await runVerb(verb, args, {
    stdin: process.stdin,
    send: (message) => safeWrite(process.stdout, `${JSON.stringify(message)}\n`),
    log: (text) => safeWrite(process.stderr, text),
  });
  // A verb that failed before reading all of stdin (a deploy session refused its lock) must
  // still exit: the open pipe would keep it, and so the CLI, waiting.
  process.stdin.destroy();
  return code;
}

process.exitCode = await main();
