import { describe, expect, it } from 'vitest';
import { snapshotsToPrune } from '../../src/agent/config-store.js';
import { readChange } from '../../src/agent/config-vars.js';
import { parseVerbArgs } from '../../src/agent/protocol.js';
import { PaasError } from '../../src/errors.js';
import type { AppState, Release } from '../../src/release/types.js';

const release = (version: number) => ({ version }) as Release;

describe('snapshotsToPrune', () => {
  it('keeps the snapshots of the newest keep releases only', () => {
    const state: AppState = { app: 'shop', current: 7, releases: [1, 2, 3, 4, 5, 6, 7].map(release) };
    expect(snapshotsToPrune(state, 3, [7, 1, 5, 6, 4, 9])).toEqual([1, 4, 9]);
    expect(snapshotsToPrune(state, 10, [1, 7])).toEqual([]);
  });
});

describe('readChange (the agent re-checks what the CLI sends)', () => {
  it('keeps values byte-exact', () => {
    expect(readChange(JSON.stringify({ set: { A: 'x=y\n"\'$(z)', B: '' }, unset: ['C'] }))).toEqual({ set: { A: 'x=y\n"\'$(z)', B: '' }, unset: ['C'] });
  });
  it.each([
    ['not json', 'the config change on stdin is not JSON'],
    [JSON.stringify({ set: { A: 1 }, unset: [] }), 'is not {set'],
    [JSON.stringify({ set: {}, unset: [] }), 'the config change is empty'],
    [JSON.stringify({ set: { 'A B': 'x' }, unset: [] }), 'is not a valid variable name'],
    [JSON.stringify({ set: { PORT: '1' }, unset: [] }), 'cannot set PORT'],
    [JSON.stringify({ set: { A: 'a\0b' }, unset: [] }), 'NUL byte'],
    [JSON.stringify({ set: {}, unset: ['$(x)'] }), 'is not a valid variable name'],
  ])('refuses %s', (text, message) => {
    expect(() => readChange(text)).toThrow(PaasError);
    expect(() => readChange(text)).toThrow(message);
  });
});

describe('the run verb\'s arguments', () => {
  it('everything after the first -- is the command, flags included', () => {
    expect(parseVerbArgs('run', ['--app', 'shop', '--tty', '--', 'ls', '--', '--app'])).toEqual({ args: { app: 'shop', tty: true }, positionals: ['ls', '--', '--app'] });
    expect(parseVerbArgs('run', ['--app', 'shop'])).toEqual({ args: { app: 'shop', tty: false }, positionals: [] });
  });
});
