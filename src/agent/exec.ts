import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/**
 * The environment of every program the agent runs: fixed, never inherited. Neither the agent's
 * own environment (whatever the SSH session brought) nor an app's config vars reach docker, git,
 * nginx or anything else the agent starts as root; config vars reach containers only through the
 * Engine API (engine.ts). `extraEnv` adds the few switches a caller needs (DOCKER_BUILDKIT).
 */
export const AGENT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
});

export function childEnv(extraEnv: Record<string, string> = {}): Record<string, string> {
  return { ...AGENT_ENV, ...extraEnv };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Switches added to the fixed environment (AGENT_ENV); never an app's config. */
  extraEnv?: Record<string, string>;
  stdin?: NodeJS.ReadableStream;
  /** Reject when the exit code is not 0 (default true). */
  check?: boolean;
  /** Kill the program (SIGKILL) after this long; it then exits non-zero. */
  timeoutMs?: number;
}

/** Output kept per stream: the end of it (the part with the error, for a program that prints a lot). */
const MAX_OUTPUT = 4 * 1024 * 1024;

export class CommandFailed extends Error {
  constructor(readonly argv: string[], readonly result: RunResult) {
    super(`${argv.slice(0, 3).join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

/** Starts a program with an argv array (no shell), the fixed environment and cwd /. */
export function start(file: string, args: string[], stdio: StdioOptions, extraEnv?: Record<string, string>, detached = false): ChildProcess {
  return spawn(file, args, { env: childEnv(extraEnv), cwd: '/', stdio, detached });
}

/** Collects a stream's text, keeping at most the last MAX_OUTPUT bytes. */
function collect(stream: NodeJS.ReadableStream): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    while (size > MAX_OUTPUT && chunks.length > 1) size -= chunks.shift()!.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/** Runs a program with an argv array (no shell), collecting its output. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = start(file, args, [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], options.extraEnv);
    const stdout = collect(child.stdout!);
    const stderr = collect(child.stderr!);
    if (options.stdin) {
      child.stdin!.on('error', () => {});
      options.stdin.pipe(child.stdin!);
    }
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout: stdout(), stderr: stderr() };
      if (options.check !== false && result.code !== 0) reject(new CommandFailed([file, ...args], result));
      else resolve(result);
    });
  });
}

export const docker = (args: string[], options?: RunOptions) => run('docker', args, options);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
