import { Args, Flags } from '@oclif/core';
import { PaasCommand } from '../ui/command.js';
import { runSteps } from '../ui/progress.js';
import { resolveApp, type ResolvedApp } from '../app.js';
import { connectEngine } from '../docker/engine.js';
import { buildImage, type BuildResult } from '../build/index.js';
import { PaasError } from '../errors.js';
import { formatBytes } from '../ui/format.js';
import type Docker from 'dockerode';

interface BuildContext {
  resolved?: ResolvedApp;
  docker?: Docker;
  result?: BuildResult;
}

export function parseBuildArgs(values: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new PaasError('usage', `--build-arg ${JSON.stringify(value)} is not KEY=VALUE`, { hint: 'write it as --build-arg NAME=value' });
    args[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return args;
}

export default class Build extends PaasCommand {
  static override summary = 'Build the app in DIR into a Docker image on the local engine';
  static override description = 'Uses the app\'s Dockerfile when it has one, otherwise renders the template for the detected stack (dependencies in their own layer, so a code-only change rebuilds in seconds). Labels the image with the app, stack, process types and git commit.';
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build ./api --tag registry.local/api:v3',
    '<%= config.bin %> build --json',
  ];
  static override args = { dir: Args.directory({ description: 'app directory', default: '.' }) };
  static override flags = {
    tag: Flags.string({ char: 't', description: 'image reference to tag the build with (default paas/<app>:<git sha or build time>)' }),
    'no-cache': Flags.boolean({ description: 'build every layer again' }),
    'build-arg': Flags.string({ description: 'build argument NAME=value (repeatable)', multiple: true }),
  };

  async run(): Promise<Omit<BuildResult, 'layers'> & { layers: number; layerIds: string[]; cachedSteps: number }> {
    const { args, flags } = await this.parse(Build);
    const buildArgs = parseBuildArgs(flags['build-arg'] ?? []);
    const ctx = await runSteps<BuildContext>([
      { title: 'Detect the app', run: async (c, report) => {
        c.resolved = await resolveApp(args.dir);
        report(`${c.resolved.app}: ${c.resolved.plan.stack} (${c.resolved.plan.baseImage})`);
      } },
      { title: 'Connect to the Docker Engine', run: async (c) => { c.docker = await connectEngine(); } },
      { title: 'Build the image', run: async (c, report) => {
        const { app, dir, plan, config } = c.resolved!;
        c.result = await buildImage(c.docker!, {
          dir, app, plan,
          ...(flags.tag ? { tag: flags.tag } : {}),
          buildArgs: { ...config.build?.args, ...buildArgs },
          noCache: flags['no-cache'],
          onOutput: report,
        });
      } },
    ], {}, { json: this.jsonEnabled() });
    const result = ctx.result!;
    const cachedSteps = result.steps.filter((s) => s.cached).length;
    if (!this.jsonEnabled()) {
      this.log(`Built ${result.image} (${result.imageId.slice(7, 19)}), ${formatBytes(result.sizeBytes)}, ${result.layers.length} layers, ${cachedSteps}/${result.steps.length} steps cached, in ${(result.durationMs / 1000).toFixed(1)} s`);
    }
    return { ...result, layers: result.layers.length, layerIds: result.layers, cachedSteps };
  }
}
