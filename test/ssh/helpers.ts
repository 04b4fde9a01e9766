import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { sandboxKeyPair } from '../../src/sandbox/index.js';
import { onTestFinished } from 'vitest';

export interface TestKey {
  /** OpenSSH private key text. */
  private: string;
  /** 'ssh-ed25519 BASE64' as in a .pub file. */
  public: string;
  type: string;
  base64: string;
  /** The wire-format public key, as ssh2 hands host keys over. */
  blob: Buffer;
}

export function newKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): TestKey {
  // ssh2 makes a malformed ed25519 key about once in 200 (sandboxKeyPair makes one again then).
  const pair = type === 'ed25519'
    ? sandboxKeyPair('test')
    : type === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 });
  const [keyType = '', base64 = ''] = pair.public.split(' ');
  return { private: pair.private, public: pair.public, type: keyType, base64, blob: Buffer.from(base64, 'base64') };
}

/** A temporary directory, removed when the test ends. */
export async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-ssh-test-'));
  onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function fileMode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}
