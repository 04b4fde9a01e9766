import { describe, expect, it } from 'vitest';
import { closestMatch, levenshtein } from '../../src/config/levenshtein.js';
import {
  checkAppName,
  checkHostname,
  checkProcessType,
  checkVariableName,
  parseDuration,
  parseHostUrl,
  parseMemory,
} from '../../src/config/index.js';

describe('checkAppName', () => {
  it.each(['a', 'shop', 'my-shop-2', 'a'.repeat(63)])('accepts %j', (name) => {
    expect(checkAppName(name)).toBeUndefined();
  });

  it.each(['', 'Shop', '2shop', '-shop', 'shop-', 'my_shop', 'my.shop', 'a'.repeat(64), 'shop\n'])('rejects %j', (name) => {
    expect(checkAppName(name)).toMatch(/is not a valid app name \(lowercase letters, digits and dashes, starting with a letter, at most 63 characters\)$/);
  });

  it('quotes the name so that hostile characters stay visible', () => {
    expect(checkAppName('a\nb')).toBe(
      '"a\\nb" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)',
    );
  });
});

describe('checkHostname', () => {
  it.each(['shop.example.com', 'example.com', '*.example.com', 'xn--bcher-kva.example', 'a-b.c-d.io', `${'a'.repeat(63)}.com`])(
    'accepts %j',
    (name) => {
      expect(checkHostname(name)).toBeUndefined();
    },
  );

  const long = `${'a'.repeat(60)}.`.repeat(5) + 'com';
  it.each([
    ['', '"" is not a valid hostname: it is empty'],
    ['localhost', '"localhost" is not a valid hostname: expected a domain such as shop.example.com'],
    ['Shop.Example.com', '"Shop.Example.com" is not a valid hostname: use lowercase ("shop.example.com")'],
    ['shop .example.com', '"shop .example.com" is not a valid hostname: a space is not allowed (only letters, digits, dashes and dots)'],
    ['shop.example.com;', '"shop.example.com;" is not a valid hostname: ";" is not allowed (only letters, digits, dashes and dots)'],
    ['shop.example.com{', '"shop.example.com{" is not a valid hostname: "{" is not allowed (only letters, digits, dashes and dots)'],
    ['shop.example.com}', '"shop.example.com}" is not a valid hostname: "}" is not allowed (only letters, digits, dashes and dots)'],
    ['shop.example.com\nevil', '"shop.example.com\\nevil" is not a valid hostname: a line break is not allowed (only letters, digits, dashes and dots)'],
    ['$host.example.com', '"$host.example.com" is not a valid hostname: "$" is not allowed (only letters, digits, dashes and dots)'],
    ['"shop".example.com', '"\\"shop\\".example.com" is not a valid hostname: "\\"" is not allowed (only letters, digits, dashes and dots)'],
    ["'shop'.example.com", '"\'shop\'.example.com" is not a valid hostname: "\'" is not allowed (only letters, digits, dashes and dots)'],
    ['example.com/path', '"example.com/path" is not a valid hostname: "/" is not allowed (only letters, digits, dashes and dots)'],
    ['example.com:443', '"example.com:443" is not a valid hostname: ":" is not allowed (only letters, digits, dashes and dots)'],
    ['a.*.example.com', '"a.*.example.com" is not a valid hostname: a "*" other than a leading "*." is not allowed (only letters, digits, dashes and dots)'],
    ['example.com.', '"example.com." is not a valid hostname: remove the trailing dot'],
    ['shop..example.com', '"shop..example.com" is not a valid hostname: it has an empty label (two dots in a row or a leading dot)'],
    ['-shop.example.com', '"-shop.example.com" is not a valid hostname: the label "-shop" starts or ends with a dash'],
    ['shop-.example.com', '"shop-.example.com" is not a valid hostname: the label "shop-" starts or ends with a dash'],
    [`${'a'.repeat(64)}.com`, `"${'a'.repeat(59)}…" is not a valid hostname: the label "aaaaaaaaaaaaaaaaaaa…" is longer than 63 characters`],
    [long, `"${long.slice(0, 59)}…" is not a valid hostname: it is 308 characters long, at most 253 are allowed`],
    ['203.0.113.10', '"203.0.113.10" is not a valid hostname: the last label cannot be all digits'],
  ])('rejects %j', (name, message) => {
    expect(checkHostname(name)).toBe(message);
  });
});

describe('checkProcessType and checkVariableName', () => {
  it('accepts the usual names and rejects the rest', () => {
    expect(['web', 'worker_2', 'clock-x', 'a'.repeat(30)].map(checkProcessType)).toEqual([undefined, undefined, undefined, undefined]);
    expect(checkProcessType('Web')).toBe(
      '"Web" is not a valid process type (lowercase letters, digits, dashes and underscores, starting with a letter, at most 30 characters)',
    );
    expect(checkProcessType('a'.repeat(31))).toMatch(/is not a valid process type/);
    expect(['PATH', '_x', 'log_level2'].map(checkVariableName)).toEqual([undefined, undefined, undefined]);
    expect(checkVariableName('2FA')).toBe('"2FA" is not a valid variable name (letters, digits and underscores, not starting with a digit)');
    expect(checkVariableName('MY-VAR')).toMatch(/is not a valid variable name/);
  });
});

describe('parseDuration', () => {
  it.each<[string | number, number | undefined]>([
    ['5s', 5000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['0s', 0],
    ['10', 10_000],
    [3, 3000],
    [0.25, 250],
    ['5 parsecs', undefined],
    ['5 s', undefined],
    ['-5s', undefined],
    ['5d', undefined],
    ['s', undefined],
    ['', undefined],
    ['1.2.3s', undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
  ])('%j → %j', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });
});

describe('parseMemory', () => {
  it.each<[string | number, number | undefined]>([
    ['512m', 512 * 1024 ** 2],
    ['256M', 256 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['1024k', 1024 ** 2],
    ['512mb', 512 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['100', 100],
    ['100b', 100],
    [1048576, 1048576],
    ['lots', undefined],
    ['512 m', undefined],
    ['-1g', undefined],
    ['1x', undefined],
    ['', undefined],
    [-5, undefined],
  ])('%j → %j', (input, expected) => {
    expect(parseMemory(input)).toBe(expected);
  });
});

describe('parseHostUrl', () => {
  it.each([
    ['ssh://deploy@203.0.113.10:2222', { user: 'deploy', host: '203.0.113.10', port: 2222 }],
    ['ssh://deploy@203.0.113.10', { user: 'deploy', host: '203.0.113.10' }],
    ['ssh://web1.example.com', { host: 'web1.example.com' }],
    ['ssh://localhost:22', { host: 'localhost', port: 22 }],
    ['ssh://[::1]:2222', { host: '::1', port: 2222 }],
    ['ssh://root@[2001:db8::1]', { user: 'root', host: '2001:db8::1' }],
    ['deploy@web1.example.com', { user: 'deploy', host: 'web1.example.com' }],
    ['web1', { host: 'web1' }],
    ['10.0.0.5', { host: '10.0.0.5' }],
    ['_ci.bot-1@10.0.0.5', { user: '_ci.bot-1', host: '10.0.0.5' }],
  ])('%j → %j', (input, expected) => {
    expect(parseHostUrl(input)).toEqual(expected);
  });

  it.each([
    '',
    'ftp://x',
    'http://example.com',
    'ssh://',
    'ssh://host:0',
    'ssh://host:65536',
    'ssh://host:22x',
    'ssh://host/path',
    'ssh://user:secret@host',
    'ssh://@host',
    'ssh://[not-ipv6]:22',
    'ssh://::1',
    'host:22',
    '[::1]:2222',
    'deploy@host:22',
    '9user@host',
    'de ploy@host',
    'host name',
    'host;rm -rf',
    'Host.example.com',
    '999.1.1.1',
    '-host',
    'a@b@c',
  ])('rejects %j', (input) => {
    expect(parseHostUrl(input)).toBeUndefined();
  });
});

describe('levenshtein', () => {
  it('counts edits and finds the closest candidate within 2', () => {
    expect(levenshtein('helthcheck', 'healthcheck')).toBe(1);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(closestMatch('domain', ['hosts', 'domains'])).toBe('domains');
    expect(closestMatch('colour', ['app', 'port'])).toBeUndefined();
  });
});
