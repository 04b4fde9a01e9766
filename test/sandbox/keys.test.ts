import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { sandboxKeyPair } from '../../src/sandbox/index.js';

describe('sandbox keys', () => {
  // ssh2 makes a malformed ed25519 key about once in 200: over 1000 keys, one shows up almost surely.
  it('are always keys that can be loaded again', () => {
    const unreadable: string[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const pair = sandboxKeyPair('paas-sandbox-t-host');
      const parsed = ssh2.utils.parseKey(pair.private);
      if (parsed instanceof Error) unreadable.push(parsed.message);
      else expect((Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH().toString('base64')).toBe(pair.public.split(' ')[1]);
    }
    expect(unreadable).toEqual([]);
  });
});
