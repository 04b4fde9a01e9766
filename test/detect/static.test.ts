import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/detect/index.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

describe('static stack', () => {
  it('serves the app directory when index.html is at its top', async () => {
    const dir = await makeTree({ 'index.html': '<h1>hi</h1>' });
    expect(await detect(dir)).toEqual({
      stack: 'static',
      reasons: ['index.html found: static', 'index.html: serves the app directory with nginx'],
      warnings: [],
      baseImage: 'nginx:1.22',
      manifests: [],
      install: [],
      build: [],
      processes: { web: "nginx -g 'daemon off;'" },
      processSource: 'static site (nginx)',
      port: 8080,
      staticRoot: '.',
    });
  });

  it.each([
    ['public/index.html', { 'public/index.html': '' }, 'public'],
    ['Staticfile root', { Staticfile: 'root: dist/\npushstate: enabled\n', 'dist/index.html': '' }, 'dist'],
    ['an empty Staticfile', { Staticfile: '', 'index.html': '' }, '.'],
    ['static.json root', { 'static.json': json({ root: 'public/', clean_urls: true }), 'public/index.html': '' }, 'public'],
    ['static.json without root', { 'static.json': '{}', 'public_html/index.html': '' }, 'public_html'],
    ['.static (Dokku)', { '.static': '', 'index.html': '' }, '.'],
    ['a ./ root', { Staticfile: 'root: ./site/./', 'site/index.html': '' }, 'site'],
  ])('finds the root from %s', async (_, files, root) => {
    const dir = await makeTree(files);
    expect(await detect(dir)).toMatchObject({ stack: 'static', staticRoot: root });
  });

  it('rejects a root outside the app directory', async () => {
    const dir = await makeTree({ Staticfile: 'root: ../etc\n' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({ kind: 'config', message: 'root "../etc" is outside the app directory', where: `${dir}/Staticfile` });
    const absolute = await makeTree({ 'static.json': json({ root: '/etc' }) });
    expect((await paasError(detect(absolute))).message).toBe('root "/etc" is outside the app directory');
  });

  it('rejects a root that is not a directory', async () => {
    const dir = await makeTree({ Staticfile: 'root: build\n' });
    expect((await paasError(detect(dir))).message).toBe('root "build" is not a directory');
  });

  it('rejects a malformed Staticfile or static.json, with the line', async () => {
    const yaml = await makeTree({ Staticfile: 'root: [public\n' });
    expect((await paasError(detect(yaml))).where).toMatch(new RegExp(`^${yaml}/Staticfile:\\d+:\\d+$`));
    const jsonFile = await makeTree({ 'static.json': '{\n  "root": "public/",\n}\n' });
    expect((await paasError(detect(jsonFile))).where).toBe(`${jsonFile}/static.json:3:1`);
  });
});
