import { PaasError, type ExitCodeName } from '../../errors.js';

/*
 * An off-host place for backup files (already encrypted: a target only moves bytes). Every
 * operation is bounded in time. Credentials come from the caller, who keeps them encrypted; a
 * target never logs them nor puts them in an error message or a command line.
 */

export interface RemoteBackup {
  id: string;
  /** Bytes stored. */
  size: number;
  /** When the target stored it (ISO 8601); the backup's own date is in its header. */
  storedAt: string;
}

export interface BackupTarget {
  /** Where, for messages: `s3://bucket/prefix at https://endpoint`, `sftp://user@host:port/path`. */
  readonly label: string;
  /** Uploads `file` as the backup `id` (replacing one of that id); a reader never sees half of it. */
  put(id: string, file: string): Promise<void>;
  /** The backups stored, by id. */
  list(): Promise<RemoteBackup[]>;
  /** Downloads the backup `id` to `destFile` (through a temp file next to it). */
  get(id: string, destFile: string): Promise<void>;
  /** Removes the backup `id`; one that is not there is a 'not-found' TargetError. */
  remove(id: string): Promise<void>;
}

export type TargetProblem = 'unreachable' | 'timeout' | 'auth' | 'host-key' | 'not-found' | 'refused' | 'failure';

const KINDS: Record<TargetProblem, ExitCodeName> = {
  unreachable: 'failure',
  timeout: 'failure',
  auth: 'failure',
  'host-key': 'hostKey',
  'not-found': 'failure',
  refused: 'failure',
  failure: 'failure',
};

/** A target's failure; `problem` says which kind, for callers that act on it. */
export class TargetError extends PaasError {
  readonly problem: TargetProblem;

  constructor(problem: TargetProblem, message: string, options: { where?: string; hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(KINDS[problem], message, options);
    this.problem = problem;
  }
}

/** Backup ids as targets store them (the same rule as archive.ts: they are file names). */
export function checkRemoteId(id: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,79}$/.test(id)) throw new PaasError('usage', `invalid backup id ${JSON.stringify(id)}`);
}

export const REMOTE_SUFFIX = '.backup';

export const DEFAULT_TIMEOUTS = {
  /** To connect and log in. */
  connectMs: 15_000,
  /** The longest a transfer may stall (no byte moving) before it fails. */
  idleMs: 60_000,
};
