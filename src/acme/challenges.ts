// HTTP-01 challenge answers (RFC 8555 §8.3) as files in a directory the agent owns: one file per
// token, named by the token, holding its key authorization. nginx will serve that directory at
// /.well-known/acme-challenge/<token>. A key authorization is public (the CA and
// anyone else may fetch it over plain HTTP): the files are 0644, the directory 0755, so that
// nginx's workers can read them. Tokens are checked before they become file names.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { ROOT, writeAtomic } from '../agent/state.js';

/** Where the agent keeps the answers (the `alias` of nginx's challenge location). */
export const CHALLENGES_DIR = path.join(ROOT, 'acme', 'challenges');

export { CHALLENGE_PATH_PREFIX } from '../nginx/config.js';
import { CHALLENGE_PATH_PREFIX } from '../nginx/config.js';

/** Tokens are base64url (RFC 8555 §8.1: at least 128 bits of entropy; Let's Encrypt's are 43 characters). */
export const TOKEN_MAX_LENGTH = 128;
const TOKEN = /^[A-Za-z0-9_-]+$/;
/** A key authorization: `token.base64url(JWK thumbprint)` (§8.1). */
const KEY_AUTHORIZATION = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{1,128})$/;

/** Why `token` cannot be a challenge token, or undefined. */
export function checkToken(token: unknown): string | undefined {
  if (typeof token !== 'string' || token === '') return 'is empty';
  if (token.length > TOKEN_MAX_LENGTH) return `is ${token.length} characters long, at most ${TOKEN_MAX_LENGTH} are allowed`;
  if (!TOKEN.test(token)) return 'holds characters other than base64url (A-Z a-z 0-9 - _)';
  return undefined;
}

function assertToken(token: string): void {
  const problem = checkToken(token);
  if (problem) throw new PaasError('usage', `invalid ACME challenge token ${JSON.stringify(token.slice(0, 40))}: ${problem}`);
}

/** Why `keyAuthorization` is not the key authorization of `token`, or undefined. */
export function checkKeyAuthorization(token: string, keyAuthorization: string): string | undefined {
  const match = KEY_AUTHORIZATION.exec(keyAuthorization);
  if (!match) return 'is not of the form <token>.<base64url thumbprint>';
  if (match[1] !== token) return 'is for another token';
  return undefined;
}

/** The file holding the answer for `token` in `dir`. */
export function challengeFile(dir: string, token: string): string {
  assertToken(token);
  return path.join(dir, token);
}

/** The token a request path asks for (`/.well-known/acme-challenge/<token>`), or undefined. */
export function tokenFromUrlPath(urlPath: string): string | undefined {
  const pathname = urlPath.split('?')[0]!;
  if (!pathname.startsWith(CHALLENGE_PATH_PREFIX)) return undefined;
  const token = pathname.slice(CHALLENGE_PATH_PREFIX.length);
  return checkToken(token) === undefined ? token : undefined;
}

/** Stores the answer for `token` (atomically: nginx never serves half a file). */
export async function writeChallenge(dir: string, token: string, keyAuthorization: string): Promise<void> {
  const file = challengeFile(dir, token);
  const problem = checkKeyAuthorization(token, keyAuthorization);
  if (problem) throw new PaasError('failure', `the key authorization for the ACME challenge ${token} ${problem}`);
  // writeAtomic creates missing directories 0700: create ours first, readable by nginx.
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await writeAtomic(file, keyAuthorization, 0o644);
}

/** The stored answer for `token`, or undefined (an invalid token has none). */
export async function readChallenge(dir: string, token: string): Promise<string | undefined> {
  if (checkToken(token) !== undefined) return undefined;
  try {
    return await fs.readFile(path.join(dir, token), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Removes the answer for `token`; one that is not there is fine. */
export async function removeChallenge(dir: string, token: string): Promise<void> {
  await fs.rm(challengeFile(dir, token), { force: true });
}

/** The store as the `challenge` hooks of issueCertificate. */
export function challengeStore(dir: string = CHALLENGES_DIR): { set(token: string, keyAuthorization: string): Promise<void>; remove(token: string): Promise<void> } {
  return {
    set: (token, keyAuthorization) => writeChallenge(dir, token, keyAuthorization),
    remove: (token) => removeChallenge(dir, token),
  };
}
