import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ciDir = path.join(root, 'examples', 'ci');
const read = (file: string) => readFileSync(path.join(ciDir, file), 'utf8');
const readme = read('README.md');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'paas-ci-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The file as plain data; fails on any YAML error or warning (duplicate keys, bad indentation, ...). */
function load(file: string): Record<string, any> {
  const document = parseDocument(read(file), { uniqueKeys: true });
  expect(document.errors.map(String), file).toEqual([]);
  expect(document.warnings.map(String), file).toEqual([]);
  return document.toJS() as Record<string, any>;
}

interface Step {
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  run?: string;
}

describe('examples/ci/github-actions.yml', () => {
  const workflow = load('github-actions.yml');
  const steps = workflow.jobs.deploy.steps as Step[];
  const step = (name: string) => steps.find((s) => s.name === name)!;

  it('runs on pushes to main, one deploy at a time', () => {
    expect(workflow.name).toBe('deploy');
    expect(workflow.on).toEqual({ push: { branches: ['main'] }, workflow_dispatch: null });
    expect(workflow.concurrency).toEqual({ group: 'paas-deploy', 'cancel-in-progress': false });
    expect(Object.keys(workflow.jobs)).toEqual(['deploy']);
    expect(workflow.jobs.deploy['runs-on']).toBe('ubuntu-latest');
  });

  it('checks out, sets up Node 20, installs paas, pins host keys, deploys with --json', () => {
    expect(steps.map((s) => s.uses ?? s.name)).toEqual([
      'actions/checkout@v4', 'actions/setup-node@v4', 'Install paas', 'Pin the host keys', 'Deploy',
    ]);
    expect(steps[1]!.with).toEqual({ 'node-version': 20 });
    expect(step('Install paas').run).toBe('npm install --global paas');
    expect(step('Pin the host keys').env).toEqual({ HOST_KEYS: '${{ secrets.PAAS_HOST_KEYS }}' });
    expect(step('Deploy')).toEqual({
      name: 'Deploy',
      env: { PAAS_HOST: '${{ vars.PAAS_HOST }}', PAAS_SSH_KEY: '${{ secrets.PAAS_SSH_KEY }}' },
      run: 'paas deploy --json',
    });
  });

  it('writes the host keys to a file and points PAAS_KNOWN_HOSTS at it', () => {
    const script = step('Pin the host keys').run!;
    const githubEnv = path.join(scratch, 'github_env');
    const lines = '[203.0.113.10]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\nweb2 ssh-rsa AAAA';
    execFileSync('/bin/bash', ['--noprofile', '--norc', '-e', '-c', script], { env: { PATH: process.env.PATH, HOST_KEYS: lines, RUNNER_TEMP: scratch, GITHUB_ENV: githubEnv } });
    expect(readFileSync(path.join(scratch, 'paas_known_hosts'), 'utf8')).toBe(`${lines}\n`);
    expect(readFileSync(githubEnv, 'utf8')).toBe(`PAAS_KNOWN_HOSTS=${scratch}/paas_known_hosts\n`);
  });

  it('stops with a clear error when the host keys secret is not set', () => {
    const script = step('Pin the host keys').run!;
    let error: { status: number; stdout: string } | undefined;
    try {
      execFileSync('/bin/bash', ['--noprofile', '--norc', '-e', '-c', script], { env: { PATH: process.env.PATH, HOST_KEYS: '', RUNNER_TEMP: scratch, GITHUB_ENV: path.join(scratch, 'env2') }, encoding: 'utf8' });
    } catch (e) {
      error = e as { status: number; stdout: string };
    }
    expect(error?.status).toBe(1);
    expect(error?.stdout).toBe("::error::set the PAAS_HOST_KEYS secret to the hosts' known_hosts lines (see examples/ci/README.md)\n");
    expect(existsSync(path.join(scratch, 'env2'))).toBe(false);
  });
});

describe('examples/ci/gitlab-ci.yml', () => {
  const config = load('gitlab-ci.yml');

  it('has one deploy job on the default branch that installs paas and deploys with --json', () => {
    expect(Object.keys(config)).toEqual(['deploy']);
    expect(config.deploy).toEqual({
      stage: 'deploy',
      image: 'node:20-bookworm',
      services: [{ name: 'docker:24-dind', alias: 'docker' }],
      variables: { DOCKER_HOST: 'tcp://docker:2375', DOCKER_TLS_CERTDIR: '' },
      resource_group: 'production',
      rules: [{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }],
      script: ['npm install --global paas', 'paas deploy --json'],
    });
  });
});

describe('examples/ci/README.md', () => {
  it('documents every secret and variable the examples use', () => {
    const used = new Set<string>();
    for (const file of ['github-actions.yml', 'gitlab-ci.yml']) {
      for (const match of read(file).matchAll(/\b(?:secrets|vars)\.([A-Z_]+)/g)) used.add(match[1]!);
    }
    expect([...used].sort()).toEqual(['PAAS_HOST', 'PAAS_HOST_KEYS', 'PAAS_SSH_KEY']);
    for (const name of [...used, 'PAAS_KNOWN_HOSTS']) expect(readme, name).toContain(`| \`${name}\` |`);
  });

  it('links to files and headings that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toContain('../../docs/commands.md#exit-codes');
    for (const link of links) {
      const [file = '', anchor] = link.split('#');
      const target = path.resolve(ciDir, file);
      expect(existsSync(target), link).toBe(true);
      if (anchor === undefined) continue;
      const slugs = [...readFileSync(target, 'utf8').matchAll(/^#+ (.+)$/gm)]
        .map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-'));
      expect(slugs, link).toContain(anchor);
    }
  });
});
