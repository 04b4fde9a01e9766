import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PaasError } from '../../src/errors.js';
import {
  AUTHORIZED_KEYS_HEADER, KEY_OPTIONS, checkKeyName, fingerprint, parseAuthorizedKeys, parsePublicKey, renderAuthorizedKeys,
} from '../../src/git/authorized-keys.js';

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function blob(...fields: (string | Buffer)[]): string {
  return Buffer.concat(fields.map(sshString)).toString('base64');
}

/** An ed25519 public key whose 32 key bytes are 0, 1, ..., 31: fixed, so its fingerprint is too. */
const FIXED = 'AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
const FIXED_FINGERPRINT = 'SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA';
const bytes32 = Buffer.from([...Array(32).keys()]);
const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const hasSshKeygen = existsSync(SSH_KEYGEN);
const dir = mkdtempSync(path.join(os.tmpdir(), 'paas-git-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PaasError);
    return error as PaasError;
  }
  throw new Error('expected a PaasError');
}

const agent = (name: string) => ['/usr/bin/node', '/var/lib/paas/agent/agent.mjs', 'ssh', name];

describe('parsePublicKey', () => {
  it('reads a key line with and without a comment', () => {
    expect(parsePublicKey(`ssh-ed25519 ${FIXED} alice@laptop\n`, 'alice.pub')).toEqual({ type: 'ssh-ed25519', base64: FIXED, comment: 'alice@laptop' });
    expect(parsePublicKey(`ssh-ed25519 ${FIXED}`, 'x')).toEqual({ type: 'ssh-ed25519', base64: FIXED });
    expect(parsePublicKey(`\n  ssh-ed25519\t${FIXED}   my  laptop key \r\n\n`, 'x')).toEqual({ type: 'ssh-ed25519', base64: FIXED, comment: 'my  laptop key' });
  });

  it('accepts every supported type whose blob has the right shape', () => {
    const cases: [string, string][] = [
      ['ssh-rsa', blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(257, 0xc3))],
      ['ecdsa-sha2-nistp256', blob('ecdsa-sha2-nistp256', 'nistp256', point)],
      ['ecdsa-sha2-nistp384', blob('ecdsa-sha2-nistp384', 'nistp384', point)],
      ['ecdsa-sha2-nistp521', blob('ecdsa-sha2-nistp521', 'nistp521', point)],
      ['sk-ssh-ed25519@openssh.com', blob('sk-ssh-ed25519@openssh.com', bytes32, 'ssh:')],
      ['sk-ecdsa-sha2-nistp256@openssh.com', blob('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', point, 'ssh:')],
    ];
    for (const [type, base64] of cases) {
      expect(parsePublicKey(`${type} ${base64} yubikey`, 'x')).toEqual({ type, base64, comment: 'yubikey' });
    }
  });

  it('refuses a private key, saying to pass the .pub file', () => {
    const error = thrown(() => parsePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n', 'id_ed25519'));
    expect(error.kind).toBe('usage');
    expect(error.message).toBe('this is a private key; pass the .pub file');
    expect(error.where).toBe('id_ed25519');
    expect(error.hint).toMatch(/ssh-keygen -y -f KEY/);
    expect(thrown(() => parsePublicKey('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', 'k')).message)
      .toBe('this is a private key; pass the .pub file');
    expect(thrown(() => parsePublicKey('PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n', 'k.ppk')).message)
      .toBe('this is a private key; pass the .pub file');
  });

  it('refuses an options prefix, several lines, other formats and types', () => {
    const cases: [string, string][] = [
      [`command="sh" ssh-ed25519 ${FIXED} x`, 'the key line starts with options; pass the key alone'],
      [`no-pty,from="10.0.0.1" ssh-ed25519 ${FIXED}`, 'the key line starts with options; pass the key alone'],
      [`ssh-ed25519 ${FIXED} a\nssh-ed25519 ${FIXED} b`, 'found 2 lines; pass one public key at a time'],
      ['', 'no public key found'],
      ['# only a comment\n', 'no public key found'],
      ['---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----', 'this is an RFC 4716 (SSH2) public key; paas takes the OpenSSH format'],
      [`ssh-dss ${FIXED}`, '"ssh-dss" is not a supported key type'],
      [`constructor ${blob('constructor', bytes32)}`, '"constructor" is not a supported key type'],
      [`__proto__ ${blob('__proto__', bytes32)}`, '"__proto__" is not a supported key type'],
      [`ssh-ed25519-cert-v01@openssh.com ${FIXED}`, '"ssh-ed25519-cert-v01@openssh.com" is not a supported key type'],
      ['ssh-ed25519', 'the ssh-ed25519 key has no key data after its type'],
      ['ssh-ed25519 not*base64', 'the ssh-ed25519 key data is malformed: it is not valid base64'],
      [`ssh-ed25519 ${FIXED.slice(0, -1)}`, 'the ssh-ed25519 key data is malformed: it is not valid base64'],
      [`ssh-rsa ${FIXED}`, 'the ssh-rsa key data is malformed: it is a "ssh-ed25519" key, not ssh-rsa'],
      [`ssh-ed25519 ${blob('ssh-ed25519', Buffer.alloc(31))}`, 'the ssh-ed25519 key data is malformed: an ed25519 public key is 32 bytes'],
      [`ssh-ed25519 ${blob('ssh-ed25519', bytes32, 'extra')}`, 'the ssh-ed25519 key data is malformed: expected 2 fields, found 3'],
      [`ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), Buffer.from([0, 0, 0, 40, 1, 2])]).toString('base64')}`,
        'the ssh-ed25519 key data is malformed: a length field runs past the end of the data'],
      [`ecdsa-sha2-nistp384 ${blob('ecdsa-sha2-nistp384', 'nistp256', point)}`, 'the ecdsa-sha2-nistp384 key data is malformed: the curve is not nistp384'],
    ];
    for (const [text, message] of cases) {
      const error = thrown(() => parsePublicKey(text, 'key.pub'));
      expect(error.message, text).toBe(message);
      expect(error.kind).toBe('usage');
      expect(error.where).toBe('key.pub');
      expect(error.hint).toBeTruthy();
    }
  });
});

describe('checkKeyName', () => {
  it('accepts names of letters, digits, . _ @ -', () => {
    for (const name of ['alice', 'alice@laptop', 'ci.github', 'Deploy_Bot-2', '7', 'a'.repeat(64)]) expect(checkKeyName(name), name).toBeUndefined();
  });
  it('refuses everything else, saying why', () => {
    for (const name of ['', '-x', '.hidden', '_x', 'a b', 'a"b', "a'b", 'a/b', 'a\nb', 'a,b', 'é', 'a'.repeat(65)]) {
      expect(checkKeyName(name), name).toMatch(/is not a valid key name/);
    }
    expect(checkKeyName('a b')).toBe('"a b" is not a valid key name (letters, digits, dots, dashes, underscores and @, starting with a letter or digit, at most 64 characters)');
  });
});

describe('fingerprint', () => {
  it('is the SHA256 of the blob, base64 without padding, as ssh-keygen -lf prints it', () => {
    expect(fingerprint(FIXED)).toBe(FIXED_FINGERPRINT);
  });

  it.runIf(hasSshKeygen)('matches ssh-keygen -lf for keys of every type ssh-keygen makes', () => {
    for (const [type, bits] of [['ed25519', ''], ['rsa', '2048'], ['ecdsa', '256'], ['ecdsa', '384'], ['ecdsa', '521']] as const) {
      const file = path.join(dir, `id_${type}${bits}`);
      execFileSync(SSH_KEYGEN, ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', `test ${type}`, '-f', file]);
      const key = parsePublicKey(readFileSync(`${file}.pub`, 'utf8'), `${file}.pub`);
      expect(key.comment).toBe(`test ${type}`);
      const [, printed] = execFileSync(SSH_KEYGEN, ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ');
      expect(fingerprint(key.base64)).toBe(printed);
      expect(() => parsePublicKey(readFileSync(file, 'utf8'), file)).toThrow('this is a private key; pass the .pub file');
    }
  });
});

describe('renderAuthorizedKeys', () => {
  const rsa = blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(257, 0xc3));

  it('writes a header and one forced-command line per key, the name as comment', () => {
    const text = renderAuthorizedKeys([
      { name: 'alice@laptop', key: { type: 'ssh-ed25519', base64: FIXED } },
      { name: 'ci', key: { type: 'ssh-rsa', base64: rsa } },
    ], agent);
    expect(KEY_OPTIONS).toBe('no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc');
    expect(text).toBe([
      '# Generated by paas: every key may only run the paas agent (git push / git fetch). Do not edit; use `paas keys`.',
      `command="/usr/bin/node /var/lib/paas/agent/agent.mjs ssh alice@laptop",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc ssh-ed25519 ${FIXED} alice@laptop`,
      `command="/usr/bin/node /var/lib/paas/agent/agent.mjs ssh ci",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc ssh-rsa ${rsa} ci`,
      '',
    ].join('\n'));
    expect(renderAuthorizedKeys([], agent)).toBe(`${AUTHORIZED_KEYS_HEADER}\n`);
  });

  it('quotes the argv for the shell and escapes " for sshd', () => {
    const text = renderAuthorizedKeys([{ name: 'bob', key: { type: 'ssh-ed25519', base64: FIXED } }],
      (name) => ['/opt/my node/node', '/srv/a"b\\c\'d.mjs', 'ssh', name]);
    expect(text.split('\n')[1]).toBe(
      `command="'/opt/my node/node' '/srv/a\\"b\\c'\\''d.mjs' ssh bob",${KEY_OPTIONS} ssh-ed25519 ${FIXED} bob`,
    );
  });

  it('round-trips through the shell: sshd unescapes \\" only, sh -c gets the argv back', () => {
    const script = path.join(dir, 'print "argv" it\'s.mjs');
    writeFileSync(script, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const name = 'carol@ci.example';
    const text = renderAuthorizedKeys([{ name, key: { type: 'ssh-ed25519', base64: FIXED } }],
      (n) => [process.execPath, script, 'ssh', n, 'a\\"b $HOME `x` \\'],
    );
    const option = /^command="((?:\\"|[^"])*)",/.exec(text.split('\n')[1]!)?.[1];
    expect(option).toBeDefined();
    const command = option!.replace(/\\"/g, '"');
    const output = execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual(['ssh', name, 'a\\"b $HOME `x` \\']);
  });

  it.runIf(hasSshKeygen)('is read by OpenSSH (ssh-keygen -lf skips the options as sshd does)', () => {
    const file = path.join(dir, 'authorized_keys');
    writeFileSync(file, renderAuthorizedKeys([
      { name: 'alice', key: { type: 'ssh-ed25519', base64: FIXED } },
      { name: 'bob', key: { type: 'ssh-rsa', base64: blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.concat([Buffer.from([0]), Buffer.alloc(256, 0xc3)])) } },
    ], (name) => ['/opt/my node/node', '/srv/a"b.mjs', name]));
    const lines = execFileSync(SSH_KEYGEN, ['-lf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(lines[0]).toBe(`256 ${FIXED_FINGERPRINT} alice (ED25519)`);
    expect(lines[1]).toMatch(/^2048 SHA256:\S+ bob \(RSA\)$/);
  });

  it('refuses invalid or duplicate names, invalid keys, a key twice, and line breaks in the command', () => {
    const key = { type: 'ssh-ed25519', base64: FIXED };
    expect(thrown(() => renderAuthorizedKeys([{ name: 'a b', key }], agent)).message).toMatch(/^"a b" is not a valid key name/);
    expect(thrown(() => renderAuthorizedKeys([{ name: 'x\nssh-ed25519', key }], agent)).message).toMatch(/is not a valid key name/);
    expect(thrown(() => renderAuthorizedKeys([{ name: 'a', key }, { name: 'a', key: { type: 'ssh-rsa', base64: rsa } }], agent)).message)
      .toBe('two keys are named "a"');
    expect(thrown(() => renderAuthorizedKeys([{ name: 'a', key }, { name: 'b', key }], agent)).message)
      .toBe('the keys named "a" and "b" are the same key');
    expect(thrown(() => renderAuthorizedKeys([{ name: 'a', key: { type: 'ssh-rsa', base64: FIXED } }], agent)).message)
      .toBe('the key named "a" is not valid: it is a "ssh-ed25519" key, not ssh-rsa');
    expect(thrown(() => renderAuthorizedKeys([{ name: 'a', key: { type: 'ssh-dss', base64: FIXED } }], agent)).message)
      .toBe('the key named "a" is not valid: "ssh-dss" is not a supported key type');
    expect(() => renderAuthorizedKeys([{ name: 'a', key }], (n) => ['/bin/node', 'x\ny', n])).toThrow('a forced command cannot contain a line break or NUL');
  });
});

describe('parseAuthorizedKeys', () => {
  it('reads back what renderAuthorizedKeys wrote, skipping comments and blank lines', () => {
    const entries = [
      { name: 'alice@laptop', key: { type: 'ssh-ed25519', base64: FIXED } },
      { name: 'ci', key: { type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp256', point) } },
      { name: 'yubi', key: { type: 'sk-ssh-ed25519@openssh.com', base64: blob('sk-ssh-ed25519@openssh.com', bytes32, 'ssh:') } },
    ];
    const text = renderAuthorizedKeys(entries, (name) => ['/opt/my node/node', '/srv/a "b, c".mjs', 'ssh', name]);
    expect(parseAuthorizedKeys(text)).toEqual(entries);
    expect(parseAuthorizedKeys(`# note\n\n${text}\n  \n# end\n`)).toEqual(entries);
    expect(parseAuthorizedKeys('')).toEqual([]);
  });

  it('reads a plain key line with a name as comment', () => {
    expect(parseAuthorizedKeys(`ssh-ed25519 ${FIXED} alice\n`)).toEqual([{ name: 'alice', key: { type: 'ssh-ed25519', base64: FIXED } }]);
  });

  it('refuses lines paas did not write, saying which', () => {
    const line = (s: string) => thrown(() => parseAuthorizedKeys(`${AUTHORIZED_KEYS_HEADER}\n${s}\n`, '/home/paas/.ssh/authorized_keys'));
    const unclosed = line(`command="x,no-pty ssh-ed25519 ${FIXED} a`);
    expect(unclosed.kind).toBe('host');
    expect(unclosed.where).toBe('/home/paas/.ssh/authorized_keys');
    expect(unclosed.message).toBe('line 2 was not written by paas: its options are not closed');
    expect(line(`ssh-ed25519 ${FIXED}`).message).toBe('line 2 was not written by paas: it does not end with a key name');
    expect(line(`ssh-ed25519 ${FIXED} two words`).message).toBe('line 2 was not written by paas: it does not end with a key name');
    expect(line(`no-pty toString ${blob('toString', bytes32)} a`).message).toBe('line 2 was not written by paas: "toString" is not a supported key type');
    expect(line(`no-pty ssh-dss ${FIXED} a`).message).toBe('line 2 was not written by paas: "ssh-dss" is not a supported key type');
    expect(line(`ssh-rsa ${FIXED} a`).message).toBe('line 2 was not written by paas: the key data is malformed: it is a "ssh-ed25519" key, not ssh-rsa');
  });
});
