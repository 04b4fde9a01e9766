import { describe, expect, it } from 'vitest';
import { nearestMajor, nearestMinor } from '../../src/detect/versions.js';

describe('nearestMinor', () => {
  it.each([
    ['3.11', ['3.11'], '3.11'],
    ['3.6', ['3.11'], '3.11'],
    ['3.13', ['3.11', '3.12'], '3.12'],
    ['3.12', ['3.11', '3.13'], '3.13'],
    ['2.7', ['3.11'], undefined],
    ['1.6', ['1.19'], '1.19'],
  ] as const)('%s of %j -> %s', (requested, supported, expected) => {
    expect(nearestMinor(requested, supported)).toBe(expected);
  });
});

describe('nearestMajor', () => {
  it.each([
    [[20], [20, 22, 24], 20],
    [[14, 15, 16, 17, 18], [20, 22, 24], 20],
    [[25, 26], [20, 22, 24], 24],
    [[21], [20, 22, 24], 22],
    [[], [20, 22, 24], undefined],
  ])('%j of %j -> %s', (allowed, supported, expected) => {
    expect(nearestMajor(allowed, supported)).toBe(expected);
  });
});
