// How the CA's problem documents (RFC 8555 §6.7) become the errors a user reads: pure mapping,
// exact kinds, messages and hints (the issuance itself is tested against pebble).
import { describe, expect, it } from 'vitest';
import { AcmeError, acmeFailure } from '../../src/acme/client.js';

const DIRECTORY = 'https://acme.example.net/directory';
const names = ['shop.example.com', 'www.shop.example.com'];
const problem = (type: string, detail: string, extra: Record<string, unknown> = {}) => ({ problem: { type: `urn:ietf:params:acme:error:${type}`, detail, ...extra } });

describe('acmeFailure', () => {
  it('rateLimited: "rate-limited", with the CA\'s Retry-After (seconds) as a date, and what paas does about it', () => {
    const before = Date.now();
    const error = acmeFailure('order', problem('rateLimited', 'too many certificates already issued', { retryAfter: '3600' }), new Error('429'), DIRECTORY, names);
    expect(error).toBeInstanceOf(AcmeError);
    expect(error.problem).toBe('rate-limited');
    expect(error.message).toMatch(/^the CA rate-limited .* for shop\.example\.com, www\.shop\.example\.com: too many certificates already issued$/);
    const wait = error.retryAfter!.getTime() - before;
    expect(wait).toBeGreaterThanOrEqual(3_600_000 - 1000);
    expect(wait).toBeLessThanOrEqual(3_600_000 + 1000);
    expect(error.hint).toContain(`paas tries again after ${error.retryAfter!.toISOString()}`);
    expect(error.hint).toContain('staging');
  });

  it('rateLimited with an HTTP date, and without any Retry-After', () => {
    const dated = acmeFailure('order', problem('rateLimited', 'slow down', { retryAfter: 'Wed, 02 Dec 2026 12:00:00 GMT' }), undefined, DIRECTORY, names);
    expect(dated.retryAfter?.toISOString()).toBe('2026-12-02T12:00:00.000Z');
    const bare = acmeFailure('order', problem('rateLimited', 'slow down'), undefined, DIRECTORY, names);
    expect(bare.retryAfter).toBeUndefined();
    expect(bare.hint).toMatch(/^paas tries again later/);
  });

  it('rejectedIdentifier and caa: refused (a usage error), with the fix', () => {
    const rejected = acmeFailure('order', problem('rejectedIdentifier', 'policy forbids issuing for name'), undefined, DIRECTORY, names);
    expect([rejected.problem, rejected.kind]).toEqual(['refused', 'usage']);
    expect(rejected.message).toBe('the CA refuses to issue a certificate for shop.example.com, www.shop.example.com: policy forbids issuing for name');
    const caa = acmeFailure('finalize', problem('caa', 'CAA record forbids issuance'), undefined, DIRECTORY, names);
    expect(caa.problem).toBe('refused');
    expect(caa.hint).toContain('0 issue "letsencrypt.org"');
  });

  it('a failed challenge (connection refused at port 80): "challenge", the CA\'s words kept', () => {
    const error = acmeFailure('challenge', problem('connection', '203.0.113.10: Fetching http://shop.example.com/.well-known/acme-challenge/x: Connection refused'), undefined, DIRECTORY, ['shop.example.com']);
    expect(error.problem).toBe('challenge');
    expect(error.message).toBe('the CA could not validate shop.example.com over HTTP-01: 203.0.113.10: Fetching http://shop.example.com/.well-known/acme-challenge/x: Connection refused');
    expect(error.hint).toBeTruthy();
  });

  it('a server error of the CA: "failure", try again later', () => {
    const error = acmeFailure('finalize', problem('serverInternal', 'oops', { status: 500 }), undefined, DIRECTORY, names);
    expect(error.problem).toBe('failure');
    expect(error.hint).toBe('the CA had an internal error: paas tries again later');
  });

  it('an AcmeError already made is passed through as it is', () => {
    const made = new AcmeError('dns', 'usage', 'x points elsewhere');
    expect(acmeFailure('order', {}, made, DIRECTORY, names)).toBe(made);
  });
});
