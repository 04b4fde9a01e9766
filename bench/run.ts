/**
 * Prints tables comparing paas with a baseline, measured in the same run. Never fails on time.
 *   npm run bench            (needs the Docker Engine: npm run setup)
 *   BENCH_RUNS=30 npm run bench
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const cli = path.join(root, 'bin', 'run.js');
const runs = Number(process.env.BENCH_RUNS ?? 20);

function stats(samples: number[]): { median: number; mean: number; min: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { median: sorted[Math.floor(sorted.length / 2)]!, mean, min: sorted[0]! };
}

async function timeCommand(file: string, args: string[], options: { cwd?: string } = {}): Promise<number> {
  const started = process.hrtime.bigint();
  await execa(file, args, { cwd: options.cwd ?? root, env: { NO_COLOR: '1' }, stdin: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function sample(file: string, args: string[]): Promise<number[]> {
  await timeCommand(file, args); // warm the file cache
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) samples.push(await timeCommand(file, args));
  return samples;
}

function table(title: string, header: string[], rows: (string | number)[][]): void {
  console.log(`\n### ${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

const ms = (value: number) => `${value.toFixed(0)} ms`;
const s = (value: number) => `${(value / 1000).toFixed(1)} s`;

async function startup(): Promise<void> {
  const baseline = stats(await sample(process.execPath, ['-e', '0']));
  const version = stats(await sample(process.execPath, [cli, '--version']));
  const help = stats(await sample(process.execPath, [cli, 'detect', '--help']));
  table(`Start-up (${runs} runs each, node ${process.version})`, ['command', 'median', 'mean', 'min', 'vs node -e 0 (median)'], [
    ['node -e 0 (baseline)', ms(baseline.median), ms(baseline.mean), ms(baseline.min), '1.00x'],
    ['paas --version', ms(version.median), ms(version.mean), ms(version.min), `${(version.median / baseline.median).toFixed(2)}x`],
    ['paas detect --help', ms(help.median), ms(help.mean), ms(help.min), `${(help.median / baseline.median).toFixed(2)}x`],
  ]);
}

const NAIVE_DOCKERFILE = `FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --omit=dev
ENV NODE_ENV=production PORT=8080
CMD ["node", "server.js"]
`;

async function builds(): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'paas-bench-'));
  const tags: string[] = [];
  try {
    const ours = path.join(scratch, 'ours');
    const naive = path.join(scratch, 'naive');
    cpSync(path.join(root, 'examples', 'node'), ours, { recursive: true });
    cpSync(path.join(root, 'examples', 'node'), naive, { recursive: true });
    writeFileSync(path.join(naive, 'Dockerfile'), NAIVE_DOCKERFILE);
    const edit = (dir: string, n: number) => {
      const file = path.join(dir, 'server.js');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/const VERSION = \d+;/, `const VERSION = ${n};`));
    };
    const paasBuild = async (tag: string, noCache: boolean) => {
      tags.push(tag);
      return timeCommand(process.execPath, [cli, 'build', ours, '--tag', tag, '--json', ...(noCache ? ['--no-cache'] : [])]);
    };
    const dockerBuild = async (tag: string, noCache: boolean) => {
      tags.push(tag);
      return timeCommand('docker', ['build', '-q', '-t', tag, ...(noCache ? ['--no-cache'] : []), naive]);
    };
    const oursCold = await paasBuild('paas-bench/ours:1', true);
    edit(ours, 2);
    const oursWarm = await paasBuild('paas-bench/ours:2', false);
    const naiveCold = await dockerBuild('paas-bench/naive:1', true);
    edit(naive, 2);
    const naiveWarm = await dockerBuild('paas-bench/naive:2', false);
    table('Build of examples/node (express), local engine', ['build', 'paas (manifests layer first)', 'naive Dockerfile (COPY . . then npm ci)', 'paas / naive'], [
      ['cold (--no-cache)', s(oursCold), s(naiveCold), `${(oursCold / naiveCold).toFixed(2)}x`],
      ['warm (one-line code change)', s(oursWarm), s(naiveWarm), `${(oursWarm / naiveWarm).toFixed(2)}x`],
    ]);
  } finally {
    if (tags.length) await execa('docker', ['rmi', '-f', ...tags], { reject: false });
    rmSync(scratch, { recursive: true, force: true });
  }
}

await startup();
if (process.argv.includes('--startup-only')) process.exit(0);
await builds();
