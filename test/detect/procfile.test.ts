import { afterAll, describe, expect, it } from 'vitest';
import { detect, parseProcfile } from '../../src/detect/index.js';
import { PaasError } from '../../src/errors.js';
import { processArgv } from '../../src/release/command.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

function parseError(text: string): PaasError {
  try {
    parseProcfile(text, '/app/Procfile');
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected parseProcfile to throw');
}

describe('parseProcfile', () => {
  it('reads type: command lines, splitting at the first colon and keeping shell syntax', () => {
    const text = [
      '# processes',
      'web: gunicorn app:app --bind 0.0.0.0:$PORT',
      '',
      'worker:   celery -A tasks worker && echo "done: ok"  ',
      'release: ./migrate.sh',
      'clock_2-b:python clock.py',
    ].join('\n');
    expect(parseProcfile(text)).toEqual({
      web: 'gunicorn app:app --bind 0.0.0.0:$PORT',
      worker: 'celery -A tasks worker && echo "done: ok"',
      release: './migrate.sh',
      'clock_2-b': 'python clock.py',
    });
  });

  it('accepts CRLF line endings and a byte order mark', () => {
    expect(parseProcfile('\uFEFFweb: node server.js\r\nworker: node worker.js\r\n')).toEqual({
      web: 'node server.js',
      worker: 'node worker.js',
    });
  });

  it('accepts old Mac (CR) line endings, tabs and spaces around the colon, indented comments', () => {
    expect(parseProcfile('web\t:\tnode server.js\r  # a note\rworker :node worker.js\r\r')).toEqual({
      web: 'node server.js',
      worker: 'node worker.js',
    });
  });

  it('keeps a # in the command, as Heroku does: the shell that runs it reads a trailing # as a comment', () => {
    const procfile = parseProcfile('web: node server.js # the site\nworker: echo "job #1" && node worker.js #2\nclock: ./clock#1\n');
    expect(procfile).toEqual({
      web: 'node server.js # the site',
      worker: 'echo "job #1" && node worker.js #2',
      clock: './clock#1',
    });
    // How a release runs them: through /bin/sh, which drops the comment and keeps the quoted #.
    expect(processArgv(procfile.web!)).toEqual(['/bin/sh', '-c', 'exec node server.js # the site']);
    expect(processArgv(procfile.worker!)).toEqual(['/bin/sh', '-c', 'echo "job #1" && node worker.js #2']);
  });

  it('quotes at most 80 characters of a malformed line', () => {
    const error = parseError(`web: a\n${'x'.repeat(100_000)}\n`);
    expect(error.where).toBe('/app/Procfile:2');
    expect(error.message).toBe(`malformed Procfile line: "${'x'.repeat(80)}"... (100000 characters)`);
  });

  it('keeps process types in file order', () => {
    expect(Object.keys(parseProcfile('worker: a\nweb: b\nrelease: c\n'))).toEqual(['worker', 'web', 'release']);
  });

  it('refuses a type named __proto__ (not a process type), leaving Object.prototype alone', () => {
    expect(parseError('__proto__: node evil.js\n')).toMatchObject({ kind: 'config', where: '/app/Procfile:1' });
    expect(({} as Record<string, unknown>).evil).toBeUndefined();
  });

  it.each([
    ['Web: node server.js\n', '"Web" is not a valid process type'],
    ['web: a\n1web: b\n', '"1web" is not a valid process type'],
    [`web: a\n${'w'.repeat(31)}: b\n`, `"${'w'.repeat(31)}" is not a valid process type`],
    ['web: a\n_worker: b\n', '"_worker" is not a valid process type'],
  ])('refuses a process type a host cannot run, at its line: %j', (text, message) => {
    const error = parseError(text);
    expect(error.kind).toBe('config');
    expect(error.message).toContain(message);
    expect(error.where).toBe(`/app/Procfile:${text.split('\n').length - 1}`);
  });

  it('refuses a command longer than 16384 characters, naming its type and line', () => {
    const error = parseError(`web: a\nworker: ${'x'.repeat(16_385)}\n`);
    expect(error.where).toBe('/app/Procfile:2');
    expect(error.message).toBe('the command of process type "worker" is 16385 characters long, at most 16384 are allowed');
    expect(parseProcfile(`worker: ${'x'.repeat(16_384)}\n`).worker).toHaveLength(16_384);
  });

  it('refuses a command with a NUL byte, naming its type and line', () => {
    const error = parseError('web: node server.js\nworker: echo a\u0000b\n');
    expect(error.where).toBe('/app/Procfile:2');
    expect(error.message).toBe('the command of process type "worker" contains a NUL byte, which no program can be given');
  });

  it('refuses a 21st process type at its line; release: does not count', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `t${i}: run ${i}`);
    expect(Object.keys(parseProcfile([...twenty, 'release: migrate'].join('\n')))).toHaveLength(21);
    const error = parseError([...twenty, 'release: migrate', 't20: run 20'].join('\n'));
    expect(error.where).toBe('/app/Procfile:22');
    expect(error.message).toBe('the Procfile defines more than 20 process types');
  });

  it('rejects a line without a colon, naming the file and line', () => {
    const error = parseError('web: node server.js\n\nnode worker.js\n');
    expect(error.kind).toBe('config');
    expect(error.where).toBe('/app/Procfile:3');
    expect(error.message).toBe('malformed Procfile line: "node worker.js"');
    expect(error.hint).toContain('"type: command"');
  });

  it('rejects a type with characters other than letters, digits, _ and -', () => {
    expect(parseError('web: a\nmy worker: b\n').where).toBe('/app/Procfile:2');
    expect(parseError('web.1: a\n').where).toBe('/app/Procfile:1');
  });

  it('rejects an empty command', () => {
    const error = parseError('web:   \n');
    expect(error.where).toBe('/app/Procfile:1');
    expect(error.message).toBe('process type "web" has an empty command');
  });

  it('rejects a duplicate process type, pointing at the second one', () => {
    const error = parseError('web: a\nworker: b\nweb: c\n');
    expect(error.where).toBe('/app/Procfile:3');
    expect(error.message).toBe('duplicate process type "web" (first defined on line 1)');
  });

  it('names the Procfile relatively by default', () => {
    expect(() => parseProcfile('oops')).toThrow(expect.objectContaining({ where: 'Procfile:1' }));
  });
});

describe('Procfile in detect', () => {
  it('reports a malformed line as Procfile:<line> of the app', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { start: 'node server.js' } }),
      Procfile: 'web: node server.js\n# worker\nworker node worker.js\n',
    });
    const error = await paasError(detect(dir));
    expect(error.kind).toBe('config');
    expect(error.where).toBe(`${dir}/Procfile:3`);
    expect(error.format()).toContain('Procfile:3');
  });

  it('keeps the stack web command when the Procfile only adds other types', async () => {
    const dir = await makeTree({
      'package.json': json({ scripts: { start: 'node server.js' } }),
      Procfile: 'worker: node worker.js\nrelease: node migrate.js\n',
    });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ web: 'node server.js', worker: 'node worker.js', release: 'node migrate.js' });
    expect(plan.processSource).toBe('Procfile, web from package.json scripts.start');
    expect(plan.reasons).toContain('Procfile: process types worker, release');
  });

  it('runs a worker-only app (no web type, no start command) with its Procfile types and no web', async () => {
    const dir = await makeTree({ 'package.json': json({ name: 'jobs' }), Procfile: 'worker: node worker.js\nrelease: node migrate.js\n' });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ worker: 'node worker.js', release: 'node migrate.js' });
    expect(plan.processSource).toBe('Procfile');
    expect(plan.reasons.slice(-2)).toEqual([
      'Procfile: process types worker, release',
      'Procfile has no web type and the node app has no start command: no web process, nothing is routed (web=0)',
    ]);
  });

  it('still fails when the Procfile only has release: and there is no start command', async () => {
    const dir = await makeTree({ 'package.json': json({ name: 'jobs' }), Procfile: 'release: node migrate.js\n' });
    expect(await paasError(detect(dir))).toMatchObject({ kind: 'detect', message: 'the node app has no start command' });
  });

  it('ignores a Procfile with no process types, with a warning', async () => {
    const dir = await makeTree({ 'index.html': '<h1>hi</h1>', Procfile: '# nothing yet\n' });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ web: "nginx -g 'daemon off;'" });
    expect(plan.warnings).toEqual(['Procfile defines no process types: ignored']);
  });
});
