import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { PaasError } from '../errors.js';

/** What paas logs in with: a private key, an ssh-agent, or both. */
export interface Identity {
  privateKey?: Buffer;
  /** Path of the ssh-agent socket. */
  agent?: string;
  /** Where it came from, for messages: '--identity /x/id', 'PAAS_SSH_KEY', '~/.ssh/id_ed25519', ... */
  source: string;
}

const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The first of: --identity FILE, $PAAS_SSH_KEY (the key text), $PAAS_IDENTITY (a file),
 * ssh-agent ($SSH_AUTH_SOCK), ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
 */
export async function resolveIdentity(options: { identity?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Identity> {
  const env = options.env ?? process.env;
  if (options.identity) return readKeyFile(options.identity, `--identity ${options.identity}`);
  if (env.PAAS_SSH_KEY) {
    // CI secret stores often hold a one-line value with literal \n sequences.
    const text = env.PAAS_SSH_KEY.includes('\n') ? env.PAAS_SSH_KEY : env.PAAS_SSH_KEY.replace(/\\n/g, '\n');
    return { privateKey: checkKey(Buffer.from(text), 'PAAS_SSH_KEY'), source: 'PAAS_SSH_KEY' };
  }
  if (env.PAAS_IDENTITY) return readKeyFile(env.PAAS_IDENTITY, `PAAS_IDENTITY (${env.PAAS_IDENTITY})`);

  const defaultKey = await findDefaultKey();
  if (env.SSH_AUTH_SOCK) {
    const agent: Identity = { agent: env.SSH_AUTH_SOCK, source: 'ssh-agent ($SSH_AUTH_SOCK)' };
    // Offered as well, in case the agent does not hold it; a key needing a passphrase is left to the agent.
    if (!defaultKey || !canLogInWith(defaultKey.privateKey)) return agent;
    return { ...agent, privateKey: defaultKey.privateKey, source: `${agent.source} and ${defaultKey.source}` };
  }
  if (defaultKey) return { privateKey: checkKey(defaultKey.privateKey, defaultKey.source, defaultKey.file), source: defaultKey.source };

  throw new PaasError('ssh', 'no SSH key to log in with', {
    hint: 'pass --identity FILE, set PAAS_IDENTITY=FILE or PAAS_SSH_KEY (the private key itself), ' +
      'load a key into ssh-agent (ssh-add), or create ~/.ssh/id_ed25519 (ssh-keygen -t ed25519)',
  });
}

async function findDefaultKey(): Promise<{ privateKey: Buffer; file: string; source: string } | undefined> {
  for (const name of DEFAULT_KEY_NAMES) {
    const file = path.join(os.homedir(), '.ssh', name);
    const privateKey = await fs.readFile(file).catch(() => undefined);
    if (privateKey) return { privateKey, file, source: `~/.ssh/${name}` };
  }
  return undefined;
}

async function readKeyFile(file: string, source: string): Promise<Identity> {
  const resolved = file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
  let privateKey: Buffer;
  try {
    privateKey = await fs.readFile(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`;
    throw new PaasError('usage', `the key file ${resolved} ${problem}`, {
      where: source,
      hint: 'give the path of a private key such as ~/.ssh/id_ed25519 (not the .pub file), or create one with ssh-keygen -t ed25519',
      cause: error,
    });
  }
  return { privateKey: checkKey(privateKey, source, resolved), source };
}

function canLogInWith(privateKey: Buffer): boolean {
  const parsed = ssh2.utils.parseKey(privateKey);
  return !(parsed instanceof Error) && parsed.isPrivateKey();
}

/** Returns the key if ssh2 can log in with it as it is. */
function checkKey(privateKey: Buffer, source: string, file?: string): Buffer {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    if (/passphrase|encrypted/i.test(parsed.message)) {
      throw new PaasError('usage', `the key ${source} is protected by a passphrase`, {
        hint: file
          ? `load it into ssh-agent (ssh-add ${file}) and run again`
          : 'load it into ssh-agent (ssh-add FILE) and run again, or store a key without a passphrase',
      });
    }
    throw new PaasError('usage', `${source} is not a private key ssh2 can read: ${parsed.message}`, {
      hint: 'use an OpenSSH or PEM private key (ed25519, ecdsa or rsa), e.g. one made by ssh-keygen -t ed25519',
    });
  }
  if (!parsed.isPrivateKey()) {
    throw new PaasError('usage', `${source} is a public key, not a private key`, {
      hint: 'use the private key: the same file name without .pub',
    });
  }
  return privateKey;
}
