import { describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { effectiveFormation, formationText, parseFormationArgs, sameFormation } from '../../src/release/formation.js';

const TYPES = ['web', 'worker', 'clock'];

function problem(args: string[], known = TYPES): PaasError {
  try {
    parseFormationArgs(args, known);
  } catch (error) {
    expect(error).toBeInstanceOf(PaasError);
    return error as PaasError;
  }
  throw new Error('expected a PaasError');
}

describe('parseFormationArgs', () => {
  it('web=3 worker=0 -> { web: 3, worker: 0 }', () => {
    expect(parseFormationArgs(['web=3', 'worker=0'], TYPES)).toEqual({ web: 3, worker: 0 });
  });

  it('accepts 0 and 100', () => {
    expect(parseFormationArgs(['clock=100', 'web=0'], TYPES)).toEqual({ clock: 100, web: 0 });
  });

  it('an unknown type: named, with the nearest known one and the list', () => {
    const error = problem(['wrker=1']);
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('unknown process type "wrker" (did you mean worker?); the app runs: clock, web, worker');
  });

  it('more than 100 replicas', () => {
    expect(problem(['web=101']).message).toBe('web=101: at most 100 replicas per host');
  });

  it.each(['web', 'web=', 'web=-1', 'web=1.5', 'web=two', '=3', 'web=3=4', 'we b=1', 'web=1;rm'])('malformed %j', (arg) => {
    expect(problem([arg]).message).toBe(`${JSON.stringify(arg)} is not TYPE=COUNT (such as web=3)`);
  });

  it('every problem at once, and a type given twice', () => {
    const error = problem(['web=1', 'web=2', 'nope=1', 'worker=x']);
    expect(error.message).toBe('invalid formation');
    expect(error.details).toEqual([
      'web is given twice',
      'unknown process type "nope"; the app runs: clock, web, worker',
      '"worker=x" is not TYPE=COUNT (such as web=3)',
    ]);
    expect(error.hint).toContain('COUNT from 0 to 100');
  });

  it('nothing to scale', () => {
    expect(problem([]).message).toBe('say which process types to scale');
    expect(problem([]).hint).toBe('for example `paas ps:scale clock=2` (types: clock, web, worker)');
  });
});

describe('effectiveFormation', () => {
  const processes = { web: 'node server.js', worker: 'node worker.js' };

  it('without an override: the release\'s formation, for its types', () => {
    expect(effectiveFormation({ web: 1, worker: 0, gone: 2 }, processes, undefined)).toEqual({ web: 1, worker: 0 });
  });

  it('the override wins type by type; types the release lacks are ignored', () => {
    expect(effectiveFormation({ web: 1, worker: 0 }, processes, { web: 3, clock: 1 })).toEqual({ web: 3, worker: 0 });
    expect(effectiveFormation({ web: 1 }, processes, { worker: 2 })).toEqual({ web: 1, worker: 2 });
  });

  it('an invalid stored value is ignored', () => {
    expect(effectiveFormation({ web: 1 }, processes, { web: -1, worker: 1000 })).toEqual({ web: 1 });
  });
});

describe('formationText / sameFormation', () => {
  it('web first, then by name', () => {
    expect(formationText({ worker: 1, clock: 0, web: 3 })).toBe('web=3 clock=0 worker=1');
  });

  it('a change that changes nothing', () => {
    expect(sameFormation({ web: 3, worker: 1 }, { web: 3 })).toBe(true);
    expect(sameFormation({ web: 3 }, { worker: 0 })).toBe(true);
    expect(sameFormation({ web: 3 }, { web: 2 })).toBe(false);
  });
});
