import { describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { lossMessage, nextReleaseVersion } from '../../src/deploy/index.js';
import type { OutcomeResult } from '../../src/agent/protocol.js';

const lost = new PaasError('ssh', 'the SSH connection was lost before the command finished', { where: 'root@h1' });
const answer = (extra: Partial<OutcomeResult>): OutcomeResult => ({ app: 'shop', locked: false, releases: [], containers: [], ...extra });

describe('nextReleaseVersion', () => {
  it('one more than the highest release on any host', () => {
    expect(nextReleaseVersion([{ app: 'a', releases: [] }])).toBe(1);
    expect(nextReleaseVersion([
      { app: 'a', releases: [{ version: 3 } as never, { version: 5 } as never] },
      { app: 'a', releases: [{ version: 7 } as never] },
    ])).toBe(8);
  });
});

describe('lossMessage: what the CLI says after a lost connection, from what the host answered', () => {
  it('the release went live after all', () => {
    const error = lossMessage(lost, 8, answer({ current: 8 }), 'root@h1');
    expect(error.kind).toBe('ssh');
    expect(error.details).toEqual(['asked again, root@h1 says: v8 is live (the host finished the release after the connection broke)']);
    expect(error.hint).toBe('nothing to clean up; deploy again only if you want to see it through');
  });

  it('the release did not go live: what serves, and that what it started was removed', () => {
    const error = lossMessage(lost, 8, answer({ current: 7, containers: [{ name: 'paas-shop.web.1.v6', release: 6, running: true }, { name: 'paas-shop.web.1.v7', release: 7, running: true }] }), 'root@h1');
    expect(error.details).toEqual([
      'asked again, root@h1 says: v7 serves; v8 did not go live and what it started was removed',
      'containers of other releases still on root@h1 (stopping in the background): paas-shop.web.1.v6',
    ]);
  });

  it('the host is still at work, or could not be asked', () => {
    expect(lossMessage(lost, 8, answer({ locked: true, holder: 'shop is locked by ann@laptop (deploy from .) since x' }), 'root@h1').details)
      .toEqual(['root@h1 is still at work on it (shop is locked by ann@laptop (deploy from .) since x); it finishes or undoes the change by itself']);
    const unknown = lossMessage(lost, 8, undefined, 'root@h1');
    expect(unknown.details).toEqual(['root@h1 could not be asked again what it serves now']);
    expect(unknown.hint).toMatch(/paas releases --host root@h1/);
  });
});
