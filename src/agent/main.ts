/**
 * The paas agent: runs on each host as `node agent.mjs VERB [--flag value ...]`, bundled into one
 * file with no node_modules. JSON lines on stdout (events, then one result or error), human text
 * on stderr, exit code 0 on success. See protocol.ts. A standby agent (standby.ts) serves the same
 * protocol over a unix socket, so a deploy need not wait for Node.js to start.
 */
import type { Readable } from 'node:stream';
import { ExitCode, PaasError } from '../errors.js';
import type { AgentMessage } from './protocol.js';
import { serveStandby, spawnStandby } from './standby.js';
import { RAW_VERBS, VERBS } from './verbs.js';

/** Where a verb's input comes from and its messages go. */
export interface VerbIo {
  stdin: Readable;
  send: (message: AgentMessage) => void;
  /** Human text (stderr). */
  log: (text: string) => void;
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Runs one JSON-protocol verb; resolves with its exit code. */
export async function runVerb(verb: string | undefined, args: string[], io: VerbIo): Promise<number> {
  const handler = verb ? VERBS[verb] : undefined;
  try {
    if (!handler) throw new PaasError('usage', `unknown agent verb ${JSON.stringify(verb ?? '')}`, { hint: `one of ${Object.keys(VERBS).join(', ')}` });
    const data = await handler({
      args,
      emit: (message, step) => {
        io.send({ type: 'event', message, ...(step ? { step } : {}) });
        io.log(`${message}\n`);
      },
      readStdin: () => readAll(io.stdin),
      stdin: io.stdin,
    });
    io.send({ type: 'result', data });
    return 0;
  } catch (error) {
    const paas = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
    io.send({ type: 'error', kind: paas.kind, message: paas.message, ...(paas.where ? { where: paas.where } : {}), ...(paas.details.length ? { details: paas.details } : {}), ...(paas.hint ? { hint: paas.hint } : {}) });
    io.log(`${paas.format()}\n`);
    return ExitCode[paas.kind];
  } finally {
    // The next deploy finds an agent already started (see standby.ts).
    if (verb === 'deploy') spawnStandby();
  }
}

async function main(): Promise<number> {
  const [verb, ...args] = process.argv.slice(2);
  if (verb === 'standby') return serveStandby(runVerb);
  // Verbs run by git (the git user's shell, the pre-receive hook) own stdout: no JSON protocol.
  const raw = verb ? RAW_VERBS[verb] : undefined;
  if (raw) {
    try {
      return await raw(args);
    } catch (error) {
      const paas = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
      process.stderr.write(`${paas.format()}\n`);
      return ExitCode[paas.kind];
    }
  }
  process.stdout.on('error', () => {});
  const code = await runVerb(verb, args, {
    stdin: process.stdin,
    send: (message) => {
      try {
        process.stdout.write(`${JSON.stringify(message)}\n`);
      } catch {
        // The client went away (SSH cut): keep going so the host ends in a consistent state.
      }
    },
    log: (text) => { process.stderr.write(text); },
  });
  // A verb that failed before reading all of stdin (a deploy session refused its lock) must
  // still exit: the open pipe would keep it, and so the CLI, waiting.
  process.stdin.destroy();
  return code;
}

process.exitCode = await main();
