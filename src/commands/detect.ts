import { Args } from '@oclif/core';
import { PaasCommand } from '../ui/command.js';
import { resolveApp } from '../app.js';
import type { BuildPlan } from '../detect/types.js';

export default class Detect extends PaasCommand {
  static override summary = 'Show how paas would build the app in DIR';
  static override description = 'Detects the stack (dockerfile, node, python, go, ruby, static) and prints the build plan: why, package manager, build steps, process types and their commands, port and base image. Reads paas.yml, Procfile and app.json when present.';
  static override examples = [
    '<%= config.bin %> detect',
    '<%= config.bin %> detect ./services/api',
    '<%= config.bin %> detect --json | jq .plan.processes',
  ];
  static override args = { dir: Args.directory({ description: 'app directory', default: '.' }) };

  async run(): Promise<{ app: string; dir: string; plan: BuildPlan }> {
    const { args } = await this.parse(Detect);
    const { app, dir, plan } = await resolveApp(args.dir);
    if (!this.jsonEnabled()) this.log(formatPlan(app, plan));
    return { app, dir, plan };
  }
}

export function formatPlan(app: string, plan: BuildPlan): string {
  const lines = [
    `app:        ${app}`,
    `stack:      ${plan.stack}${plan.packageManager ? ` (${plan.packageManager})` : ''}`,
    `base image: ${plan.baseImage}${plan.runtimeImage ? ` (runs in ${plan.runtimeImage})` : ''}`,
    `port:       ${plan.port}`,
    'why:',
    ...plan.reasons.map((r) => `  - ${r}`),
  ];
  if (plan.install.length) lines.push('install:', ...plan.install.map((c) => `  $ ${c}`));
  if (plan.build.length) lines.push('build:', ...plan.build.map((c) => `  $ ${c}`));
  lines.push(`processes (${plan.processSource}):`);
  for (const [type, command] of Object.entries(plan.processes)) lines.push(`  ${type}: ${command ?? '(the image\'s CMD)'}`);
  if (plan.healthcheck) lines.push(`healthcheck: GET ${plan.healthcheck.path} (${plan.healthcheck.source})`);
  if (plan.warnings.length) lines.push('warnings:', ...plan.warnings.map((w) => `  ! ${w}`));
  return lines.join('\n');
}
