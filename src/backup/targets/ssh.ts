import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { Client, utils, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { PaasError } from '../../errors.js';
import { fingerprint, keyTypeOf } from '../../ssh/known-hosts.js';
import { DEFAULT_TIMEOUTS, REMOTE_SUFFIX, TargetError, checkRemoteId, type BackupTarget, type RemoteBackup } from './target.js';

/*
 * Another host, over SFTP: `ssh://user@host:port/path`. The host logs in with its own key pair
 * (generateSshKeyPair; the user authorizes the public line on the target) and the target's host
 * key is pinned at setup (a known_hosts line or a SHA256 fingerprint): another key is refused.
 */

export interface SshTargetAddress {
  user: string;
  host: string;
  port: number;
  /** The directory on the target (absolute, or relative to the user's home). */
  dir: string;
}

export interface SshTargetConfig {
  url: string;
  /** The host's private key, OpenSSH format. */
  privateKey: string | Buffer;
  /** The target's host key: a known_hosts line, `ssh-ed25519 AAAA...`, or `SHA256:...`. */
  hostKey: string;
  connectTimeoutMs?: number;
  /** The longest an operation may stall (no byte moving) before it fails. */
  idleTimeoutMs?: number;
}

/** ssh://user@host[:port]/path: the user and the path are required (no default for where backups go). */
export function parseSshTargetUrl(url: string): SshTargetAddress {
  const hint = 'write it as ssh://user@host:port/path, e.g. ssh://backup@10.0.0.5:22/srv/paas-backups';
  // URL would resolve `..` away: a path that climbs is refused as written.
  if (/\/\.\.?(\/|$)/.test(url.replace(/^[a-z]+:\/\/[^/]*/i, ''))) {
    throw new PaasError('usage', `the directory of ${JSON.stringify(url)} is not a plain path (no . or .. parts)`, { hint });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PaasError('usage', `${JSON.stringify(url)} is not an ssh:// URL`, { hint });
  }
  if (parsed.protocol !== 'ssh:' && parsed.protocol !== 'sftp:') throw new PaasError('usage', `${JSON.stringify(url)} is not an ssh:// URL`, { hint });
  if (parsed.password) throw new PaasError('usage', 'an SSH backup target authenticates with the host\'s key: put no password in its URL', { hint });
  const user = decodeURIComponent(parsed.username);
  if (!user) throw new PaasError('usage', `${JSON.stringify(url)} names no user`, { hint });
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new PaasError('usage', `${JSON.stringify(url)} names no host`, { hint });
  const port = parsed.port ? Number(parsed.port) : 22;
  // ssh://u@h/srv/x is /srv/x; ssh://u@h/~/x is x under the user's home.
  if (parsed.pathname === '' || parsed.pathname === '/') throw new PaasError('usage', `${JSON.stringify(url)} names no directory for the backups`, { hint });
  let dir = decodeURIComponent(parsed.pathname);
  if (dir.startsWith('/~/')) dir = dir.slice(3);
  else if (dir === '/~') dir = '.';
  dir = dir.replace(/\/+$/, '') || (dir.startsWith('/') ? '/' : '.');
  if (dir === '/' || dir === '') throw new PaasError('usage', `${JSON.stringify(url)} names no directory for the backups`, { hint });
  if (/[\0\n]/.test(dir)) throw new PaasError('usage', `the directory of ${JSON.stringify(url)} is not a plain path`, { hint });
  return { user, host, port, dir };
}

/** A new ed25519 key pair for a host: the private key (OpenSSH) to keep, the public line to authorize on the target. */
export function generateSshKeyPair(comment = 'paas-backup'): { privateKey: string; publicKey: string } {
  const pair = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

export interface HostKeyPin {
  /** SHA256:... as ssh-keygen -l prints it. */
  fingerprint: string;
  /** The key's type when the pin names it (a known_hosts line does, a fingerprint does not). */
  type?: string;
}

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/** Reads a pinned host key: `SHA256:...`, `type base64`, or a known_hosts line (`host type base64 [comment]`). */
export function parseHostKeyPin(text: string): HostKeyPin {
  const hint = 'give the target\'s known_hosts line (ssh-keyscan -p PORT HOST prints it) or its SHA256 fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the target)';
  const trimmed = text.trim();
  if (/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(trimmed)) return { fingerprint: trimmed.replace(/=$/, '') };
  if (trimmed.startsWith('@')) throw new PaasError('usage', `the host key ${trimmed.split(/\s/)[0]} entries (certificate authorities, revocations) are not supported: pin the key itself`, { hint });
  const fields = trimmed.split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  const blobText = at >= 0 ? fields[at + 1] : undefined;
  if (at < 0 || at > 1 || !blobText || !/^[A-Za-z0-9+/]+={0,2}$/.test(blobText)) {
    throw new PaasError('usage', 'the host key is neither a SHA256 fingerprint nor a known_hosts line', { hint });
  }
  const blob = Buffer.from(blobText, 'base64');
  if (keyTypeOf(blob) !== fields[at]) throw new PaasError('usage', `the host key says ${fields[at]} but its data is a ${keyTypeOf(blob) || 'malformed'} key`, { hint });
  return { fingerprint: fingerprint(blob), type: fields[at]! };
}

/** The host key algorithms that let a server show the pinned key. */
function hostKeyAlgorithms(type: string | undefined): string[] | undefined {
  if (type === undefined) return undefined;
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type];
}

const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

export class SshTarget implements BackupTarget {
  readonly label: string;
  private readonly address: SshTargetAddress;
  private readonly pin: HostKeyPin;
  private readonly connectMs: number;
  private readonly idleMs: number;

  constructor(private readonly config: SshTargetConfig) {
    this.address = parseSshTargetUrl(config.url);
    this.pin = parseHostKeyPin(config.hostKey);
    if (!config.privateKey || String(config.privateKey).trim() === '') throw new PaasError('usage', 'the SSH target needs the host\'s private key');
    const { user, host, port, dir } = this.address;
    this.label = `sftp://${user}@${host.includes(':') ? `[${host}]` : host}:${port}${dir.startsWith('/') ? dir : `/~/${dir}`}`;
    this.connectMs = config.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs;
    this.idleMs = config.idleTimeoutMs ?? DEFAULT_TIMEOUTS.idleMs;
  }

  private remote(name: string): string {
    return path.posix.join(this.address.dir, name);
  }

  async put(id: string, file: string): Promise<void> {
    checkRemoteId(id);
    const final = this.remote(`${id}${REMOTE_SUFFIX}`);
    // A dot name: a listing skips it; a rename publishes the whole file at once.
    const tmp = this.remote(`.${id}${REMOTE_SUFFIX}.${randomBytes(4).toString('hex')}.tmp`);
    await this.session(`upload ${id}`, id, async (sftp, alive) => {
      await mkdirs(sftp, this.address.dir);
      try {
        await new Promise<void>((resolve, reject) => sftp.fastPut(file, tmp, { mode: 0o600, step: () => alive() }, (error) => (error ? reject(error) : resolve())));
        await syncRemote(sftp, tmp);
        await renameOver(sftp, tmp, final);
      } catch (error) {
        await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
        throw error;
      }
    });
  }

  async list(): Promise<RemoteBackup[]> {
    return this.session('list the backups', undefined, async (sftp) => {
      const entries = await new Promise<{ filename: string; attrs: { size: number; mtime: number; mode: number } }[]>((resolve, reject) =>
        sftp.readdir(this.address.dir, (error, list) => {
          if ((error as { code?: number } | undefined)?.code === SFTP_NO_SUCH_FILE) resolve([]);
          else if (error) reject(error);
          else resolve(list);
        }));
      return entries
        .filter((e) => e.filename.endsWith(REMOTE_SUFFIX) && /^[a-z0-9][a-z0-9-]{0,79}$/.test(e.filename.slice(0, -REMOTE_SUFFIX.length)) && (e.attrs.mode & 0o170000) === 0o100000)
        .map((e) => ({ id: e.filename.slice(0, -REMOTE_SUFFIX.length), size: e.attrs.size, storedAt: new Date(e.attrs.mtime * 1000).toISOString() }))
        .sort((a, b) => a.id.localeCompare(b.id));
    });
  }

  async get(id: string, destFile: string): Promise<void> {
    checkRemoteId(id);
    const source = this.remote(`${id}${REMOTE_SUFFIX}`);
    const tmp = `${destFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await this.session(`download ${id}`, id, async (sftp, alive) => {
        await new Promise<void>((resolve, reject) => sftp.stat(source, (error) => (error ? reject(error) : resolve())));
        // fastGet opens its local file with 'w': make it ours first, exclusively.
        await (await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)).close();
        await new Promise<void>((resolve, reject) => sftp.fastGet(source, tmp, { step: () => alive() }, (error) => (error ? reject(error) : resolve())));
      });
      const handle = await fs.open(tmp, constants.O_RDONLY);
      await handle.sync().finally(() => handle.close());
      await fs.rename(tmp, destFile);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      if (error instanceof PaasError) throw error;
      throw new PaasError('host', `cannot download ${id} from ${this.label} into ${destFile}: ${(error as Error).message}`, { where: destFile, cause: error });
    }
  }

  async remove(id: string): Promise<void> {
    checkRemoteId(id);
    await this.session(`remove ${id}`, id, (sftp) =>
      new Promise<void>((resolve, reject) => sftp.unlink(this.remote(`${id}${REMOTE_SUFFIX}`), (error) => (error ? reject(error) : resolve()))));
  }

  /**
   * Connects, checks the host key, logs in, opens SFTP, runs `work`, closes. `alive()` (called as
   * bytes move) holds off the idle timeout; any step that stalls longer fails the operation.
   */
  private async session<T>(action: string, id: string | undefined, work: (sftp: SFTPWrapper, alive: () => void) => Promise<T>): Promise<T> {
    const client = new Client();
    let offered: Buffer | undefined;
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    let failTimer: (() => void) | undefined;
    const stallPromise = new Promise<never>((_, reject) => {
      failTimer = () => {
        stalled = true;
        client.destroy();
        reject(new Error('stalled'));
      };
    });
    stallPromise.catch(() => {});
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => failTimer!(), this.idleMs);
    };
    const { user, host, port } = this.address;
    const options: ConnectConfig = {
      host,
      port,
      username: user,
      privateKey: this.config.privateKey,
      readyTimeout: this.connectMs,
      keepaliveInterval: Math.min(15_000, this.idleMs),
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        offered = key;
        return fingerprint(key) === this.pin.fingerprint;
      },
      ...(hostKeyAlgorithms(this.pin.type) ? { algorithms: { serverHostKey: hostKeyAlgorithms(this.pin.type) as never } } : {}),
    };
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        // The first error fails the connect; later ones (e.g. 'Connection lost' as it is torn
        // down) surface through the SFTP calls, or do not matter any more.
        client.on('error', reject);
        client.connect(options);
      });
      alive();
      const sftp = await Promise.race([stallPromise, new Promise<SFTPWrapper>((resolve, reject) => client.sftp((error, s) => (error ? reject(error) : resolve(s))))]);
      alive();
      return await Promise.race([stallPromise, work(sftp, alive)]);
    } catch (error) {
      throw this.failure(error, action, id, offered, stalled);
    } finally {
      clearTimeout(timer);
      client.end();
      client.destroy();
    }
  }

  private failure(error: unknown, action: string, id: string | undefined, offered: Buffer | undefined, stalled: boolean): PaasError {
    if (error instanceof PaasError) return error;
    const where = this.label;
    const { user, host, port } = this.address;
    const cannot = `cannot ${action} at ${this.label}`;
    const e = error as { level?: string; code?: number | string; message?: string };
    if (stalled) return new TargetError('timeout', `${cannot}: nothing moved for ${Math.round(this.idleMs / 1000)} s`, { where, hint: 'check the network to the target and that its disk is not full' });
    if (offered && fingerprint(offered) !== this.pin.fingerprint) {
      return new TargetError('host-key', `${cannot}: its host key is ${keyTypeOf(offered)} ${fingerprint(offered)}, not the pinned ${this.pin.fingerprint}: refusing to connect`, {
        where,
        hint: `if the target's key changed on purpose (a reinstall), set the target again with its new known_hosts line (\`ssh-keyscan -p ${port} ${host}\`, checked on the target); otherwise someone may be intercepting the connection`,
      });
    }
    if (e.level === 'client-authentication') {
      return new TargetError('auth', `${cannot}: ${user}@${host} refused the host's backup key`, {
        where,
        hint: `add the host's public key line to ~${user}/.ssh/authorized_keys on the target`,
      });
    }
    if (e.level === 'client-timeout' || /Timed out while waiting for handshake/.test(e.message ?? '')) {
      return new TargetError('timeout', `${cannot}: no SSH handshake within ${Math.round(this.connectMs / 1000)} s`, { where, hint: 'check the host and port, and that a firewall lets the host through' });
    }
    if (typeof e.code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(e.code)) {
      return new TargetError('unreachable', `${cannot}: ${host}:${port} is unreachable (${e.code})`, { where, hint: 'check the host and port, and that sshd runs there' });
    }
    if (e.code === SFTP_NO_SUCH_FILE) return new TargetError('not-found', `${cannot}: there is no backup ${id ?? ''} there`.trimEnd(), { where });
    if (e.code === SFTP_PERMISSION_DENIED) {
      return new TargetError('refused', `${cannot}: permission denied`, { where, hint: `let ${user} write ${this.address.dir} on the target` });
    }
    if (/subsystem|sftp/i.test(e.message ?? '') && e.level === undefined && typeof e.code !== 'number') {
      return new TargetError('refused', `${cannot}: the target does not offer SFTP (${e.message})`, { where, hint: 'enable the sftp subsystem in the target\'s sshd_config' });
    }
    return new TargetError('failure', `${cannot}: ${e.message ?? String(error)}`, { where });
  }
}

async function mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
  const parts = dir.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    if (sub === '' || sub === '.') continue;
    const exists = await new Promise<boolean>((resolve) => sftp.stat(sub, (error) => resolve(!error)));
    if (exists) continue;
    await new Promise<void>((resolve, reject) => sftp.mkdir(sub, { mode: 0o700 }, (error) => {
      if (!error) return resolve();
      // Another writer made it meanwhile.
      sftp.stat(sub, (again) => (again ? reject(error) : resolve()));
    }));
  }
}

/** fsync@openssh.com of a remote file, when the server has it (OpenSSH does). */
async function syncRemote(sftp: SFTPWrapper, file: string): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(file, 'r+', (error, h) => (error ? reject(error) : resolve(h))));
  try {
    await new Promise<void>((resolve, reject) => {
      try {
        sftp.ext_openssh_fsync(handle, (error) => (error ? reject(error) : resolve()));
      } catch {
        resolve(); // the server does not offer the extension
      }
    });
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}

/** posix-rename@openssh.com replaces the target at once; without it, the old file goes first. */
async function renameOver(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(from, to, (error) => (error ? reject(error) : resolve())));
    return;
  } catch (error) {
    if (!/not supported|does not support/i.test((error as Error).message)) throw error;
  }
  await new Promise<void>((resolve) => sftp.unlink(to, () => resolve()));
  await new Promise<void>((resolve, reject) => sftp.rename(from, to, (error) => (error ? reject(error) : resolve())));
}
