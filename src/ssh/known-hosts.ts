import { createHash, createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { paasHome } from '../util/home.js';
import { quoteArg } from '../util/shell.js';

/*
 * OpenSSH known_hosts files: reading them with ssh's matching rules, and adding or removing
 * plain entries. Host keys are handled as raw SSH wire-format blobs, as ssh2 hands them over.
 */

export interface KnownKey {
  type: string;
  blob: Buffer;
  file: string;
  line: number;
  revoked: boolean;
}

export type HostKeyStatus = 'trusted' | 'unknown' | 'changed' | 'revoked';

interface Entry {
  key: KnownKey;
  matches: (hostString: string) => boolean;
}

const HASHED_PREFIX = '|1|';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise (ssh lowercases names). */
export function hostString(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** The SHA256 fingerprint that `ssh-keygen -l` prints. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of a wire-format key blob, e.g. 'ssh-ed25519' ('' if malformed). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const length = keyBlob.readUInt32BE(0);
  return length + 4 > keyBlob.length ? '' : keyBlob.subarray(4, 4 + length).toString('latin1');
}

export class KnownHosts {
  private constructor(private readonly entries: Entry[]) {}

  static async load(files: string[]): Promise<KnownHosts> {
    const entries: Entry[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new PaasError('ssh', `cannot read the known hosts file: ${(error as Error).message}`, {
          where: file,
          hint: `check the file's permissions (chmod 600 ${quoteArg(file)}), or point PAAS_KNOWN_HOSTS at other files`,
          cause: error,
        });
      }
      entries.push(...KnownHosts.parse(text, file).entries);
    }
    return new KnownHosts(entries);
  }

  /** Lines that ssh would skip (malformed, unknown marker, @cert-authority) are skipped here too. */
  static parse(text: string, file: string): KnownHosts {
    const entries: Entry[] = [];
    text.split('\n').forEach((raw, index) => {
      const fields = raw.trim().split(/\s+/);
      if (fields[0] === '' || fields[0]?.startsWith('#')) return;
      let revoked = false;
      if (fields[0]?.startsWith('@')) {
        if (fields[0] !== '@revoked') return;
        revoked = true;
        fields.shift();
      }
      const [hosts, type, base64] = fields;
      if (!hosts || !type || !base64 || !BASE64.test(base64)) return;
      const blob = Buffer.from(base64, 'base64');
      if (keyTypeOf(blob) !== type) return;
      entries.push({ key: { type, blob, file, line: index + 1, revoked }, matches: hostMatcher(hosts) });
    });
    return new KnownHosts(entries);
  }

  /** Every key listed for the host, revoked ones included (flagged). */
  keysFor(host: string, port: number): KnownKey[] {
    const name = hostString(host, port);
    return this.entries.filter((entry) => entry.matches(name)).map((entry) => entry.key);
  }

  /**
   * As ssh decides: only keys of the offered key's type can make it 'changed'. A host known only
   * by keys of other types is 'unknown' (with those keys in `known`), since ssh2 does not prefer the
   * known key types when negotiating, unlike ssh, and a different type is not proof of an attack.
   */
  verify(host: string, port: number, key: Buffer): { status: HostKeyStatus; known: KnownKey[] } {
    const keys = this.keysFor(host, port);
    const revoked = keys.filter((k) => k.revoked && k.blob.equals(key));
    if (revoked.length > 0) return { status: 'revoked', known: revoked };
    const valid = keys.filter((k) => !k.revoked);
    const trusted = valid.filter((k) => k.blob.equals(key));
    if (trusted.length > 0) return { status: 'trusted', known: trusted };
    const sameType = valid.filter((k) => k.type === keyTypeOf(key));
    if (sameType.length > 0) return { status: 'changed', known: sameType };
    return { status: 'unknown', known: valid };
  }
}

/** A hostnames field: one hashed name, or comma-separated patterns where `!pattern` vetoes the line. */
function hostMatcher(field: string): (hostString: string) => boolean {
  if (field.startsWith(HASHED_PREFIX)) {
    const [salt, hash] = field.slice(HASHED_PREFIX.length).split('|');
    if (!salt || !hash) return () => false;
    const saltBytes = Buffer.from(salt, 'base64');
    const hashBytes = Buffer.from(hash, 'base64');
    return (name) => createHmac('sha1', saltBytes).update(name).digest().equals(hashBytes);
  }
  const patterns = field.split(',').filter(Boolean).map((pattern) => {
    const negated = pattern.startsWith('!');
    return { negated, regex: globRegex(negated ? pattern.slice(1) : pattern) };
  });
  return (name) => {
    const hits = patterns.filter((p) => p.regex.test(name));
    return hits.length > 0 && hits.every((p) => !p.negated);
  };
}

function globRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** A plain (not hashed) known_hosts line for the key. */
export function knownHostLine(host: string, port: number, key: Buffer): string {
  return `${hostString(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

export async function addKnownHost(file: string, host: string, port: number, key: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const previous = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const separator = previous === '' || previous.endsWith('\n') ? '' : '\n';
  await fs.appendFile(file, `${separator}${knownHostLine(host, port, key)}\n`, { mode: 0o600 });
}

/** Drops the plain lines written for exactly this host and port; hashed and @revoked lines stay. */
export async function removeKnownHost(file: string, host: string, port: number): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const name = hostString(host, port);
  const lines = text.split('\n');
  const kept = lines.filter((line) => line.trim().split(/\s+/)[0] !== name);
  if (kept.length === lines.length) return;
  const { mode } = await fs.stat(file);
  await writeFileAtomic(file, kept.join('\n'), mode & 0o777);
}

/** The files read for host keys; the first is where newly trusted keys are written. */
export function knownHostsFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const configured = (env.PAAS_KNOWN_HOSTS ?? '').split(path.delimiter).filter(Boolean);
  if (configured.length > 0) return configured;
  return [path.join(os.homedir(), '.ssh', 'known_hosts'), path.join(paasHome(env), 'known_hosts')];
}

export interface HostKeyVerifierOptions {
  knownHosts: KnownHosts;
  host: string;
  port: number;
  /** Only used to write the `paas host:trust` command in hints. */
  user?: string;
  /** Accept a key of a host not known yet (never a changed or revoked one). */
  trustUnknown: boolean;
  trustFile: string;
  onTrusted?: (line: string) => void;
}

/**
 * The check SshConnection runs on the offered host key. A key accepted because of `trustUnknown`
 * is only written by `commit()`, once the connection succeeded.
 */
export function hostKeyVerifier(options: HostKeyVerifierOptions): { verify: (key: Buffer) => PaasError | undefined; commit: () => Promise<void> } {
  const { knownHosts, host, port, trustFile } = options;
  const where = hostString(host, port);
  let accepted: Buffer | undefined;

  const verify = (key: Buffer): PaasError | undefined => {
    const { status, known } = knownHosts.verify(host, port, key);
    const offered = `${keyTypeOf(key)} key fingerprint ${fingerprint(key)}`;
    switch (status) {
      case 'trusted':
        return undefined;
      case 'unknown': {
        // With keys of other types on file, a new type is trusted only on purpose (host:trust).
        if (options.trustUnknown && known.length === 0) {
          accepted = key;
          return undefined;
        }
        const others = known.map((k) => `a ${k.type} key is known (${k.file}:${k.line}): ${fingerprint(k.blob)}`);
        return new PaasError('hostKey', `the host key of ${where} is not known`, {
          where,
          details: [offered, ...others],
          hint: `if that fingerprint is right (check it on the server: ssh-keygen -lf /etc/ssh/ssh_host_${shortKeyType(key)}_key.pub), ` +
            `trust it with \`paas host:trust ${hostArgument(options.user, host, port)}\`${known.length === 0 ? ' or pass --trust-host-key' : ''}`,
        });
      }
      case 'changed': {
        const files = [...new Set(known.map((k) => k.file))];
        return new PaasError('hostKey', `THE HOST KEY OF ${where} HAS CHANGED`, {
          where,
          details: [`offered: ${offered}`, ...known.map((k) => `known in ${k.file}:${k.line}: ${k.type} key fingerprint ${fingerprint(k.blob)}`)],
          hint: 'someone may be intercepting the connection, or the server was reinstalled. Verify the new key out of band; ' +
            `if it is right, remove the old entry (${files.map((f) => `ssh-keygen -R ${quoteArg(where)} -f ${quoteArg(f)}`).join('; ')}) ` +
            `and trust the new one with \`paas host:trust ${hostArgument(options.user, host, port)}\``,
        });
      }
      case 'revoked':
        return new PaasError('hostKey', `the host key of ${where} is revoked`, {
          where,
          details: [offered, ...known.map((k) => `revoked in ${k.file}:${k.line}`)],
          hint: 'do not use this host until its administrator has replaced the key',
        });
    }
  };

  const commit = async (): Promise<void> => {
    if (!accepted) return;
    const key = accepted;
    accepted = undefined;
    await addKnownHost(trustFile, host, port, key);
    options.onTrusted?.(knownHostLine(host, port, key));
  };

  return { verify, commit };
}

/** The name sshd gives the key's file: /etc/ssh/ssh_host_<short>_key.pub. */
function shortKeyType(key: Buffer): string {
  const type = keyTypeOf(key);
  if (type.startsWith('ecdsa-')) return 'ecdsa';
  if (type === 'ssh-dss') return 'dsa';
  return type.replace(/^ssh-/, '');
}

/** The host as `paas host:trust` takes it. */
function hostArgument(user: string | undefined, host: string, port: number): string {
  const userAt = user ? `${user}@` : '';
  if (port === 22 && !host.includes(':')) return `${userAt}${host}`;
  return `ssh://${userAt}${host.includes(':') ? `[${host}]` : host}:${port}`;
}
