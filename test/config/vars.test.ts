import { describe, expect, it } from 'vitest';
import { maskValue, parseAssignments, parseKeys, renderVars } from '../../src/config/vars.js';
import { PaasError } from '../../src/errors.js';

function usageError(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PaasError) {
      expect(error.kind).toBe('usage');
      return error;
    }
    throw error;
  }
  throw new Error('expected a PaasError');
}

const BIG = 'x'.repeat(10 * 1024);

describe('parseAssignments', () => {
  it.each([
    ['a b', 'a b'],
    [`"'$(rm -rf /)`, `"'$(rm -rf /)`],
    ['x=y=z', 'x=y=z'],
    ['line1\nline2', 'line1\nline2'],
    ['héllo ✓ 日本', 'héllo ✓ 日本'],
    ['', ''],
    ['  padded  ', '  padded  '],
    ['=', '='],
  ])('keeps the value %j byte-exact', (value, expected) => {
    expect(parseAssignments([`KEY=${value}`])).toEqual({ KEY: expected });
  });

  it('keeps a 10 KB value', () => {
    const vars = parseAssignments([`BIG=${BIG}`]);
    expect(vars.BIG).toBe(BIG);
    expect(vars.BIG).toHaveLength(10240);
  });

  it('parses several assignments', () => {
    expect(parseAssignments(['A=1', 'b_2=two', '_X='])).toEqual({ A: '1', b_2: 'two', _X: '' });
  });

  it('keeps __proto__ as an ordinary key', () => {
    const vars = parseAssignments(['__proto__=x']);
    expect(Object.keys(vars)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(vars, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
  });

  it('accepts keys named like Object.prototype members', () => {
    expect(parseAssignments(['constructor=a', 'toString=b', 'hasOwnProperty=c'])).toEqual({ constructor: 'a', toString: 'b', hasOwnProperty: 'c' });
  });

  it('refuses an argument without "=" and says how to quote', () => {
    const error = usageError(() => parseAssignments(['GREETING=hello', 'world']));
    expect(error.message).toBe('"world" is not a KEY=VALUE assignment');
    expect(error.hint).toBe("write KEY=VALUE; quote the whole pair in your shell: 'GREETING=hello world'");
    expect(error.exitCode).toBe(2);
  });

  it.each([
    ['=value', '"" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "=value"'],
    ['1X=a', '"1X" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "1X=a"'],
    ['MY-VAR=a', '"MY-VAR" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "MY-VAR=a"'],
    ['A B=c', '"A B" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "A B=c"'],
    ['A\nB=c', '"A\\nB" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "A\\nB=c"'],
  ])('refuses the invalid key in %j', (arg, message) => {
    const error = usageError(() => parseAssignments([arg]));
    expect(error.message).toBe(message);
    expect(error.hint).toBe("write KEY=VALUE; quote the whole pair in your shell: 'GREETING=hello world'");
  });

  it('shortens a long hostile argument in the message', () => {
    const error = usageError(() => parseAssignments([`1=${BIG}`]));
    expect(error.message).toBe(`"1" is not a valid variable name (letters, digits and underscores, not starting with a digit) in "1=${'x'.repeat(57)}…"`);
  });

  it('refuses a key given twice', () => {
    const error = usageError(() => parseAssignments(['A=1', 'B=2', 'A=1']));
    expect(error.message).toBe('A is given more than once');
    expect(error.hint).toBe('give A once, with the value you want');
  });

  it('refuses PORT and says where the port comes from', () => {
    const error = usageError(() => parseAssignments(['PORT=8080']));
    expect(error.message).toBe("cannot set PORT: PORT is set by paas from the app's port");
    expect(error.hint).toBe('set the port in paas.yml (port: 3000); the app reads it from $PORT');
  });

  it('accepts lowercase port (environment names are case-sensitive)', () => {
    expect(parseAssignments(['port=1'])).toEqual({ port: '1' });
  });

  it('refuses a value with a NUL byte', () => {
    const error = usageError(() => parseAssignments(['TOKEN=ab\0cd']));
    expect(error.message).toBe('the value of TOKEN contains a NUL byte, which an environment variable cannot hold');
    expect(error.hint).toBe('remove the NUL byte (or store the value base64-encoded and decode it in the app)');
  });

  it('refuses an empty argument list', () => {
    const error = usageError(() => parseAssignments([]));
    expect(error.message).toBe('no config vars given');
    expect(error.hint).toBe('paas config:set KEY=VALUE [KEY=VALUE ...]');
  });
});

describe('parseKeys', () => {
  it('keeps the order and drops duplicates', () => {
    expect(parseKeys(['B', 'A', 'B', '_c', 'A'])).toEqual(['B', 'A', '_c']);
  });

  it('refuses an invalid name', () => {
    const error = usageError(() => parseKeys(['GOOD', '$(id)']));
    expect(error.message).toBe('"$(id)" is not a valid variable name (letters, digits and underscores, not starting with a digit)');
    expect(error.hint).toBe('give variable names such as DATABASE_URL');
  });

  it('suggests the bare name for KEY=VALUE', () => {
    const error = usageError(() => parseKeys(['TOKEN=abc']));
    expect(error.message).toBe('"TOKEN=abc" is not a valid variable name (letters, digits and underscores, not starting with a digit)');
    expect(error.hint).toBe('give only the name: TOKEN');
    expect(usageError(() => parseKeys(['=abc'])).hint).toBe('give variable names such as DATABASE_URL');
  });

  it('refuses an empty list', () => {
    const error = usageError(() => parseKeys([]));
    expect(error.message).toBe('no config var names given');
    expect(error.hint).toBe('name at least one KEY');
  });
});

describe('maskValue', () => {
  it.each(['', 'a', 'secret', 'exactly11ch'])('hides %j completely, in 8 bullets', (value) => {
    expect(maskValue(value)).toBe('••••••••');
  });

  it.each([
    ['exactly12chr', 'ex••••••'],
    ['sk_live_0123456789abcdef', 'sk••••••'],
    [BIG, 'xx••••••'],
    ['日本語のパスワードです長い', '日本••••••'],
    ['😀😀abcdefghijk', '😀😀••••••'],
  ])('shows only the first 2 characters of %j', (value, expected) => {
    expect(maskValue(value)).toBe(expected);
  });

  it('never shows control characters', () => {
    expect(maskValue('\nabcdefghijklmnop')).toBe('••••••••');
    expect(maskValue('a\u001b[31mredredred')).toBe('••••••••');
  });

  it('does not reveal the length', () => {
    expect(maskValue('a'.repeat(12))).toHaveLength(8);
    expect(maskValue('a'.repeat(1000))).toHaveLength(8);
  });
});

describe('renderVars', () => {
  const vars = {
    SPACES: 'a b',
    SHELL: `"'$(rm -rf /)`,
    EQ: 'x=y=z',
    MULTI: 'line1\nline2',
    UNI: 'héllo ✓ 日本',
    EMPTY: '',
    DATABASE_URL: 'postgres://u:p@db/shop',
  };

  it('masks values, sorted by key and aligned', () => {
    expect(renderVars(vars, { reveal: false })).toEqual([
      'DATABASE_URL: po••••••',
      'EMPTY:        ••••••••',
      'EQ:           ••••••••',
      'MULTI:        ••••••••',
      'SHELL:        "\'••••••',
      'SPACES:       ••••••••',
      'UNI:          ••••••••',
    ]);
  });

  it('reveals values raw, escaping only ambiguous ones', () => {
    expect(renderVars(vars, { reveal: true })).toEqual([
      'DATABASE_URL: postgres://u:p@db/shop',
      'EMPTY:        ""',
      'EQ:           x=y=z',
      'MULTI:        "line1\\nline2"',
      'SHELL:        "\\"\'$(rm -rf /)"',
      'SPACES:       a b',
      'UNI:          héllo ✓ 日本',
    ]);
  });

  it('escapes terminal escapes, C1 controls, line separators and surrounding spaces', () => {
    expect(renderVars({ A: '\u001b[2J', B: 'x\u009by', C: 'p\u2028q', D: ' pad', E: 'tab\t' }, { reveal: true })).toEqual([
      'A: "\\u001b[2J"',
      'B: "x\\u009by"',
      'C: "p\\u2028q"',
      'D: " pad"',
      'E: "tab\\t"',
    ]);
  });

  it('reveals a 10 KB value whole', () => {
    expect(renderVars({ BIG }, { reveal: true })).toEqual([`BIG: ${BIG}`]);
  });

  it('renders no vars as no lines', () => {
    expect(renderVars({}, { reveal: true })).toEqual([]);
  });
});
