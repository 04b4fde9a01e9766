import path from 'node:path';
import { PaasError } from '../errors.js';
import type { BuildPlan } from '../detect/types.js';
import { readAppFile } from '../util/fs.js';
import { processArgv } from '../release/command.js';
import { TEMPLATES } from './templates.generated.js';

/** Fills `{{name}}` placeholders; a line holding only a placeholder that renders empty is dropped. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const fill = (text: string) =>
    text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
      return value;
    });
  return template
    .split('\n')
    .flatMap((line) => {
      const only = /^\s*\{\{(\w+)\}\}\s*$/.exec(line);
      if (only && values[only[1]!] === '') return [];
      return [fill(line)];
    })
    .join('\n');
}

/** The CMD instruction (exec form) for a process command; see processArgv for the rules. */
export function renderCmd(command: string): string {
  return JSON.stringify(processArgv(command)).replace(/","/g, '", "');
}

function renderRun(commands: string[]): string {
  return commands.length === 0 ? '' : `RUN ${commands.join(' \\\n    && ')}`;
}

function renderCopy(sources: string[], destination: string): string {
  return `COPY ${JSON.stringify([...sources, destination]).replace(/","/g, '", "')}`;
}

function dependencyLayer(plan: BuildPlan): string {
  if (plan.manifests.length === 0) return renderRun(plan.install);
  return [renderCopy(plan.manifests, './'), renderRun(plan.install)].filter(Boolean).join('\n');
}

export function webCommand(plan: BuildPlan): string {
  const web = plan.processes.web ?? Object.values(plan.processes).find((c) => c);
  if (!web) throw new Error(`the ${plan.stack} plan has no command to run`);
  return web;
}

/** A file of templates/ (embedded at build time, so the host agent has them too). */
export function readTemplate(name: string): string {
  const text = TEMPLATES[name];
  if (text === undefined) throw new Error(`no template ${name}`);
  return text;
}

/** The Dockerfile paas generates for a plan, as exact text. Not for the dockerfile stack. */
export function renderDockerfile(plan: BuildPlan): string {
  if (plan.stack === 'dockerfile') throw new Error('the dockerfile stack builds the app\'s own Dockerfile');
  const staticRoot = plan.staticRoot && plan.staticRoot !== '.' ? `${plan.staticRoot}/` : './';
  return renderTemplate(readTemplate(`${plan.stack}/Dockerfile`), {
    baseImage: plan.baseImage,
    runtimeImage: plan.runtimeImage ?? plan.baseImage,
    packageManager: plan.packageManager ?? plan.stack,
    port: String(plan.port),
    dependencies: dependencyLayer(plan),
    build: renderRun(plan.build),
    staticRoot: JSON.stringify(staticRoot),
    cmd: renderCmd(webCommand(plan)),
  });
}

/** The .dockerignore used when the app has none. */
export function defaultDockerignore(plan: BuildPlan): string {
  try {
    return readTemplate(`${plan.stack}/dockerignore`);
  } catch {
    return readTemplate('dockerignore');
  }
}

export function imageLabels(app: string, plan: BuildPlan, commit?: string): Record<string, string> {
  return {
    'paas.app': app,
    'paas.stack': plan.stack,
    'paas.port': String(plan.port),
    'paas.processes': JSON.stringify(plan.processes),
    ...(commit ? { 'paas.commit': commit, 'org.opencontainers.image.revision': commit } : {}),
  };
}

/** One LABEL instruction (the builder makes one step per label when given them as options). */
export function labelInstruction(labels: Record<string, string>): string {
  return `LABEL ${Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ')}`;
}

/** The Dockerfile the app builds from: its own (dockerfile stack) or the stack's template. */
export async function appDockerfile(dir: string, plan: BuildPlan): Promise<string> {
  if (plan.stack !== 'dockerfile') return renderDockerfile(plan);
  const file = path.join(dir, plan.dockerfile ?? 'Dockerfile');
  const text = await readAppFile(file);
  if (text === undefined) throw new PaasError('build', `${plan.dockerfile ?? 'Dockerfile'} disappeared`, { where: file });
  return text;
}

/** A Dockerfile with paas's labels as its last instruction. */
export function withLabels(dockerfile: string, labels: Record<string, string>): string {
  return `${dockerfile.trimEnd()}\n${labelInstruction(labels)}\n`;
}

