import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { cleanEntryName, decideEntry, extractTree, linkTargetInside } from '../../src/agent/tree.js';

type Entry = { name: string; type?: tarStream.Header['type']; linkname?: string; mode?: number; content?: string | Buffer; size?: number };

/** A tar archive with exactly these entries (headers as given, hostile ones included). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const content = entry.content === undefined ? undefined : Buffer.from(entry.content);
      const header = { name: entry.name, type, mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644), ...(entry.linkname ? { linkname: entry.linkname } : {}) } as tarStream.Header;
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (type === 'file') pack.entry(header, content ?? Buffer.alloc(0), done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

let scratch: string;
let n = 0;
beforeAll(async () => { scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-tree-')); });
afterAll(async () => { await fs.rm(scratch, { recursive: true, force: true }); });

async function freshRoot(): Promise<string> {
  n += 1;
  const dir = path.join(scratch, `t${n}`);
  await fs.mkdir(path.join(dir, 'tree'), { recursive: true });
  return path.join(dir, 'tree');
}

async function extract(entries: Entry[], options: Parameters<typeof extractTree>[2] = { what: 'test tree' }, gzip = false) {
  const root = await freshRoot();
  const archive = await tarOf(entries);
  const result = await extractTree(Readable.from([gzip ? gzipSync(archive) : archive]), root, options);
  return { root, result };
}

async function refusal(entries: Entry[], options: Parameters<typeof extractTree>[2] = { what: 'test tree' }): Promise<PaasError> {
  try {
    await extract(entries, options);
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected the tree to be refused');
}

describe('cleanEntryName', () => {
  it.each([
    ['a/b.txt', 'a/b.txt'],
    ['./a//b/', 'a/b'],
    ['.', ''],
    ['/etc/passwd', undefined],
    ['../x', undefined],
    ['a/../../x', undefined],
    ['a/..', undefined],
    ['a\\b', undefined],
    [`${'x'.repeat(256)}/y`, undefined],
  ])('%j -> %j', (raw, expected) => {
    expect(cleanEntryName(raw)).toBe(expected);
  });
});

describe('linkTargetInside', () => {
  it.each([
    ['lib/a', 'b', 'lib/b'],
    ['lib/a', '../b', 'b'],
    ['a', '.', '.'],
    ['a', '..', undefined],
    ['lib/a', '../../b', undefined],
    ['a', '/etc/passwd', undefined],
    ['a', '', undefined],
  ])('%s -> %s: %j', (name, target, expected) => {
    expect(linkTargetInside(name, target)).toBe(expected);
  });
});

describe('decideEntry', () => {
  it('keeps only the owner\'s execute bit (no setuid, setgid, sticky, group or other writes)', () => {
    expect(decideEntry({ name: 'run.sh', type: 'file', mode: 0o4777 })).toEqual({ action: 'write', name: 'run.sh', kind: 'file', mode: 0o755 });
    expect(decideEntry({ name: 'a.txt', type: 'file', mode: 0o666 })).toEqual({ action: 'write', name: 'a.txt', kind: 'file', mode: 0o644 });
  });

  it('captures and skips by name', () => {
    const rules = { capture: ['.paas/Dockerfile', '.dockerignore'], skip: ['.paas'] };
    expect(decideEntry({ name: '.paas/Dockerfile', type: 'file' }, rules).action).toBe('capture');
    expect(decideEntry({ name: '.paas/other', type: 'file' }, rules).action).toBe('skip');
    expect(decideEntry({ name: '.paas', type: 'directory' }, rules).action).toBe('skip');
    expect(decideEntry({ name: '.dockerignore', type: 'symlink', linkname: '/etc/shadow' }, rules)).toMatchObject({ action: 'refuse' });
  });

  it.each([
    ['character-device', /is a device file/],
    ['block-device', /is a device file/],
    ['fifo', /is a named pipe/],
    ['link', /is a hard link/],
  ] as const)('refuses a %s', (type, reason) => {
    const decision = decideEntry({ name: 'dev/x', type, mode: 0o644 });
    expect(decision.action).toBe('refuse');
    expect((decision as { reason: string }).reason).toMatch(reason);
  });
});

describe('extractTree', () => {
  it('unpacks files, directories and links inside the tree; gzip or not', async () => {
    for (const gzip of [false, true]) {
      const { root, result } = await extract([
        { name: 'app/', type: 'directory' },
        { name: 'app/server.js', content: 'console.log(1)\n' },
        { name: 'app/bin/start', content: '#!/bin/sh\n', mode: 0o755 },
        { name: 'app/current', type: 'symlink', linkname: 'server.js' },
        { name: 'app/up', type: 'symlink', linkname: '../README' },
        { name: 'README', content: 'hi' },
      ], { what: 'test tree' }, gzip);
      expect(await fs.readFile(path.join(root, 'app/server.js'), 'utf8')).toBe('console.log(1)\n');
      expect((await fs.stat(path.join(root, 'app/bin/start'))).mode & 0o777).toBe(0o755);
      expect(await fs.readlink(path.join(root, 'app/current'))).toBe('server.js');
      expect(await fs.readFile(path.join(root, 'app/up'), 'utf8')).toBe('hi');
      expect(result).toMatchObject({ dropped: [], files: 3, bytes: 27 });
    }
  });

  it('drops links that lead outside the tree, names them, and writes nothing through them', async () => {
    const outside = path.join(scratch, 'outside-target');
    const { root, result } = await extract([
      { name: 'abs', type: 'symlink', linkname: '/root/.ssh/authorized_keys' },
      { name: 'up', type: 'symlink', linkname: '../../etc' },
      { name: 'dir/deep', type: 'symlink', linkname: '../../x' },
      { name: 'to-outside', type: 'symlink', linkname: outside },
      { name: 'ok', content: 'fine' },
    ]);
    expect(result.dropped.sort()).toEqual(['abs', 'dir/deep', 'to-outside', 'up']);
    expect(await fs.readdir(root)).toEqual(['ok']);
    expect(await fs.access(outside).then(() => true, () => false)).toBe(false);
  });

  it('drops a chain of links that only leads out once followed (each one looks inside by its text)', async () => {
    const { root, result } = await extract([
      { name: 'd/', type: 'directory' },
      { name: 'd/up', type: 'symlink', linkname: '..' },
      { name: 'escape', type: 'symlink', linkname: 'd/up/..' },
    ]);
    expect(result.dropped).toEqual(['escape']);
    expect((await fs.readdir(root)).sort()).toEqual(['d']);
  });

  it('never writes through a link: an entry under a link is refused', async () => {
    const error = await refusal([
      { name: 'lib', type: 'symlink', linkname: 'real' },
      { name: 'real/', type: 'directory' },
      { name: 'lib/x.js', content: 'x' },
    ]);
    expect(error.message).toBe('the tree was refused: "lib" is not a directory, but entries lie under it');
  });

  it('refuses a duplicate entry instead of writing over the first', async () => {
    const error = await refusal([{ name: 'a', content: '1' }, { name: 'a', content: '2' }]);
    expect(error.message).toBe('the test tree was refused: "a" appears twice');
  });

  it.each([
    [[{ name: '../evil', content: 'x' }], /"\.\.\/evil" is an absolute path, climbs out/],
    [[{ name: '/etc/cron.d/evil', content: 'x' }], /"\/etc\/cron.d\/evil" is an absolute path/],
    [[{ name: 'null', type: 'character-device' as const }], /"null" is a device file/],
    [[{ name: 'pipe', type: 'fifo' as const }], /"pipe" is a named pipe/],
    [[{ name: 'a', content: 'x' }, { name: 'b', type: 'link' as const, linkname: 'a' }], /"b" is a hard link/],
  ])('refuses %j with a message naming the entry', async (entries, message) => {
    const error = await refusal(entries);
    expect(error.kind).toBe('usage');
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(/remove the entry/);
  });

  it('bounds the entries and the bytes', async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, content: 'x' }));
    expect((await refusal(many, { what: 'test tree', limits: { maxBytes: 1e6, maxEntries: 10 } })).message).toBe('the test tree was refused: it holds more than 10 entries');
    const big = [{ name: 'big.bin', content: Buffer.alloc(2000) }];
    expect((await refusal(big, { what: 'test tree', limits: { maxBytes: 1000, maxEntries: 10 } })).message).toBe('the test tree was refused: it holds more than 1.0 KB');
  });

  it('captures paas\'s files into memory and leaves them out of the tree', async () => {
    const { root, result } = await extract([
      { name: '.paas/Dockerfile', content: 'FROM x\n' },
      { name: '.paas/stale', content: 'old' },
      { name: '.dockerignore', content: 'node_modules\n' },
      { name: 'index.html', content: '<p>hi</p>' },
    ], { what: 'test tree', capture: ['.paas/Dockerfile', '.dockerignore'], skip: ['.paas'] });
    expect(result.captured.get('.paas/Dockerfile')?.toString()).toBe('FROM x\n');
    expect(result.captured.get('.dockerignore')?.toString()).toBe('node_modules\n');
    expect(await fs.readdir(root)).toEqual(['index.html']);
  });

  it('refuses what is not a tar archive', async () => {
    const root = await freshRoot();
    await expect(extractTree(Readable.from([Buffer.from('this is not a tar archive at all, just some text'.repeat(20))]), root, { what: 'test tree' }))
      .rejects.toThrow(/the test tree was refused: it is not a valid tar archive/);
  });
});
