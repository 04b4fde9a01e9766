import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppDir, MAX_APP_FILE_BYTES } from '../../src/detect/appdir.js';
import { makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

describe('AppDir reads', () => {
  it('reads a file, undefined for a missing one or a dangling link', async () => {
    const dir = await makeTree({ 'a.txt': 'hello' });
    await symlink(path.join(dir, 'gone'), path.join(dir, 'dangling'));
    const app = new AppDir(dir);
    expect(await app.read('a.txt')).toBe('hello');
    expect(await app.read('missing.txt')).toBeUndefined();
    expect(await app.read('a.txt/below')).toBeUndefined();
    expect(await app.read('dangling')).toBeUndefined();
  });

  it('follows a link inside the app directory, refuses one that leads out', async () => {
    const outside = await makeTree({ 'secret.txt': 'key' });
    const dir = await makeTree({ 'real/Procfile': 'web: a\n' });
    await symlink('real/Procfile', path.join(dir, 'Procfile'));
    await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'requirements.txt'));
    await symlink(outside, path.join(dir, 'up'));
    const app = new AppDir(dir);
    expect(await app.read('Procfile')).toBe('web: a\n');
    const error = await paasError(app.read('requirements.txt'));
    expect(error).toMatchObject({
      kind: 'config',
      message: 'requirements.txt is a link that leads out of the app directory',
      where: path.join(dir, 'requirements.txt'),
    });
    expect((await paasError(app.readStart('up/secret.txt'))).message).toBe('up/secret.txt is a link that leads out of the app directory');
  });

  it('refuses a file larger than MAX_APP_FILE_BYTES; readStart returns its start', async () => {
    const dir = await makeTree({});
    await writeFile(path.join(dir, 'at-limit.json'), 'x'.repeat(MAX_APP_FILE_BYTES));
    await writeFile(path.join(dir, 'big.json'), 'y'.repeat(MAX_APP_FILE_BYTES + 1));
    const app = new AppDir(dir);
    expect(await app.read('at-limit.json')).toHaveLength(MAX_APP_FILE_BYTES);
    const error = await paasError(app.read('big.json'));
    expect(error).toMatchObject({ kind: 'config', message: `big.json is larger than ${MAX_APP_FILE_BYTES} bytes, more than paas reads` });
    expect(await app.readStart('big.json', 10)).toBe('y'.repeat(10));
  });

  it('refuses a directory where a file is expected', async () => {
    const dir = await makeTree({});
    await mkdir(path.join(dir, 'Procfile'));
    expect((await paasError(new AppDir(dir).read('Procfile'))).message).toBe('Procfile is a directory, expected a file');
  });
});
