import { startAttachedArgv } from '../release/docker.js';
import readline from 'node:readline';
import { PaasError } from '../errors.js';
import { processArgv } from '../release/command.js';
import { planOneOff, releasePhaseName, networkCreate } from '../release/containers.js';
import type { ReleaseSpec } from '../release/types.js';
import { start } from './exec.js';
import { createContainer, ensureNetwork, removeContainer } from './engine.js';
import { removeReleasePhaseLeftover } from './containers.js';
import type { Emit } from './protocol.js';

/** A release phase still running after this long is stopped and fails the release. */
export const RELEASE_PHASE_TIMEOUT_MS = 30 * 60_000;
const TAIL_LINES = 20;

/** The one-off commands of a rollout: Procfile `release:`, and app.json's scripts. */
export type Phase = 'release' | 'predeploy' | 'postdeploy' | 'first-deploy';
const PHASES: Record<Phase, { title: string; hint: string }> = {
  release: { title: 'the release phase', hint: 'fix the release command (Procfile `release:`) and deploy again; nothing was switched, the previous release keeps serving' },
  predeploy: { title: 'the predeploy script', hint: 'fix app.json scripts.dokku.predeploy and deploy again; nothing was switched, the previous release keeps serving' },
  postdeploy: { title: 'the postdeploy script', hint: 'the release is live; fix app.json scripts.dokku.postdeploy for the next deploy' },
  'first-deploy': { title: 'the first-release script', hint: 'the release is live; app.json scripts.postdeploy runs after an app\'s first release only: run it by hand with paas run' },
};

/** Runs the release's `release:` command (see runPhase). */
export function runReleasePhase(spec: ReleaseSpec, env: Record<string, string>, emit: Emit, timeoutMs = RELEASE_PHASE_TIMEOUT_MS): Promise<{ ms: number }> {
  return runPhase(spec, env, emit, 'release', spec.releaseCommand!, timeoutMs);
}

/**
 * Runs one command of the rollout once, in a one-off container of the new image with the
 * release's environment (created through the Engine API: the values travel in its body), and
 * streams its output as events (`docker start --attach`, whose own environment is the agent's
 * fixed one). Resolves when it exits 0; otherwise throws (kind `release`) with its last lines.
 */
export async function runPhase(spec: ReleaseSpec, env: Record<string, string>, emit: Emit, phase: Phase, command: string, timeoutMs = RELEASE_PHASE_TIMEOUT_MS): Promise<{ ms: number }> {
  const { title, hint } = PHASES[phase];
  const name = releasePhaseName(spec.app, spec.version, phase);
  await removeReleasePhaseLeftover(spec.app, spec.version); // of an attempt that crashed
  if (spec.engine !== 'swarm') await ensureNetwork(networkCreate(spec.app));
  const id = await createContainer(name, planOneOff(spec, env, { kind: 'release', argv: processArgv(command) }));
  emit(`${title.replace(/^the /, '')}: ${command}`, 'release');
  const started = Date.now();
  const tail: string[] = [];
  let code: number;
  try {
    code = await new Promise<number>((resolve, reject) => {
      const child = start('docker', startAttachedArgv(id), ['ignore', 'pipe', 'pipe']);
      const timer = setTimeout(() => {
        tail.push(`(stopped after ${Math.round(timeoutMs / 1000)} s)`);
        void removeContainer(id);
      }, timeoutMs);
      const onLine = (line: string) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        emit(line, 'release');
      };
      readline.createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', onLine);
      readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', onLine);
      child.on('error', (error) => { clearTimeout(timer); reject(error); });
      child.on('close', (exitCode) => { clearTimeout(timer); resolve(exitCode ?? -1); });
    });
  } finally {
    await removeContainer(id);
  }
  const ms = Date.now() - started;
  if (code !== 0) {
    throw new PaasError('release', `${title} of v${spec.version} (${command}) exited with code ${code}`, {
      where: name,
      details: tail.length ? ['last lines of its output:', ...tail.slice(-TAIL_LINES)] : ['it printed nothing'],
      hint,
    });
  }
  emit(`${title.replace(/^the /, '')} done in ${(ms / 1000).toFixed(1)} s`, 'release');
  return { ms };
}
