import { describe, expect, it } from 'vitest';
import { applyChange, changeDescription, isConfigChange, releaseEnv } from '../../src/config/changes.js';

describe('applyChange', () => {
  it('sets, replaces and unsets; lists only what changed, sorted; keeps values byte-exact', () => {
    const result = applyChange({ A: '1', B: '2', C: '3' }, { set: { B: '2', D: 'x=y\n"$(z)"', A: 'new' }, unset: ['C', 'MISSING'] });
    expect(result).toEqual({ vars: { A: 'new', B: '2', D: 'x=y\n"$(z)"' }, changed: ['A', 'C', 'D'] });
  });
  it('an empty value is a value', () => {
    expect(applyChange({}, { set: { E: '' }, unset: [] })).toEqual({ vars: { E: '' }, changed: ['E'] });
    expect(applyChange({ E: '' }, { set: { E: '' }, unset: [] })).toEqual({ vars: { E: '' }, changed: [] });
  });
  it('__proto__ stays an ordinary key', () => {
    const { vars } = applyChange({}, { set: { __proto__x: 'a', constructor: 'b' } as Record<string, string>, unset: [] });
    expect(Object.keys(vars)).toEqual(['__proto__x', 'constructor']);
    const proto = applyChange({}, { set: JSON.parse('{"__proto__":"p"}') as Record<string, string>, unset: [] });
    expect(Object.hasOwn(proto.vars, '__proto__')).toBe(true);
    expect(proto.vars.__proto__).toBe('p');
  });
});

describe('changeDescription', () => {
  it('words it as Heroku does', () => {
    expect(changeDescription({ set: { A: 'secret' }, unset: [] })).toBe('Set A config var');
    expect(changeDescription({ set: { A: '', B: '' }, unset: ['C'] })).toBe('Set A, B config vars; Unset C config var');
    expect(changeDescription({ set: {}, unset: ['C', 'D'] })).toBe('Unset C, D config vars');
  });
});

describe('isConfigChange', () => {
  it('accepts only {set: {string: string}, unset: string[]}', () => {
    expect(isConfigChange({ set: { A: 'b' }, unset: ['C'] })).toBe(true);
    expect(isConfigChange({ set: { A: 1 }, unset: [] })).toBe(false);
    expect(isConfigChange({ set: [], unset: [] })).toBe(false);
    expect(isConfigChange({ set: {}, unset: [3] })).toBe(false);
    expect(isConfigChange(null)).toBe(false);
  });
});

describe('releaseEnv', () => {
  it('config vars override paas.yml env of the same name', () => {
    expect(releaseEnv({ NODE_ENV: 'production', LOG: 'info' }, { LOG: 'debug', SECRET: 's' })).toEqual({ NODE_ENV: 'production', LOG: 'debug', SECRET: 's' });
  });
});
