import { describe, expect, it } from 'vitest';
import { quote } from '../../src/config/validators.js';
import { ALLOWED, NO_SHELL, parseGitCommand } from '../../src/git/forced-command.js';

const allowed = 'this key may only git push / git fetch apps: git push paas@host:<app> main';
const notAnApp = (path: string) =>
  `paas: ${quote(path)} is not an app (app names are lowercase letters, digits and dashes, starting with a letter); ${allowed}`;
const refusedCommand = (command: string) => `paas: refused ${JSON.stringify(command)}; ${allowed}`;

describe('parseGitCommand', () => {
  it('accepts git push and fetch of one app, in every path form git sends', () => {
    const cases: [string, { service: string; app: string }][] = [
      ["git-receive-pack 'shop'", { service: 'git-receive-pack', app: 'shop' }],
      ["git-receive-pack '/shop'", { service: 'git-receive-pack', app: 'shop' }],
      ["git-receive-pack 'shop.git'", { service: 'git-receive-pack', app: 'shop' }],
      ["git-receive-pack '/app.git'", { service: 'git-receive-pack', app: 'app' }],
      ["git receive-pack 'app'", { service: 'git-receive-pack', app: 'app' }],
      ["git-upload-pack 'my-app2'", { service: 'git-upload-pack', app: 'my-app2' }],
      ["git-upload-pack '/a.git'", { service: 'git-upload-pack', app: 'a' }],
      ["git upload-pack '/shop'", { service: 'git-upload-pack', app: 'shop' }],
      [`git-upload-pack '${'a'.repeat(63)}'`, { service: 'git-upload-pack', app: 'a'.repeat(63) }],
    ];
    for (const [command, expected] of cases) expect(parseGitCommand(command), command).toEqual(expected);
  });

  it('refuses a shell: no command at all', () => {
    expect(NO_SHELL).toBe('paas: no shell here. Push with: git push paas main');
    expect(ALLOWED).toBe(allowed);
    expect(parseGitCommand(undefined)).toEqual({ refused: 'paas: no shell here. Push with: git push paas main' });
    expect(parseGitCommand('')).toEqual({ refused: 'paas: no shell here. Push with: git push paas main' });
    expect(parseGitCommand('   ')).toEqual({ refused: 'paas: no shell here. Push with: git push paas main' });
  });

  it('refuses other commands, missing or extra arguments, and shell metacharacters', () => {
    const cases = [
      'bash',
      'git-receive-pack',
      "git-receive-pack 'app'; rm -rf /",
      "git-receive-pack 'app' 'x'",
      "git-upload-archive 'app'",
      'scp -t /',
      'git-receive-pack app',
      'git-receive-pack "app"',
      "git-receive-pack  'app'",
      " git-receive-pack 'app'",
      "git-receive-pack 'app' ",
      "git-receive-pack 'app'&& sh",
      "git-receive-pack 'app'$(id)",
      "git-receive-pack 'a'\\''b'",
      "GIT-RECEIVE-PACK 'app'",
      "git  receive-pack 'app'",
      "git-receive-pack --help 'app'",
      "sh -c \"git-receive-pack 'app'\"",
    ];
    for (const command of cases) expect(parseGitCommand(command), command).toEqual({ refused: refusedCommand(command) });
  });

  it('refuses paths that are not an app name', () => {
    const cases: [string, string][] = [
      ["git-receive-pack '../x'", '../x'],
      ["git-receive-pack '/etc/passwd'", '/etc/passwd'],
      ["git-receive-pack 'a/b'", 'a/b'],
      ["git-receive-pack 'App'", 'App'],
      ["git-receive-pack '-x'", '-x'],
      ["git-receive-pack ''", ''],
      ["git-receive-pack '/'", '/'],
      ["git-receive-pack '.git'", '.git'],
      ["git-receive-pack '//app'", '//app'],
      ["git-receive-pack 'app.git.git'", 'app.git.git'],
      ["git-receive-pack '~/app'", '~/app'],
      ["git-receive-pack '/home/paas/app'", '/home/paas/app'],
      ["git-upload-pack 'app-'", 'app-'],
      ["git-upload-pack 'app $(id)'", 'app $(id)'],
      ["git-upload-pack '*'", '*'],
      [`git-upload-pack '${'a'.repeat(64)}'`, 'a'.repeat(64)],
    ];
    for (const [command, path] of cases) expect(parseGitCommand(command), command).toEqual({ refused: notAnApp(path) });
    expect(parseGitCommand("git-receive-pack '../x'")).toEqual({
      refused: 'paas: "../x" is not an app (app names are lowercase letters, digits and dashes, starting with a letter); this key may only git push / git fetch apps: git push paas@host:<app> main',
    });
  });

  it('refuses control characters (a newline inside included) and very long commands without echoing them', () => {
    const message = `paas: refused a command with control characters or too long; ${allowed}`;
    for (const command of ["git-receive-pack 'app'\nrm -rf /", "git-receive-pack\t'app'", "git-receive-pack 'ap\np'", "git-receive-pack 'app'\r", "git-receive-pack 'a\0'", "git-receive-pack 'app\x1b[2J'", `git-receive-pack '${'a'.repeat(600)}'`]) {
      expect(parseGitCommand(command), JSON.stringify(command)).toEqual({ refused: message });
    }
  });
});
