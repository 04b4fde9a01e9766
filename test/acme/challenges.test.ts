import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challengeFile, challengeStore, checkKeyAuthorization, checkToken, readChallenge, removeChallenge, tokenFromUrlPath, writeChallenge } from '../../src/acme/challenges.js';
import { PaasError } from '../../src/errors.js';

const TOKEN = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
let dir: string;

beforeAll(async () => { dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'paas-acme-ch-')), 'challenges'); });
afterAll(async () => { await fs.rm(path.dirname(dir), { recursive: true, force: true }); });

describe('checkToken', () => {
  it('accepts base64url tokens up to 128 characters', () => {
    expect(checkToken(TOKEN)).toBeUndefined();
    expect(checkToken('a'.repeat(128))).toBeUndefined();
  });
  it('refuses what could escape the directory or is not base64url', () => {
    expect(checkToken('')).toBe('is empty');
    expect(checkToken('a'.repeat(129))).toBe('is 129 characters long, at most 128 are allowed');
    for (const bad of ['..', '../etc/passwd', 'a/b', 'a.b', 'a=', 'a b', 'a\0', '%2e%2e']) {
      expect(checkToken(bad)).toBe('holds characters other than base64url (A-Z a-z 0-9 - _)');
    }
    expect(checkToken(42)).toBe('is empty');
  });
});

describe('checkKeyAuthorization', () => {
  it('wants token.thumbprint of that token', () => {
    expect(checkKeyAuthorization(TOKEN, KEY_AUTH)).toBeUndefined();
    expect(checkKeyAuthorization(TOKEN, 'other.abc')).toBe('is for another token');
    expect(checkKeyAuthorization(TOKEN, `${TOKEN}.abc\n<script>`)).toBe('is not of the form <token>.<base64url thumbprint>');
  });
});

describe('the store', () => {
  it('writes, reads and removes an answer, 0644 in a 0755 directory', async () => {
    await writeChallenge(dir, TOKEN, KEY_AUTH);
    expect(await readChallenge(dir, TOKEN)).toBe(KEY_AUTH);
    expect((await fs.stat(challengeFile(dir, TOKEN))).mode & 0o777).toBe(0o644);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o755);
    expect((await fs.readdir(dir))).toEqual([TOKEN]); // no temp file left
    await removeChallenge(dir, TOKEN);
    expect(await readChallenge(dir, TOKEN)).toBeUndefined();
    await removeChallenge(dir, TOKEN); // twice is fine
  });

  it('refuses an invalid token as a PaasError, and reads none', async () => {
    await expect(writeChallenge(dir, '../x', '../x.abc')).rejects.toThrow(PaasError);
    await expect(removeChallenge(dir, '../x')).rejects.toThrow(/invalid ACME challenge token/);
    expect(await readChallenge(dir, '../x')).toBeUndefined();
  });

  it('refuses a value that is not the key authorization of the token', async () => {
    await expect(writeChallenge(dir, TOKEN, 'nope')).rejects.toThrow(/is not of the form/);
  });

  it('challengeStore gives the hooks of issueCertificate', async () => {
    const store = challengeStore(dir);
    await store.set(TOKEN, KEY_AUTH);
    expect(await readChallenge(dir, TOKEN)).toBe(KEY_AUTH);
    await store.remove(TOKEN);
    expect(await readChallenge(dir, TOKEN)).toBeUndefined();
  });
});

describe('tokenFromUrlPath', () => {
  it('reads the token of /.well-known/acme-challenge/<token>', () => {
    expect(tokenFromUrlPath(`/.well-known/acme-challenge/${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromUrlPath(`/.well-known/acme-challenge/${TOKEN}?x=1`)).toBe(TOKEN);
    expect(tokenFromUrlPath('/.well-known/acme-challenge/../../etc/passwd')).toBeUndefined();
    expect(tokenFromUrlPath('/.well-known/acme-challenge/')).toBeUndefined();
    expect(tokenFromUrlPath('/index.html')).toBeUndefined();
  });
});
