import { describe, expect, it } from 'vitest';
import { processArgv } from '../../src/release/command.js';

describe('processArgv', () => {
  describe('plain words run directly, so the app is PID 1', () => {
    it.each([
      ['node server.js', ['node', 'server.js']],
      ['bundle exec puma -C config/puma.rb', ['bundle', 'exec', 'puma', '-C', 'config/puma.rb']],
      ['gunicorn app:app --workers=2 --log-level=info', ['gunicorn', 'app:app', '--workers=2', '--log-level=info']],
      ['./bin/server', ['./bin/server']],
      ['  node   server.js  ', ['node', 'server.js']],
      ['node\tserver.js', ['node', 'server.js']],
      ['send user@example.com 50% a+b', ['send', 'user@example.com', '50%', 'a+b']],
    ])('%j -> %j', (command, argv) => {
      expect(processArgv(command)).toEqual(argv);
    });
  });

  describe('one simple command that needs the shell runs as sh -c "exec ..."', () => {
    it.each([
      ['node server.js --port $PORT', ['/bin/sh', '-c', 'exec node server.js --port $PORT']],
      ['gunicorn app:app --bind 0.0.0.0:$PORT', ['/bin/sh', '-c', 'exec gunicorn app:app --bind 0.0.0.0:$PORT']],
      ['node server.js --port ${PORT:-8080}', ['/bin/sh', '-c', 'exec node server.js --port ${PORT:-8080}']],
      ["nginx -g 'daemon off;'", ['/bin/sh', '-c', "exec nginx -g 'daemon off;'"]],
      ['echo "a;b && c | d"', ['/bin/sh', '-c', 'exec echo "a;b && c | d"']],
      ['echo "a\\"; b"', ['/bin/sh', '-c', 'exec echo "a\\"; b"']],
      ["echo '$(not run)' '`nor this`'", ['/bin/sh', '-c', "exec echo '$(not run)' '`nor this`'"]],
      ['  node  server.js   --port $PORT ', ['/bin/sh', '-c', 'exec node  server.js   --port $PORT']],
      ['server > log.txt', ['/bin/sh', '-c', 'exec server > log.txt']],
    ])('%j -> %j', (command, argv) => {
      expect(processArgv(command)).toEqual(argv);
    });
  });

  describe('compound commands stay under sh -c exactly as written', () => {
    it.each([
      ['npm run migrate && npm start', ['/bin/sh', '-c', 'npm run migrate && npm start']],
      ['migrate && exec server --port $PORT', ['/bin/sh', '-c', 'migrate && exec server --port $PORT']],
      ['cat access.log | grep GET', ['/bin/sh', '-c', 'cat access.log | grep GET']],
      ['migrate; server', ['/bin/sh', '-c', 'migrate; server']],
      ['server || true', ['/bin/sh', '-c', 'server || true']],
      ['server &', ['/bin/sh', '-c', 'server &']],
      ['echo `date`', ['/bin/sh', '-c', 'echo `date`']],
      ['echo $(date)', ['/bin/sh', '-c', 'echo $(date)']],
      ['(cd app && ./server)', ['/bin/sh', '-c', '(cd app && ./server)']],
      ["nginx -g 'daemon off;' && echo done", ['/bin/sh', '-c', "nginx -g 'daemon off;' && echo done"]],
      ['  migrate && server  ', ['/bin/sh', '-c', 'migrate && server']],
      ['migrate\nserver --port $PORT', ['/bin/sh', '-c', 'migrate\nserver --port $PORT']],
    ])('%j -> %j', (command, argv) => {
      expect(processArgv(command)).toEqual(argv);
    });
  });

  describe('a command that starts with exec is not exec-ed twice', () => {
    it.each([
      ['exec node server.js --port $PORT', ['/bin/sh', '-c', 'exec node server.js --port $PORT']],
      ["exec nginx -g 'daemon off;'", ['/bin/sh', '-c', "exec nginx -g 'daemon off;'"]],
    ])('%j -> %j', (command, argv) => {
      expect(processArgv(command)).toEqual(argv);
    });

    it('a word that merely starts with "exec" gets its exec', () => {
      expect(processArgv('executor --port $PORT')).toEqual(['/bin/sh', '-c', 'exec executor --port $PORT']);
    });
  });

  // Two commands on two lines (a YAML block scalar in paas.yml `command:`) are two commands.
  it('two plain commands on two lines run both, under sh -c', () => {
    expect(processArgv('migrate\nserver')).toEqual(['/bin/sh', '-c', 'migrate\nserver']);
  });

  // `exec` is a shell builtin, not a program: plain words after it run directly.
  it('exec followed by plain words runs the words', () => {
    expect(processArgv('exec node server.js')).toEqual(['node', 'server.js']);
  });

  // A Procfile-style env assignment prefix needs the shell.
  it('a leading VAR=value assignment goes through the shell', () => {
    expect(processArgv('NODE_ENV=production node server.js')).toEqual(['/bin/sh', '-c', 'exec NODE_ENV=production node server.js']);
  });

  it('refuses an empty command', () => {
    expect(() => processArgv('  ')).toThrow('empty process command');
  });

  it('keeps = inside arguments as plain words', () => {
    expect(processArgv('node server.js --env=production')).toEqual(['node', 'server.js', '--env=production']);
  });
});
