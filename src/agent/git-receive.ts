/**
 * The pre-receive hook's deploy (`git push paas main`). Its own module: it brings detection and
 * YAML into the agent, which the other verbs do not need, so the agent loads it only when a push
 * runs (esbuild turns the dynamic import into a lazy initialiser inside the one bundle).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { resolveApp } from '../app.js';
import { appDockerfile, defaultDockerignore, imageLabels, readTemplate, withLabels } from '../build/dockerfile.js';
import { releaseSpec } from '../release/spec.js';
import { hostBuildDir } from './build.js';
import { run } from './exec.js';
import { repoPath } from './git.js';
import { acquireLock } from './lock.js';
import { nextVersion, rollout } from './rollout.js';
import { readState } from './state.js';

const ZERO = /^0+$/;

interface RefUpdate { old: string; next: string; ref: string }

export function parseRefUpdates(text: string): RefUpdate[] {
  return text.split('\n').filter((l) => l.trim()).map((line) => {
    const [old, next, ref] = line.trim().split(/\s+/);
    if (!old || !next || !ref || !/^[0-9a-f]{40,64}$/.test(old) || !/^[0-9a-f]{40,64}$/.test(next)) throw new PaasError('usage', `unexpected ref update ${JSON.stringify(line)}`);
    return { old, next, ref };
  });
}

/** main, or master for repositories that have no main branch (and are not pushing one). */
export async function deployBranch(repo: string, updates: RefUpdate[]): Promise<string> {
  const configured = await run('git', ['--git-dir', repo, 'config', '--get', 'paas.branch'], { check: false });
  if (configured.code === 0 && configured.stdout.trim()) return `refs/heads/${configured.stdout.trim()}`;
  if (updates.some((u) => u.ref === 'refs/heads/main')) return 'refs/heads/main';
  const hasMain = (await run('git', ['--git-dir', repo, 'rev-parse', '--verify', '--quiet', 'refs/heads/main'], { check: false })).code === 0;
  return hasMain ? 'refs/heads/main' : 'refs/heads/master';
}

async function checkout(repo: string, revision: string, dir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['--git-dir', repo, 'archive', '--format=tar', revision], { stdio: ['ignore', 'pipe', 'pipe'] });
    const untar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(untar.stdin);
    let failed = '';
    archive.stderr.on('data', (d: Buffer) => { failed += d.toString(); });
    untar.stderr.on('data', (d: Buffer) => { failed += d.toString(); });
    untar.on('close', (code) => (code === 0 && !failed ? resolve() : reject(new PaasError('host', `cannot check out ${revision.slice(0, 8)}: ${failed.trim() || `tar exited ${code}`}`))));
  });
}

/** The pre-receive hook: deploys the deploy branch's new revision; a thrown error rejects the push. */
export async function gitReceive(app: string, refLines: string, say: (line: string) => void): Promise<void> {
  const repo = repoPath(app);
  const updates = parseRefUpdates(refLines);
  const branch = await deployBranch(repo, updates);
  const short = branch.replace('refs/heads/', '');
  for (const u of updates.filter((u) => u.ref !== branch)) say(`paas: ${u.ref.replace('refs/heads/', '')} accepted; only ${short} deploys`);
  const update = updates.find((u) => u.ref === branch);
  if (!update) return;
  if (ZERO.test(update.next)) throw new PaasError('usage', `deleting ${short} is refused: it is the branch paas deploys`);
  const pusher = process.env.PAAS_PUSHER ?? 'unknown';
  const token = randomUUID();
  const release = await acquireLock(app, { holder: `${pusher} (git push)`, command: `git push ${short} ${update.next.slice(0, 8)}`, token }, 0);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-push-'));
  try {
    say(`paas: deploying ${app} ${short} ${update.next.slice(0, 8)} (pushed by ${pusher})`);
    await checkout(repo, update.next, dir);
    const resolved = await resolveApp(dir);
    if (resolved.config.app && resolved.config.app !== app) say(`paas: paas.yml names the app ${resolved.config.app}; this repository deploys ${app}`);
    say(`paas: ${resolved.plan.stack} app (${resolved.plan.reasons[0] ?? 'detected'})`);
    const dockerfile = withLabels(await appDockerfile(dir, resolved.plan), imageLabels(app, resolved.plan, update.next));
    const paasDir = path.join(dir, '.paas');
    await fs.mkdir(paasDir, { recursive: true });
    await fs.writeFile(path.join(paasDir, 'Dockerfile'), dockerfile);
    const ignoreFile = path.join(dir, '.dockerignore');
    const ignore = (await fs.readFile(ignoreFile, 'utf8').catch(() => undefined))
      ?? (resolved.plan.stack === 'dockerfile' ? readTemplate('dockerignore') : defaultDockerignore(resolved.plan));
    await fs.writeFile(ignoreFile, `${ignore.trimEnd()}\n.paas\n`);
    const image = `paas/${app}:${update.next.slice(0, 12)}`;
    const state = await readState(app);
    const spec = releaseSpec({
      app, plan: resolved.plan, config: resolved.config, image, imageId: '', version: nextVersion(state, 1),
      description: `Push ${update.next.slice(0, 8)}`, createdBy: `${pusher} (git push)`,
    });
    const imageId = await hostBuildDir(dir, path.join(paasDir, 'Dockerfile'), image, resolved.config.build?.args ?? {}, say);
    const result = await rollout({ ...spec, imageId }, say, { token });
    say(`paas: ${app} v${result.version} is live: ${result.urls.join(' ')}`);
  } finally {
    await release();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
