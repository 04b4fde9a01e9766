/**
 * The pre-receive hook's deploy (`git push paas main`). Its own module: it brings detection and
 * YAML into the agent, which the other verbs do not need, so the agent loads it only when a push
 * runs (esbuild turns the dynamic import into a lazy initialiser inside the one bundle).
 */
import { randomUUID } from 'node:crypto';
import { PaasError } from '../errors.js';
import { resolveApp } from '../app.js';
import { appDockerfile, defaultDockerignore, imageLabels, readTemplate, withLabels } from '../build/dockerfile.js';
import { releaseSpec } from '../release/spec.js';
import { buildTree, newBuildDir, unpackTree, type BuildDir } from './build.js';
import { run, start } from './exec.js';
import { repoPath } from './git.js';
import { withAppLock } from './app-lock.js';
import { pruneUnreleased } from './containers.js';
import { readRolloutInputs, rolloutLocked } from './rollout.js';
import { nextVersion } from '../release/plan.js';
import { validateSpec } from '../release/validate.js';
import { readState } from './state.js';

const ZERO = /^0+$/;

/**
 * The variables git-receive-pack gives its pre-receive hook so that the pushed objects, still in
 * quarantine until the hook accepts them, can be read: passed on to the git the hook runs (the
 * agent's programs otherwise get only its fixed environment). Set by git, not by the pusher.
 */
const QUARANTINE = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'] as const;

export function quarantineEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(QUARANTINE.flatMap((name) => (env[name] ? [[name, env[name]!]] : [])));
}

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
  const configured = await run('git', ['--git-dir', repo, 'config', '--get', 'paas.branch'], { check: false, extraEnv: quarantineEnv() });
  if (configured.code === 0 && configured.stdout.trim()) return `refs/heads/${configured.stdout.trim()}`;
  if (updates.some((u) => u.ref === 'refs/heads/main')) return 'refs/heads/main';
  const hasMain = (await run('git', ['--git-dir', repo, 'rev-parse', '--verify', '--quiet', 'refs/heads/main'], { check: false, extraEnv: quarantineEnv() })).code === 0;
  return hasMain ? 'refs/heads/main' : 'refs/heads/master';
}

/** `git archive` of the revision, unpacked safely (tree.ts) into the build directory's tree. */
async function checkout(repo: string, revision: string, build: BuildDir, say: (line: string) => void) {
  const archive = start('git', ['--git-dir', repo, 'archive', '--format=tar', revision], ['ignore', 'pipe', 'pipe'], quarantineEnv());
  let failed = '';
  archive.stderr!.on('data', (d: Buffer) => { if (failed.length < 4096) failed += d.toString(); });
  const exited = new Promise<number>((resolve) => archive.on('close', (code) => resolve(code ?? -1)));
  try {
    const tree = await unpackTree(archive.stdout!, build, { what: `pushed revision ${revision.slice(0, 8)}`, capture: ['.dockerignore'], skip: ['.paas'] }, (line) => say(`paas: ${line}`));
    const code = await exited;
    if (code !== 0) throw new PaasError('host', `cannot check out ${revision.slice(0, 8)}: ${failed.trim() || `git archive exited ${code}`}`);
    return tree;
  } finally {
    archive.kill('SIGKILL');
  }
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
  await withAppLock(app, { holder: `${pusher} (git push)`, command: `git push ${short} ${update.next.slice(0, 8)}`, token }, {}, async () => {
    const work = await newBuildDir();
    try {
      say(`paas: deploying ${app} ${short} ${update.next.slice(0, 8)} (pushed by ${pusher})`);
      const tree = await checkout(repo, update.next, work, say);
      // Detection reads only the unpacked tree, which holds no link leading out of it.
      const resolved = await resolveApp(work.tree);
      if (resolved.config.app && resolved.config.app !== app) say(`paas: paas.yml names the app ${resolved.config.app}; this repository deploys ${app}`);
      say(`paas: ${resolved.plan.stack} app (${resolved.plan.reasons[0] ?? 'detected'})`);
      const dockerfile = withLabels(await appDockerfile(work.tree, resolved.plan), imageLabels(app, resolved.plan, update.next));
      const ignore = tree.captured.get('.dockerignore')?.toString('utf8')
        ?? (resolved.plan.stack === 'dockerfile' ? readTemplate('dockerignore') : defaultDockerignore(resolved.plan));
      const image = `paas/${app}:${update.next.slice(0, 12)}`;
      const state = await readState(app);
      const spec = releaseSpec({
        app, plan: resolved.plan, config: resolved.config, image, imageId: '', version: nextVersion(state, 1),
        description: `Push ${update.next.slice(0, 8)}`, createdBy: `${pusher} (git push)`,
      });
      validateSpec(spec);
      const imageId = await buildTree(work, {
        dockerfile, dockerignore: ignore, tag: image, buildArgs: resolved.config.build?.args ?? {}, again: 'push',
        ...(resolved.config.build?.timeoutMs ? { timeoutMs: resolved.config.build.timeoutMs } : {}),
      }, say);
      try {
        const result = await rolloutLocked({ ...spec, imageId }, say, readRolloutInputs(app));
        say(`paas: ${app} v${result.version} is live: ${result.urls.join(' ')}`);
      } catch (error) {
        await pruneUnreleased(app, [image]).catch(() => {});
        throw error;
      }
    } finally {
      await work.remove();
    }
  });
}
