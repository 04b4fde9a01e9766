import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import type { Notes, StackDetector, StackPlan } from './stack.js';
import { DEFAULT_PORT } from './types.js';

const DEFAULT_GO = '1.19';
export const GO_DEFAULT_IMAGE = goImage(DEFAULT_GO);
/** The binary is static (CGO_ENABLED=0), so it runs in plain Debian. */
export const GO_RUNTIME_IMAGE = 'debian:bookworm-slim';

interface GoMod {
  module: string;
  /** major.minor from the `go` directive. */
  goVersion?: string;
}

interface MainPackage {
  goPackage: string;
  goBinary: string;
}

export const goDetector: StackDetector = {
  stack: 'go',
  markers: ['go.mod'],
  plan: planGo,
};

async function planGo(app: AppDir, notes: Notes): Promise<StackPlan> {
  const goMod = parseGoMod((await app.read('go.mod')) ?? '', app.path('go.mod'));
  const version = goMod.goVersion ?? DEFAULT_GO;
  notes.reasons.push(goMod.goVersion ? `go.mod go ${version}: Go ${version}` : `go.mod has no go directive: Go ${DEFAULT_GO}`);
  const main = await findMainPackage(app, goMod.module, notes);
  const binary = `bin/${main.goBinary}`;
  return {
    packageManager: 'go',
    baseImage: goImage(version),
    runtimeImage: GO_RUNTIME_IMAGE,
    manifests: (await app.exists('go.sum')) ? ['go.mod', 'go.sum'] : ['go.mod'],
    install: ['go mod download'],
    build: [`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/${binary} ${main.goPackage}`],
    port: DEFAULT_PORT,
    ...main,
    start: async () => ({ command: binary, source: `go main package ${main.goPackage}` }),
  };
}

function goImage(version: string): string {
  return `golang:${version}-bookworm`;
}

/** The module path and Go version of a go.mod. `file` names it in errors. */
export function parseGoMod(text: string, file: string): GoMod {
  const module = /^\s*module\s+"?([^\s"]+)"?/m.exec(text)?.[1];
  if (!module) throw new PaasError('config', 'go.mod has no module line', { where: file, hint: 'run "go mod init <module path>"' });
  const goVersion = /^\s*go\s+(1\.\d+)/m.exec(text)?.[1];
  return { module, ...(goVersion ? { goVersion } : {}) };
}

/** `package main` at the root, else the first cmd/<name> with Go files. */
async function findMainPackage(app: AppDir, module: string, notes: Notes): Promise<MainPackage> {
  if (await declaresMain(app, '.')) {
    const goBinary = binaryName(moduleBinaryName(module));
    notes.reasons.push(`package main at the root: builds bin/${goBinary}`);
    return { goPackage: '.', goBinary };
  }
  for (const name of await app.subdirectories('cmd')) {
    if ((await goFiles(app, `cmd/${name}`)).length === 0) continue;
    const goBinary = binaryName(name);
    notes.reasons.push(`cmd/${name}: builds bin/${goBinary}`);
    return { goPackage: `./cmd/${name}`, goBinary };
  }
  throw new PaasError('detect', 'the go module has no main package to build', {
    where: app.root,
    details: ['looked for: "package main" in a .go file at the root, or .go files in cmd/<name>/'],
    hint: 'put the main package at the root or in cmd/<name>/, or add a Dockerfile',
  });
}

async function declaresMain(app: AppDir, dir: string): Promise<boolean> {
  for (const file of await goFiles(app, dir)) {
    if (/^\s*package\s+main\b/m.test((await app.readStart(`${dir}/${file}`)) ?? '')) return true;
  }
  return false;
}

async function goFiles(app: AppDir, dir: string): Promise<string[]> {
  return (await app.files(dir)).filter((file) => file.endsWith('.go') && !file.endsWith('_test.go'));
}

/** What `go build` names the binary: the last path element, skipping a major-version suffix (/v2). */
function moduleBinaryName(module: string): string {
  const elements = module.split('/');
  const last = elements.at(-1)!;
  return /^v\d+$/.test(last) && elements.length > 1 ? elements.at(-2)! : last;
}

function binaryName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '') || 'app';
}
