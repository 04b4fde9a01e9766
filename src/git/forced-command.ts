import { checkAppName, quote } from '../config/validators.js';

/*
 * What a key of the host's `paas` user may run. sshd runs the agent as the key's forced command
 * and puts what the client asked for in $SSH_ORIGINAL_COMMAND; only git's own push and fetch of
 * one app get through. Pure, and bundled into the host agent.
 */

export type GitService = 'git-receive-pack' | 'git-upload-pack';

export type GitCommand = { service: GitService; app: string } | { refused: string };

/** What every refusal ends with: the only things a key may do. */
export const ALLOWED = 'this key may only git push / git fetch apps: git push paas@host:<app> main';

export const NO_SHELL = 'paas: no shell here. Push with: git push paas main';

/** How git invokes the service over SSH: the service, one space, the path in single quotes. */
const GIT_COMMAND = /^(git-receive-pack|git-upload-pack|git receive-pack|git upload-pack) '([^']*)'$/;
const MAX_LENGTH = 512;

/**
 * `git-receive-pack '<app>'` (push) or `git-upload-pack '<app>'` (fetch), also written with a space
 * after `git`, where the path may be `<app>`, `/<app>`, `<app>.git` or `/<app>.git`. Anything else,
 * an empty command (a shell) included, is refused with a message for stderr.
 */
export function parseGitCommand(original: string | undefined): GitCommand {
  if (original === undefined || original.trim() === '') return { refused: NO_SHELL };
  if (original.length > MAX_LENGTH || /[\0-\x1f\x7f]/.test(original)) {
    return { refused: `paas: refused a command with control characters or too long; ${ALLOWED}` };
  }
  const match = GIT_COMMAND.exec(original);
  if (!match) return { refused: `paas: refused ${quote(original)}; ${ALLOWED}` };
  const service: GitService = match[1]!.includes('receive') ? 'git-receive-pack' : 'git-upload-pack';
  const path = match[2]!;
  let app = path.startsWith('/') ? path.slice(1) : path;
  if (app.endsWith('.git')) app = app.slice(0, -'.git'.length);
  if (checkAppName(app) !== undefined) {
    return { refused: `paas: ${quote(path)} is not an app (app names are lowercase letters, digits and dashes, starting with a letter); ${ALLOWED}` };
  }
  return { service, app };
}
