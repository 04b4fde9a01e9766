import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { quoteArg, shellCommand } from '../../src/util/shell.js';

const hostile = [
  '', ' ', "'", "''", '"', '$HOME', '${IFS}', '$(id)', '`id`', 'a;b', 'a&&b', 'a|b', 'a > /tmp/x', '\\', '\\\'',
  'line1\nline2', '\t', '*', '?', '[a]', '~', '#comment', '!', '-n', '--', 'üñí©ødé ✓', "it's \"mixed\" $(and) `more`", '%s\\0',
];

describe('shell quoting', () => {
  it('leaves plain words alone', () => {
    expect(shellCommand(['docker', 'ps', '--format', '{{.ID}}'])).toBe("docker ps --format '{{.ID}}'");
    expect(quoteArg('/var/lib/paas/apps/shop')).toBe('/var/lib/paas/apps/shop');
  });

  it('a real POSIX shell gives back exactly the arguments, for hostile input', async () => {
    const command = shellCommand(['printf', '%s\\0', ...hostile]);
    const { stdout } = await execa('sh', ['-c', command], { stripFinalNewline: false });
    expect(stdout.split('\0').slice(0, -1)).toEqual(hostile);
  });

  it('refuses NUL, which no argument can carry', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => shellCommand([])).toThrow(/empty/);
  });
});
