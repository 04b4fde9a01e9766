import { GIT_USER } from './user.js';
import type { HostAddress } from '../ssh/connect.js';

/** ssh://paas@HOST[:PORT]/APP: the git user, whatever user paas itself connects as. */
export function gitRemoteUrl(address: Pick<HostAddress, 'host' | 'port'>, app: string): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ssh://${GIT_USER}@${host}${address.port === 22 ? '' : `:${address.port}`}/${app}`;
}
