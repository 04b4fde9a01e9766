import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { PaasCommand } from '../ui/command.js';
import { appNameFromDir } from '../app.js';
import { detect } from '../detect/index.js';
import { checkAppName, renderInitConfig } from '../config/index.js';
import { defaultDockerignore, renderDockerfile } from '../build/dockerfile.js';
import { PaasError } from '../errors.js';
import { exists, isDirectory, writeFileAtomic } from '../util/fs.js';
import type { BuildPlan } from '../detect/types.js';

export default class Init extends PaasCommand {
  static override summary = 'Write a commented paas.yml for the app in DIR';
  static override description = 'Detects the app and writes paas.yml with what was found (process types, port, health check) and commented examples of the rest. --eject also writes the Dockerfile paas would generate (and a .dockerignore if there is none), which paas then uses as is.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init ./api --app shop-api',
    '<%= config.bin %> init --eject',
  ];
  static override args = { dir: Args.directory({ description: 'app directory', default: '.' }) };
  static override flags = {
    app: Flags.string({ char: 'a', description: 'app name (default: the directory name)' }),
    eject: Flags.boolean({ description: 'also write the generated Dockerfile (and .dockerignore) for hand-editing' }),
    force: Flags.boolean({ description: 'overwrite paas.yml / Dockerfile when they exist' }),
  };

  async run(): Promise<{ app: string; written: string[]; plan: BuildPlan }> {
    const { args, flags } = await this.parse(Init);
    const dir = path.resolve(args.dir);
    if (!(await isDirectory(dir))) throw new PaasError('detect', `no such directory: ${dir}`, { hint: 'pass the directory that holds the app' });
    const app = flags.app ?? appNameFromDir(dir);
    const nameProblem = checkAppName(app);
    if (nameProblem) throw new PaasError('usage', `invalid app name ${JSON.stringify(app)}: ${nameProblem}`, { hint: 'pass a valid name with --app' });
    const plan = await detect(dir);

    const files: [string, string][] = [[path.join(dir, 'paas.yml'), renderInitConfig({ app, plan })]];
    if (flags.eject) {
      if (plan.stack === 'dockerfile') throw new PaasError('usage', `${plan.dockerfile ?? 'Dockerfile'} already exists: paas builds it as is, there is nothing to eject`, { where: dir });
      files.push([path.join(dir, 'Dockerfile'), renderDockerfile(plan)]);
      if (!(await exists(path.join(dir, '.dockerignore')))) files.push([path.join(dir, '.dockerignore'), defaultDockerignore(plan)]);
    }
    // Check everything before writing anything: a refusal changes nothing.
    for (const [file] of files) {
      if (!flags.force && path.basename(file) !== '.dockerignore' && (await exists(file))) {
        throw new PaasError('usage', `${path.basename(file)} already exists`, { where: file, hint: 'pass --force to overwrite it' });
      }
    }
    for (const [file, content] of files) await writeFileAtomic(file, content);
    const written = files.map(([file]) => path.relative(process.cwd(), file) || file);
    if (!this.jsonEnabled()) this.log(`${plan.stack} app ${app}: wrote ${written.join(', ')}`);
    return { app, written, plan };
  }
}
