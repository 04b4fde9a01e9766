import { afterAll, describe, expect, it } from 'vitest';
import { parseGoMod } from '../../src/detect/go.js';
import { detect } from '../../src/detect/index.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

const REWRITE = "sed -i -E 's/^go [0-9][0-9.]*[[:space:]]*$/go 1.19/; /^toolchain[[:space:]]/d' go.mod";

describe('parseGoMod', () => {
  it('reads the module path and the go version without its patch', () => {
    expect(parseGoMod('module github.com/acme/api\n\ngo 1.21.3\n\ntoolchain go1.22.1\n', 'go.mod')).toEqual({
      module: 'github.com/acme/api',
      goVersion: '1.21',
      newSyntax: true,
    });
    expect(parseGoMod('module a\ngo 1.16\n', 'go.mod')).toEqual({ module: 'a', goVersion: '1.16' });
    expect(parseGoMod('// comment\nmodule "example.com/quoted"\n', 'go.mod')).toEqual({ module: 'example.com/quoted' });
  });

  it('rejects a go.mod without a module line', () => {
    expect(() => parseGoMod('go 1.22\n', '/app/go.mod')).toThrow(expect.objectContaining({ kind: 'config', where: '/app/go.mod' }));
  });
});

describe('go stack', () => {
  it('builds package main at the root into bin/<last module path element>', async () => {
    const dir = await makeTree({
      'go.mod': 'module github.com/acme/hello-api\n\ngo 1.22\n',
      'go.sum': '',
      'main.go': '// Command hello serves.\npackage main\n\nfunc main() {}\n',
      'main_test.go': 'package main\n',
    });
    expect(await detect(dir)).toEqual({
      stack: 'go',
      reasons: ['go.mod found: go', 'package main at the root: builds bin/hello-api'],
      warnings: [
        'go.mod go 1.22: paas has no image for Go 1.22, building with Go 1.19, the nearest',
        "go.mod's go line is set to 1.19 for the build (Go 1.19 cannot read the one written)",
      ],
      packageManager: 'go',
      baseImage: 'golang:1.19-bookworm',
      runtimeImage: 'debian:bookworm-slim',
      manifests: ['go.mod', 'go.sum'],
      install: [REWRITE, 'go mod download'],
      build: [REWRITE, 'CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/hello-api .'],
      processes: { web: 'bin/hello-api' },
      processSource: 'go main package .',
      port: 8080,
      goPackage: '.',
      goBinary: 'hello-api',
    });
  });

  it('builds the first cmd/<name> with Go files when the root is a library', async () => {
    const dir = await makeTree({
      'go.mod': 'module example.com/shop\n',
      'shop.go': 'package shop\n',
      'cmd/aaa-docs/README.md': '',
      'cmd/server/main.go': 'package main\n',
      'cmd/worker/main.go': 'package main\n',
    });
    expect(await detect(dir)).toMatchObject({
      baseImage: 'golang:1.19-bookworm',
      manifests: ['go.mod'],
      goPackage: './cmd/server',
      goBinary: 'server',
      build: ['CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/server ./cmd/server'],
      processes: { web: 'bin/server' },
    });
  });

  it('names the binary as go build does for a /vN module', async () => {
    const dir = await makeTree({ 'go.mod': 'module github.com/acme/tool/v2\ngo 1.21\n', 'main.go': 'package main\n' });
    expect((await detect(dir)).goBinary).toBe('tool');
  });

  it('lets the Procfile name the binary', async () => {
    const dir = await makeTree({ 'go.mod': 'module app\n', 'main.go': 'package main\n', Procfile: 'web: bin/app -listen :$PORT\n' });
    expect(await detect(dir)).toMatchObject({ processes: { web: 'bin/app -listen :$PORT' }, processSource: 'Procfile' });
  });

  it('uses Go 1.19 for an older go line without rewriting it, with a warning', async () => {
    const dir = await makeTree({ 'go.mod': 'module app\n\ngo 1.16\n', 'main.go': 'package main\n' });
    expect(await detect(dir)).toMatchObject({
      warnings: ['go.mod go 1.16: paas has no image for Go 1.16, building with Go 1.19, the nearest'],
      install: ['go mod download'],
    });
    const current = await makeTree({ 'go.mod': 'module app\n\ngo 1.19\n', 'main.go': 'package main\n' });
    expect(await detect(current)).toMatchObject({ warnings: [], reasons: ['go.mod found: go', 'go.mod go 1.19: Go 1.19', 'package main at the root: builds bin/app'] });
  });

  it('builds from vendor/ when vendor/modules.txt exists: nothing is downloaded', async () => {
    const dir = await makeTree({
      'go.mod': 'module example.com/web\n\ngo 1.19\n\nrequire github.com/lib/pq v1.10.9\n',
      'go.sum': '',
      'main.go': 'package main\n',
      'vendor/modules.txt': '# github.com/lib/pq v1.10.9\n',
    });
    expect(await detect(dir)).toMatchObject({
      manifests: [],
      install: [],
      build: ['CGO_ENABLED=0 go build -mod=vendor -trimpath -ldflags="-s -w" -o /app/bin/web .'],
    });
    expect((await detect(dir)).reasons).toContain('vendor/modules.txt: dependencies come from vendor/ (-mod=vendor), nothing is downloaded');
  });

  it('fails when there is no main package', async () => {
    const dir = await makeTree({ 'go.mod': 'module example.com/lib\n', 'lib.go': 'package lib\n' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({ kind: 'detect', message: 'the go module has no main package to build', where: dir });
  });
});

describe('go without go.mod (GOPATH mode, as Heroku builds it)', () => {
  const gopathBuild = (importPath: string, binary: string, gopath = '/go') => [
    `mkdir -p /go/src/${importPath.split('/').slice(0, -1).join('/')}`.replace(/\/$/, ''),
    `cp -a /app /go/src/${importPath}`,
    `cd /go/src/${importPath}`,
    `GO111MODULE=off GOPATH=${gopath} CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/${binary} .`,
  ];

  it('godep: Godeps/Godeps.json ImportPath and GoVersion, Godeps/_workspace on GOPATH', async () => {
    const dir = await makeTree({
      'Godeps/Godeps.json': json({ ImportPath: 'github.com/heroku/go-getting-started', GoVersion: 'go1.6', Deps: [] }),
      'Godeps/_workspace/src/github.com/x/y/y.go': 'package y\n',
      'main.go': 'package main\n',
    });
    expect(await detect(dir)).toEqual({
      stack: 'go',
      reasons: [
        'Godeps/Godeps.json found: go',
        'Godeps/Godeps.json: import path github.com/heroku/go-getting-started',
        'package main at the root: builds bin/go-getting-started',
        'no go.mod: built in GOPATH mode as github.com/heroku/go-getting-started, dependencies from Godeps/_workspace, nothing is downloaded',
      ],
      warnings: ['Godeps/Godeps.json GoVersion 1.6: paas has no image for Go 1.6, building with Go 1.19, the nearest'],
      packageManager: 'go',
      baseImage: 'golang:1.19-bookworm',
      runtimeImage: 'debian:bookworm-slim',
      manifests: [],
      install: [],
      build: gopathBuild(
        'github.com/heroku/go-getting-started',
        'go-getting-started',
        '/go/src/github.com/heroku/go-getting-started/Godeps/_workspace:/go',
      ),
      processes: { web: 'bin/go-getting-started' },
      processSource: 'go main package .',
      port: 8080,
      goPackage: '.',
      goBinary: 'go-getting-started',
    });
  });

  it('.godir names the binary the Procfile runs by name (bin/ is on PATH)', async () => {
    const dir = await makeTree({ '.godir': 'web\n', 'web.go': 'package main\n', Procfile: 'web: web\n' });
    const plan = await detect(dir);
    expect(plan).toMatchObject({ processes: { web: 'web' }, goBinary: 'web', build: gopathBuild('web', 'web') });
    expect(plan.reasons).toContain('.godir: import path web');
    expect(plan.reasons).toContain('.godir names no Go version: Go 1.19');
  });

  it.each([
    [{ 'vendor/vendor.json': json({ rootPath: 'github.com/acme/api', heroku: { goVersion: 'go1.19' } }) }, 'vendor/vendor.json'],
    [{ 'glide.yaml': 'package: github.com/acme/api\nimport: []\n', 'vendor/': '' }, 'glide.yaml'],
    [{ 'Gopkg.toml': '[[constraint]]\n  name = "x"\n\n[metadata.heroku]\n  root-package = "github.com/acme/api"\n  go-version = "go1.19"\n', 'Gopkg.lock': '' }, 'Gopkg.toml'],
  ])('reads the import path of %o', async (files, file) => {
    const dir = await makeTree({ ...files, 'main.go': 'package main\n' });
    const plan = await detect(dir);
    expect(plan.build).toEqual(gopathBuild('github.com/acme/api', 'api'));
    expect(plan.reasons).toContain(`${file}: import path github.com/acme/api`);
  });

  it('Go files alone: detected by evidence, the binary named as the Procfile runs it', async () => {
    const dir = await makeTree({ 'hello.go': 'package main\n', 'hello_test.go': 'package main\n', Procfile: 'web: bin/hello -port $PORT\n' });
    const plan = await detect(dir);
    expect(plan.reasons.slice(0, 2)).toEqual([
      'hello.go (Go source, no go.mod) (no marker file of any stack): go',
      'no go.mod or dependency tool: the binary is named hello, as Procfile web runs it',
    ]);
    expect(plan.build).toEqual(gopathBuild('hello', 'hello'));
  });

  it('refuses an import path that is not one, naming the file', async () => {
    const dir = await makeTree({ 'Godeps/Godeps.json': json({ ImportPath: '../../etc; rm -rf /' }), 'main.go': 'package main\n' });
    expect(await paasError(detect(dir))).toMatchObject({
      kind: 'config',
      message: 'Godeps/Godeps.json ImportPath "../../etc; rm -rf /" is not a Go import path',
      where: `${dir}/Godeps/Godeps.json`,
    });
  });
});
