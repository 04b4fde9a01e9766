import { describe, expect, it } from 'vitest';
import { standbyOwner } from '../../src/agent/standby.js';

describe('standby --owner', () => {
  it('takes no arguments (root\'s socket) or --owner UID (a sudo user\'s); refuses anything else', () => {
    expect(standbyOwner([])).toBeUndefined();
    expect(standbyOwner(['--owner', '1000'])).toBe(1000);
    for (const bad of [['--owner'], ['--owner', '0'], ['--owner', '-1'], ['--owner', '1e3'], ['--owner', '99999999999'], ['--owner', '1000', '--x'], ['--user', '1000'], ['--owner', ' 1000']]) {
      expect(() => standbyOwner(bad), JSON.stringify(bad)).toThrow(/standby: expected no arguments or --owner UID/);
    }
  });
});
