import { describe, expect, it } from 'vitest';
import { generateSecret, missingRequiredEnv, requiredEnvError, withGeneratedSecrets } from '../../src/release/env.js';

describe('missingRequiredEnv', () => {
  it('lists the required keys that are not config vars, in app.json\'s order', () => {
    expect(missingRequiredEnv(['DATABASE_URL', 'API_TOKEN', 'SMTP_URL'], ['SMTP_URL', 'OTHER'])).toEqual(['DATABASE_URL', 'API_TOKEN']);
    expect(missingRequiredEnv(['DATABASE_URL'], new Set(['DATABASE_URL']))).toEqual([]);
    expect(missingRequiredEnv([], [])).toEqual([]);
  });

  it('takes a config var set to the empty string as set', () => {
    expect(missingRequiredEnv(['A'], Object.keys({ A: '' }))).toEqual([]);
  });
});

describe('requiredEnvError', () => {
  it('names the keys and the command that sets them', () => {
    expect(requiredEnvError('shop', ['DATABASE_URL', 'API_TOKEN']).toJSON()).toEqual({
      error: 'config',
      message: "shop needs the config vars DATABASE_URL, API_TOKEN, which app.json's env requires: nothing was changed",
      where: 'app.json env',
      hint: 'set them first: paas config:set DATABASE_URL=... API_TOKEN=... --app shop, then deploy again',
      exitCode: 3,
    });
    expect(requiredEnvError('shop', ['DATABASE_URL']).format()).toBe([
      "app.json env: shop needs the config var DATABASE_URL, which app.json's env requires: nothing was changed",
      'Fix: set it first: paas config:set DATABASE_URL=... --app shop, then deploy again',
    ].join('\n'));
  });
});

describe('generateSecret', () => {
  it('is 64 hex digits, new each time', () => {
    const a = generateSecret();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateSecret()).not.toBe(a);
  });
});

describe('withGeneratedSecrets', () => {
  it('generates the secrets not set yet and keeps the others', () => {
    const generate = (name: string) => `new-${name}`;
    expect(withGeneratedSecrets({ SECRET_KEY_BASE: 'kept', OTHER: 'x' }, ['SECRET_KEY_BASE', 'SESSION_SECRET'], generate)).toEqual({
      config: { SECRET_KEY_BASE: 'kept', OTHER: 'x', SESSION_SECRET: 'new-SESSION_SECRET' },
      generated: ['SESSION_SECRET'],
    });
  });

  it('changes nothing when every secret is set', () => {
    const config = { A: '1' };
    expect(withGeneratedSecrets(config, ['A'], () => 'never')).toEqual({ config: { A: '1' }, generated: [] });
  });

  it('generates 64 hex digits by default', () => {
    const { config, generated } = withGeneratedSecrets({}, ['S']);
    expect(generated).toEqual(['S']);
    expect(config.S).toMatch(/^[0-9a-f]{64}$/);
  });
});
