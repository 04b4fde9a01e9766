import { execa } from 'execa';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const cliPath = path.join(repoRoot, 'bin', 'run.js');
export const examplesDir = path.join(repoRoot, 'examples');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds dist/ first) with no TTY, as CI would. */
export async function paas(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    // Not vitest's NODE_ENV=test: with it, oclif looks for a TypeScript loader at every start (300 ms).
    env: { NO_COLOR: '1', NODE_ENV: 'production', ...options.env },
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Like paas(), for --json commands that must succeed: the parsed document. */
export async function paasJson<T>(args: string[], options: Parameters<typeof paas>[1] = {}): Promise<T> {
  const result = await paas([...args, '--json'], options);
  if (result.exitCode !== 0) throw new Error(`paas ${args.join(' ')} exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A scratch directory removed by the returned cleanup function. */
export function scratchDir(prefix = 'paas-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of an example app in a scratch directory (to change code without touching the repo). */
export function copyExample(name: string): { dir: string; cleanup: () => void } {
  const scratch = scratchDir(`paas-${name}-`);
  const dir = path.join(scratch.dir, name);
  cpSync(path.join(examplesDir, name), dir, { recursive: true });
  return { dir, cleanup: scratch.cleanup };
}

/** A short id unique to this test run, for names of images, containers and sandboxes. */
export const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

/** Polls url until it answers 200 (or the deadline passes); returns the last body. */
export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: string } = { status: 0, body: '' };
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = { status: response.status, body: await response.text() };
      if (response.status === 200) return last;
    } catch (error) {
      last = { status: 0, body: String(error) };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}
