import { spawn } from 'node:child_process';
import { PaasError } from '../errors.js';
import { processArgv } from '../release/command.js';
import { planOneOff, releasePhaseName } from '../release/oneoff.js';
import type { ReleaseSpec } from '../release/types.js';
import { docker } from './exec.js';
import type { Emit } from './rollout.js';

/** A release phase still running after this long is stopped and fails the release. */
export const RELEASE_PHASE_TIMEOUT_MS = 30 * 60_000;
const TAIL_LINES = 20;

/**
 * Runs the release's `release:` command once, in a one-off container of the new image with the
 * release's environment (config vars included, by name only in argv), streaming its output as
 * events. Resolves when it exits 0; otherwise throws (kind `release`) with its last lines.
 */
export async function runReleasePhase(spec: ReleaseSpec, env: Record<string, string>, emit: Emit, timeoutMs = RELEASE_PHASE_TIMEOUT_MS): Promise<{ ms: number }> {
  const command = spec.releaseCommand!;
  const name = releasePhaseName(spec.app, spec.version);
  const args = planOneOff(spec, { kind: 'release', name, argv: processArgv(command), envNames: Object.keys(env) });
  await docker(['rm', '--force', name], { check: false }); // the leftover of an attempt that crashed
  emit(`release phase: ${command}`, 'release');
  const started = Date.now();
  const tail: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('docker', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      tail.push(`(stopped after ${Math.round(timeoutMs / 1000)} s)`);
      void docker(['rm', '--force', name], { check: false });
    }, timeoutMs);
    const lines = (stream: NodeJS.ReadableStream) => {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) {
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
          emit(line, 'release');
        }
      });
      stream.on('end', () => { if (buffered) { tail.push(buffered); emit(buffered, 'release'); } });
    };
    lines(child.stdout!);
    lines(child.stderr!);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (exitCode) => { clearTimeout(timer); resolve(exitCode ?? -1); });
  });
  const ms = Date.now() - started;
  if (code !== 0) {
    throw new PaasError('release', `the release phase of v${spec.version} (${command}) exited with code ${code}`, {
      where: name,
      details: tail.length ? ['last lines of its output:', ...tail.slice(-TAIL_LINES)] : ['it printed nothing'],
      hint: 'fix the release command (Procfile `release:`) and deploy again; nothing was switched, the previous release keeps serving',
    });
  }
  emit(`release phase done in ${(ms / 1000).toFixed(1)} s`, 'release');
  return { ms };
}
