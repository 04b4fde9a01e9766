/**
 * The shape of src/, checked: no import cycles (type-only imports count: they tie modules as
 * much for a reader), the CLI reaches the agent only through its protocol module, and every
 * docker command line the agent runs comes from one builder module.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = path.resolve(fileURLToPath(new URL('../src', import.meta.url)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : name.endsWith('.ts') ? [file] : [];
  });
}

const files = sources(src);
const rel = (file: string) => path.relative(src, file).split(path.sep).join('/');

/** The src/ files a file imports (static, dynamic and type-only imports; .js specifiers name .ts files). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => files.includes(target))]));

/** Every cycle found by a depth-first walk, as a list of files, each reported once. */
function cycles(): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string) => {
    if (done.has(file)) return;
    if (seen.has(file)) {
      found.push([...stack.slice(stack.indexOf(file)), file].map(rel));
      return;
    }
    seen.add(file);
    stack.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    stack.pop();
    done.add(file);
  };
  for (const file of files) visit(file);
  return found;
}

describe('the module graph of src/', () => {
  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it('outside src/agent, only the agent\'s protocol module is imported from it', () => {
    // src/backup and src/acme are the agent's libraries (they run on hosts only): they may use
    // the agent's state and secrets modules. The CLI must not import them (see the next tests).
    const hostSide = (file: string) => rel(file).startsWith('agent/') || rel(file).startsWith('backup/') || rel(file).startsWith('acme/');
    const reaching = files.filter((file) => !hostSide(file)).flatMap((file) =>
      (graph.get(file) ?? []).filter((target) => rel(target).startsWith('agent/') && rel(target) !== 'agent/protocol.ts').map((target) => `${rel(file)} -> ${rel(target)}`));
    expect(reaching).toEqual([]);
  });

  it('src/backup reaches only the agent\'s state and secrets modules; outside the agent, only its pure retention module is imported', () => {
    const allowed = ['agent/state.ts', 'agent/secrets.ts', 'agent/protocol.ts'];
    const fromBackup = files.filter((file) => rel(file).startsWith('backup/')).flatMap((file) =>
      (graph.get(file) ?? []).filter((target) => rel(target).startsWith('agent/') && !allowed.includes(rel(target))).map((target) => `${rel(file)} -> ${rel(target)}`));
    const intoBackup = files.filter((file) => !rel(file).startsWith('agent/') && !rel(file).startsWith('backup/')).flatMap((file) =>
      (graph.get(file) ?? []).filter((target) => rel(target).startsWith('backup/') && rel(target) !== 'backup/retention.ts').map((target) => `${rel(file)} -> ${rel(target)}`));
    expect([...fromBackup, ...intoBackup]).toEqual([]);
  });

  it('src/acme reaches only the agent\'s state and secrets modules; outside the agent, only its pure renewal module is imported', () => {
    const allowed = ['agent/state.ts', 'agent/secrets.ts', 'agent/protocol.ts'];
    const fromAcme = files.filter((file) => rel(file).startsWith('acme/')).flatMap((file) =>
      (graph.get(file) ?? []).filter((target) => rel(target).startsWith('agent/') && !allowed.includes(rel(target))).map((target) => `${rel(file)} -> ${rel(target)}`));
    const intoAcme = files.filter((file) => !rel(file).startsWith('agent/') && !rel(file).startsWith('acme/')).flatMap((file) =>
      (graph.get(file) ?? []).filter((target) => rel(target).startsWith('acme/') && rel(target) !== 'acme/renewal.ts').map((target) => `${rel(file)} -> ${rel(target)}`));
    expect([...fromAcme, ...intoAcme]).toEqual([]);
  });
});

describe('docker command lines', () => {
  it('the agent runs docker only with argv from the builder module (src/release/docker.ts)', () => {
    const inline = files.filter((file) => rel(file).startsWith('agent/')).flatMap((file) =>
      readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
        /\b(docker|run|start)\(\s*(?:'docker',\s*)?\[\s*'/.test(line) && /docker/.test(line) ? [`${rel(file)}:${i + 1}: ${line.trim()}`] : []));
    expect(inline).toEqual([]);
  });
});
