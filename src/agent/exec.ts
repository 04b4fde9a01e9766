import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment for the child (values never go through argv). */
  env?: Record<string, string>;
  stdin?: NodeJS.ReadableStream;
  /** Reject when the exit code is not 0 (default true). */
  check?: boolean;
}

export class CommandFailed extends Error {
  constructor(readonly argv: string[], readonly result: RunResult) {
    super(`${argv.slice(0, 3).join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

/** Runs a program with an argv array (no shell), collecting its output. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    if (options.stdin) options.stdin.pipe(child.stdin!);
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      if (options.check !== false && result.code !== 0) reject(new CommandFailed([file, ...args], result));
      else resolve(result);
    });
  });
}

export const docker = (args: string[], options?: RunOptions) => run('docker', args, options);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
