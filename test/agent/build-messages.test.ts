import { describe, expect, it } from 'vitest';
import { NEEDS_BUILDKIT } from '../../src/agent/build.js';

describe('a Dockerfile only BuildKit builds', () => {
  it('is told from what the classic builder says, and only from that', () => {
    expect(NEEDS_BUILDKIT.test('the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled')).toBe(true);
    expect(NEEDS_BUILDKIT.test('the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/')).toBe(true);
    expect(NEEDS_BUILDKIT.test('Error response from daemon: dockerfile parse error line 4: unknown flag: mount')).toBe(true);
    expect(NEEDS_BUILDKIT.test('The command \'/bin/sh -c npm ci\' returned a non-zero code: 1')).toBe(false);
    expect(NEEDS_BUILDKIT.test('no space left on device')).toBe(false);
  });
});
