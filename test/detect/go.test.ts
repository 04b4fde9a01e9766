import { afterAll, describe, expect, it } from 'vitest';
import { parseGoMod } from '../../src/detect/go.js';
import { detect } from '../../src/detect/index.js';
import { makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

describe('parseGoMod', () => {
  it('reads the module path and the go version without its patch', () => {
    expect(parseGoMod('module github.com/acme/api\n\ngo 1.21.3\n\ntoolchain go1.22.1\n', 'go.mod')).toEqual({
      module: 'github.com/acme/api',
      goVersion: '1.21',
    });
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
      reasons: ['go.mod found: go', 'go.mod go 1.22: Go 1.22', 'package main at the root: builds bin/hello-api'],
      warnings: [],
      packageManager: 'go',
      baseImage: 'golang:1.22-bookworm',
      runtimeImage: 'debian:bookworm-slim',
      manifests: ['go.mod', 'go.sum'],
      install: ['go mod download'],
      build: ['CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app/bin/hello-api .'],
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

  it('fails when there is no main package', async () => {
    const dir = await makeTree({ 'go.mod': 'module example.com/lib\n', 'lib.go': 'package lib\n' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({ kind: 'detect', message: 'the go module has no main package to build', where: dir });
  });
});
