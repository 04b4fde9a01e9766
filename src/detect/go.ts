import path from 'node:path';
import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import { isObject, objectField, stringField } from './parse.js';
import type { Procfile } from './procfile.js';
import type { Notes, StackDetector, StackPlan } from './stack.js';
import { DEFAULT_PORT } from './types.js';
import { nearestMinor, SUPPORTED_VERSIONS } from './versions.js';

const DEFAULT_GO = SUPPORTED_VERSIONS.go[0];
export const GO_DEFAULT_IMAGE = goImage(DEFAULT_GO);
/** The binary is static (CGO_ENABLED=0), so it runs in plain Debian. */
export const GO_RUNTIME_IMAGE = 'debian:bookworm-slim';

interface GoMod {
  module: string;
  /** major.minor from the `go` directive. */
  goVersion?: string;
  /** The directive's version as written ("1.21.3"), or a `toolchain` line: Go before 1.21 cannot read either. */
  newSyntax?: boolean;
}

interface MainPackage {
  goPackage: string;
  goBinary: string;
}

/** A Go project from before modules: where its import path and Go version come from. */
interface GopathProject {
  importPath: string;
  goVersion?: string;
  /** The dependency tool's file, and the field of it that names the version ("Godeps/Godeps.json GoVersion"). */
  file?: string;
  versionSource?: string;
}

/** What Go's import paths are made of; no element may be . or .. (it becomes a directory under GOPATH). */
const IMPORT_PATH = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*(?:\/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)*$/;
const GOPATH = '/go';
/** Where each dependency tool's file keeps the Go version (Heroku's settings for govendor and dep). */
const VERSION_FIELDS: Record<string, string> = {
  'Godeps/Godeps.json': 'GoVersion',
  'vendor/vendor.json': 'heroku.goVersion',
  'Gopkg.toml': '[metadata.heroku] go-version',
};

export const goDetector: StackDetector = {
  stack: 'go',
  // go.mod, then the dependency tools of GOPATH days (as Heroku's Go buildpack reads them).
  markers: ['go.mod', 'Godeps/Godeps.json', 'vendor/vendor.json', 'glide.yaml', 'Gopkg.toml', 'Gopkg.lock', '.godir'],
  evidence: {
    description: '.go files at the top',
    find: async (app) => {
      const file = (await goFiles(app, '.'))[0];
      return file && `${file} (Go source, no go.mod)`;
    },
  },
  plan: planGo,
};

async function planGo(app: AppDir, notes: Notes, procfile: Procfile | undefined): Promise<StackPlan> {
  return (await app.exists('go.mod')) ? planModule(app, notes) : planGopath(app, notes, procfile);
}

async function planModule(app: AppDir, notes: Notes): Promise<StackPlan> {
  const goMod = parseGoMod((await app.read('go.mod')) ?? '', app.path('go.mod'));
  const version = goMod.goVersion === undefined ? defaultGo('go.mod has no go directive', notes) : chooseGo(goMod.goVersion, 'go.mod go', app.path('go.mod'), notes);
  // Go 1.19 refuses to read go.mod with `go 1.21.0` or `toolchain`: the build sees the go line it can read.
  const rewrite = goMod.newSyntax || (goMod.goVersion !== undefined && version !== goMod.goVersion && newer(goMod.goVersion, version));
  const rewriteGoLine = `sed -i -E 's/^go [0-9][0-9.]*[[:space:]]*$/go ${version}/; /^toolchain[[:space:]]/d' go.mod`;
  if (rewrite) notes.warnings.push(`go.mod's go line is set to ${version} for the build (Go ${version} cannot read the one written)`);
  const main = await findMainPackage(app, moduleBinaryName(goMod.module), notes);
  const binary = `bin/${main.goBinary}`;
  const vendored = await app.exists('vendor/modules.txt');
  if (vendored) notes.reasons.push('vendor/modules.txt: dependencies come from vendor/ (-mod=vendor), nothing is downloaded');
  return {
    packageManager: 'go',
    baseImage: goImage(version),
    runtimeImage: GO_RUNTIME_IMAGE,
    manifests: vendored ? [] : (await app.exists('go.sum')) ? ['go.mod', 'go.sum'] : ['go.mod'],
    install: vendored ? [] : [...(rewrite ? [rewriteGoLine] : []), 'go mod download'],
    build: [
      ...(rewrite ? [rewriteGoLine] : []),
      `CGO_ENABLED=0 go build${vendored ? ' -mod=vendor' : ''} -trimpath -ldflags="-s -w" -o /app/${binary} ${main.goPackage}`,
    ],
    port: DEFAULT_PORT,
    ...main,
    start: async () => ({ command: binary, source: `go main package ${main.goPackage}` }),
  };
}

/**
 * A project without go.mod is built as Heroku's Go buildpack builds one: in GOPATH mode
 * (GO111MODULE=off), copied to $GOPATH/src/<import path>, so that vendor/ (and godep's
 * Godeps/_workspace) provide its dependencies and nothing is downloaded.
 */
async function planGopath(app: AppDir, notes: Notes, procfile: Procfile | undefined): Promise<StackPlan> {
  const project = await gopathProject(app, procfile, notes);
  const version = project.goVersion === undefined
    ? defaultGo(`${project.file ?? 'no go.mod'} names no Go version`, notes)
    : chooseGo(project.goVersion, project.versionSource ?? 'Go', app.root, notes);
  const main = await findMainPackage(app, moduleBinaryName(project.importPath), notes);
  const source = `${GOPATH}/src/${project.importPath}`;
  const workspace = await app.isDirectory('Godeps/_workspace');
  const vendor = await app.isDirectory('vendor');
  const from = [vendor ? 'vendor/' : '', workspace ? 'Godeps/_workspace' : ''].filter(Boolean).join(' and ');
  notes.reasons.push(`no go.mod: built in GOPATH mode as ${project.importPath}${from ? `, dependencies from ${from}` : ''}, nothing is downloaded`);
  const binary = `bin/${main.goBinary}`;
  return {
    packageManager: 'go',
    baseImage: goImage(version),
    runtimeImage: GO_RUNTIME_IMAGE,
    manifests: [],
    install: [],
    build: [
      `mkdir -p ${path.posix.dirname(source)}`,
      `cp -a /app ${source}`,
      `cd ${source}`,
      `GO111MODULE=off GOPATH=${workspace ? `${source}/Godeps/_workspace:${GOPATH}` : GOPATH} CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/${binary} ${main.goPackage}`,
    ],
    port: DEFAULT_PORT,
    ...main,
    start: async () => ({ command: binary, source: `go main package ${main.goPackage}` }),
  };
}

/** The import path (and Go version) from the first of godep, govendor, glide, dep and .godir that the app has. */
async function gopathProject(app: AppDir, procfile: Procfile | undefined, notes: Notes): Promise<GopathProject> {
  const godeps = await app.readJson('Godeps/Godeps.json');
  if (godeps !== undefined) {
    const settings = isObject(godeps) ? godeps : undefined;
    return named(app, { file: 'Godeps/Godeps.json', field: 'ImportPath', importPath: stringField(settings, 'ImportPath'), written: stringField(settings, 'GoVersion') }, procfile, notes);
  }
  const vendorJson = await app.readJson('vendor/vendor.json');
  if (vendorJson !== undefined) {
    const settings = isObject(vendorJson) ? vendorJson : undefined;
    const goVersion = stringField(objectField(settings, 'heroku'), 'goVersion');
    return named(app, { file: 'vendor/vendor.json', field: 'rootPath', importPath: stringField(settings, 'rootPath'), written: goVersion }, procfile, notes);
  }
  const glide = await app.readYaml('glide.yaml');
  if (glide !== undefined) {
    return named(app, { file: 'glide.yaml', field: 'package', importPath: stringField(isObject(glide) ? glide : undefined, 'package'), written: undefined }, procfile, notes);
  }
  const gopkg = await app.read('Gopkg.toml');
  if (gopkg !== undefined) {
    const heroku = /^\[metadata\.heroku\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(gopkg)?.[1] ?? '';
    const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'm').exec(heroku)?.[1];
    return named(app, { file: 'Gopkg.toml', field: '[metadata.heroku] root-package', importPath: value('root-package'), written: value('go-version') }, procfile, notes);
  }
  const godir = await app.read('.godir');
  if (godir !== undefined) {
    return named(app, { file: '.godir', field: 'import path', importPath: godir.split(/\r?\n/)[0]!.trim() || undefined, written: undefined }, procfile, notes);
  }
  return { importPath: procfileBinary(procfile, notes) };
}

function named(
  app: AppDir,
  source: { file: string; field: string; importPath: string | undefined; written: string | undefined },
  procfile: Procfile | undefined,
  notes: Notes,
): GopathProject {
  const { file, field, importPath, written } = source;
  const versionSource = `${file} ${VERSION_FIELDS[file] ?? 'Go version'}`;
  const goVersion = written === undefined ? undefined : /^(?:go)?(\d+\.\d+)/.exec(written.trim())?.[1];
  if (written !== undefined && goVersion === undefined) notes.warnings.push(`${versionSource} "${written}" is not a Go version like go1.12: ignored`);
  const version = { file, versionSource, ...(goVersion ? { goVersion } : {}) };
  if (importPath === undefined) {
    notes.warnings.push(`${file} has no ${field}: write the app's import path there`);
    return { importPath: procfileBinary(procfile, notes), ...version };
  }
  const trimmed = importPath.trim().replace(/\/+$/, '');
  if (!IMPORT_PATH.test(trimmed) || trimmed.split('/').some((element) => element === '.' || element === '..')) {
    throw new PaasError('config', `${file} ${field} ${JSON.stringify(importPath)} is not a Go import path`, {
      where: app.path(file),
      hint: 'write the import path the code is known by, e.g. github.com/acme/hello',
    });
  }
  notes.reasons.push(`${file}: import path ${trimmed}`);
  return { importPath: trimmed, ...version };
}

/** For Go files alone: the binary the Procfile runs (`web: bin/hello` or `web: hello`), else "app". */
function procfileBinary(procfile: Procfile | undefined, notes: Notes): string {
  for (const [type, command] of Object.entries(procfile ?? {})) {
    const program = /^(?:exec\s+)?(?:bin\/)?([A-Za-z0-9_-]+)(?:\s|$)/.exec(command.trim())?.[1];
    if (program) {
      notes.reasons.push(`no go.mod or dependency tool: the binary is named ${program}, as Procfile ${type} runs it`);
      return program;
    }
  }
  notes.reasons.push('no go.mod, dependency tool or Procfile naming a binary: the binary is named app');
  return 'app';
}

function defaultGo(why: string, notes: Notes): string {
  notes.reasons.push(`${why}: Go ${DEFAULT_GO}`);
  return DEFAULT_GO;
}

/** The Go paas has an image for nearest to the one asked for (`source` names where, e.g. "go.mod go"). */
function chooseGo(requested: string, source: string, where: string, notes: Notes): string {
  const version = nearestMinor(requested, SUPPORTED_VERSIONS.go);
  if (version === undefined) {
    throw new PaasError('config', `${source} asks for Go ${requested}, and paas builds Go ${SUPPORTED_VERSIONS.go.join(', ')} only`, {
      where,
      hint: `ask for Go ${DEFAULT_GO}, or build the app with a Dockerfile of its own`,
    });
  }
  if (version === requested) notes.reasons.push(`${source} ${requested}: Go ${version}`);
  else notes.warnings.push(`${source} ${requested}: paas has no image for Go ${requested}, building with Go ${version}, the nearest`);
  return version;
}

function newer(version: string, than: string): boolean {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  const [otherMajor, otherMinor] = than.split('.').map(Number) as [number, number];
  return major > otherMajor || (major === otherMajor && minor > otherMinor);
}

function goImage(version: string): string {
  return `golang:${version}-bookworm`;
}

/** The module path and Go version of a go.mod. `file` names it in errors. */
export function parseGoMod(text: string, file: string): GoMod {
  const module = /^\s*module\s+"?([^\s"]+)"?/m.exec(text)?.[1];
  if (!module) throw new PaasError('config', 'go.mod has no module line', { where: file, hint: 'run "go mod init <module path>"' });
  const directive = /^\s*go\s+(1\.\d+)(\.\d+)?/m.exec(text);
  const newSyntax = directive?.[2] !== undefined || /^\s*toolchain\s/m.test(text);
  return { module, ...(directive ? { goVersion: directive[1]! } : {}), ...(newSyntax ? { newSyntax } : {}) };
}

/** `package main` at the root (built as `rootName`), else the first cmd/<name> with Go files. */
async function findMainPackage(app: AppDir, rootName: string, notes: Notes): Promise<MainPackage> {
  if (await declaresMain(app, '.')) {
    const goBinary = binaryName(rootName);
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
