import type { ExitCodeName } from '../errors.js';

/**
 * The agent speaks JSON lines on stdout: any number of events, then exactly one result or error.
 * Human text goes to stderr. The exit code is 0 with a result, non-zero with an error.
 */
export type AgentMessage =
  | { type: 'event'; message: string; step?: string }
  | { type: 'result'; data: unknown }
  | { type: 'error'; kind: ExitCodeName; message: string; where?: string; details?: string[]; hint?: string };

/** How a verb reports progress: a line for the user, and the step it belongs to. */
export type Emit = (message: string, step?: string) => void;

export const AGENT_DIR = '/var/lib/paas/agent';

/** Where the agent with this content hash lives on a host: a new build gets a new file. */
export function agentPath(hash: string): string {
  return `${AGENT_DIR}/agent-${hash}.mjs`;
}

/**
 * The unix socket of the standby agent of this build (see agent/standby.ts): a started agent
 * waiting for the next deploy, reached over SSH as a stream-local channel.
 */
export function standbySocket(hash: string): string {
  return `${AGENT_DIR}/standby-${hash}.sock`;
}

/** The first line a client sends a standby agent: what it would have run as argv. */
export interface StandbyRequest { argv: string[] }

/** Verbs a standby agent serves. */
export const STANDBY_VERBS = ['deploy'];
