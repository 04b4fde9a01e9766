/**
 * The paas agent: runs on each host as `node agent.mjs VERB [--flag value ...]`, bundled into one
 * file with no node_modules. JSON lines on stdout (events, then one result or error), human text
 * on stderr, exit code 0 on success. See protocol.ts.
 */
import { ExitCode, PaasError } from '../errors.js';
import type { AgentMessage } from './protocol.js';
import { RAW_VERBS, VERBS } from './verbs.js';

function send(message: AgentMessage): void {
  try {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  } catch {
    // The client went away (SSH cut): keep going so the host ends in a consistent state.
  }
}
process.stdout.on('error', () => {});

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (d: Buffer) => chunks.push(d));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function main(): Promise<number> {
  const [verb, ...args] = process.argv.slice(2);
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
  const handler = verb ? VERBS[verb] : undefined;
  try {
    if (!handler) throw new PaasError('usage', `unknown agent verb ${JSON.stringify(verb ?? '')}`, { hint: `one of ${Object.keys(VERBS).join(', ')}` });
    const data = await handler({
      args,
      emit: (message, step) => {
        send({ type: 'event', message, ...(step ? { step } : {}) });
        process.stderr.write(`${message}\n`);
      },
      readStdin,
      stdin: process.stdin,
    });
    send({ type: 'result', data });
    return 0;
  } catch (error) {
    const paas = error instanceof PaasError ? error : new PaasError('host', (error as Error).message);
    send({ type: 'error', kind: paas.kind, message: paas.message, ...(paas.where ? { where: paas.where } : {}), ...(paas.details.length ? { details: paas.details } : {}), ...(paas.hint ? { hint: paas.hint } : {}) });
    process.stderr.write(`${paas.format()}\n`);
    return ExitCode[paas.kind];
  }
}

process.exitCode = await main();
