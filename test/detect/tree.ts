import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PaasError } from '../../src/errors.js';

const roots: string[] = [];

/**
 * Writes a throwaway app tree (path -> content; a path ending in "/" is an empty directory) and
 * returns its absolute path. The root holds .git unless `git: false`, so lockfile lookups stop
 * there instead of wandering into the real temp directory.
 */
export async function makeTree(files: Record<string, string>, options: { git?: boolean } = {}): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'paas-detect-'));
  roots.push(root);
  if (options.git !== false) await mkdir(path.join(root, '.git'));
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    if (relative.endsWith('/')) {
      await mkdir(file, { recursive: true });
    } else {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
    }
  }
  return root;
}

/** Removes every tree made so far (for afterAll). */
export async function removeTrees(): Promise<void> {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
}

/** The PaasError a promise rejects with (fails the test when it resolves or throws something else). */
export async function paasError(promise: Promise<unknown>): Promise<PaasError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected a PaasError, but the promise resolved');
}

/** JSON text for a package.json (or any JSON file) in a tree. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
