import { describe, expect, it } from 'vitest';
import { sha256sumOf } from '../../src/host/agent.js';

const FILE = '/var/lib/paas/agent/agent-0123456789abcdef.mjs';
const SUM = `0123456789abcdef${'a'.repeat(48)}`;

describe('the agent on a host', () => {
  it('reads the sha256 of the file from sha256sum, whatever else was printed', () => {
    expect(sha256sumOf(`${SUM}  ${FILE}\n`, FILE)).toBe(SUM);
    expect(sha256sumOf(`${SUM} *${FILE}\r\n`, FILE)).toBe(SUM);
    expect(sha256sumOf(`Welcome!\nsudo: unable to resolve host web1\n${SUM}  ${FILE}\n`, FILE)).toBe(SUM);
  });

  it('has no sha256 for a missing file or another file', () => {
    expect(sha256sumOf('', FILE)).toBeUndefined();
    expect(sha256sumOf(`${SUM}  ${FILE}.tmp\n`, FILE)).toBeUndefined();
    expect(sha256sumOf(`${SUM.slice(0, 63)}  ${FILE}\n`, FILE)).toBeUndefined();
    expect(sha256sumOf(`${SUM.toUpperCase()}  ${FILE}\n`, FILE)).toBeUndefined();
  });
});
