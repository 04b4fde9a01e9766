import { isIPv4, isIPv6 } from 'node:net';

/*
 * Validators for values that come from paas.yml and, later, from CLI flags. None of them throws:
 * checkX returns an error message (or undefined when valid), parseX returns the parsed value
 * (or undefined when invalid).
 */

const APP_NAME = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$/;
const PROCESS_TYPE = /^[a-z][a-z0-9_-]{0,29}$/;
const CRON_TASK_ID = /^[a-z0-9][a-z0-9_-]{0,29}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOSTNAME_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const SSH_USER = /^[a-z_][a-z0-9_.-]*$/i;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** A value as shown inside a message: quoted, escaped (no raw newlines or escapes), and shortened. */
export function quote(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max - 1)}…` : value);
}

export function checkAppName(name: string): string | undefined {
  if (APP_NAME.test(name)) return undefined;
  return `${quote(name)} is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)`;
}

export function checkProcessType(name: string): string | undefined {
  if (PROCESS_TYPE.test(name)) return undefined;
  return `${quote(name)} is not a valid process type (lowercase letters, digits, dashes and underscores, starting with a letter, at most 30 characters)`;
}

/** The id of a scheduled task: a name in paas.yml `cron:`, or the 8 hex digits paas gives an app.json task. */
export function checkCronTaskId(name: string): string | undefined {
  if (CRON_TASK_ID.test(name)) return undefined;
  return `${quote(name)} is not a valid task name (lowercase letters, digits, dashes and underscores, starting with a letter or digit, at most 30 characters)`;
}

/** Names of environment variables and build arguments. */
export function checkVariableName(name: string): string | undefined {
  if (VARIABLE_NAME.test(name)) return undefined;
  return `${quote(name)} is not a valid variable name (letters, digits and underscores, not starting with a digit)`;
}

/** A DNS name a proxy can route and a certificate can cover: at least two labels, optional leading `*.`. */
export function checkHostname(name: string): string | undefined {
  const wildcard = name.startsWith('*.');
  return checkDnsName(wildcard ? name.slice(2) : name, name, 2);
}

function checkDnsName(name: string, shown: string, minLabels: number): string | undefined {
  const invalid = `${quote(shown)} is not a valid hostname`;
  if (name === '') return `${invalid}: it is empty`;
  if (shown.length > MAX_HOSTNAME_LENGTH) {
    return `${invalid}: it is ${shown.length} characters long, at most ${MAX_HOSTNAME_LENGTH} are allowed`;
  }
  if (/[A-Z]/.test(name)) return `${invalid}: use lowercase (${quote(shown.toLowerCase())})`;
  const badChar = /[^a-z0-9.-]/.exec(name)?.[0];
  if (badChar !== undefined) {
    return `${invalid}: ${describeChar(badChar)} is not allowed (only letters, digits, dashes and dots)`;
  }
  if (name.endsWith('.')) return `${invalid}: remove the trailing dot`;
  const labels = name.split('.');
  if (labels.length < minLabels) return `${invalid}: expected a domain such as shop.example.com`;
  for (const label of labels) {
    const problem = checkLabel(label);
    if (problem) return `${invalid}: ${problem}`;
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return `${invalid}: the last label cannot be all digits`;
  return undefined;
}

function checkLabel(label: string): string | undefined {
  if (label === '') return 'it has an empty label (two dots in a row or a leading dot)';
  if (label.length > MAX_LABEL_LENGTH) return `the label ${quote(label, 20)} is longer than ${MAX_LABEL_LENGTH} characters`;
  if (!HOSTNAME_LABEL.test(label)) return `the label ${quote(label)} starts or ends with a dash`;
  return undefined;
}

function describeChar(char: string): string {
  if (char === ' ') return 'a space';
  if (char === '\n' || char === '\r') return 'a line break';
  if (char === '*') return 'a "*" other than a leading "*."';
  return quote(char);
}

const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;
const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '5s', '500ms', '2m', '1h', '1.5s' or a bare number of seconds → milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * MS_PER_UNIT[match[2] ?? 's']!);
}

const MEMORY = /^(\d+(?:\.\d+)?)([kmgt])?(?:i?b)?$/i;
const BYTES_PER_UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '512m', '1g', '256M', '1024k', '1.5GiB' (binary units, as Docker reads them) or a bare number of bytes → bytes. */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const match = MEMORY.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * BYTES_PER_UNIT[(match[2] ?? '').toLowerCase()]!);
}

export interface HostUrl {
  user?: string;
  host: string;
  port?: number;
}

// ssh://[user@]host[:port] where host may be [ipv6]; without the scheme only [user@]host.
const SSH_URL = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]/]+\]|[^@/:[\]]+)(?::(\d{1,5}))?$/i;
const USER_AT_HOST = /^(?:([^@/]+)@)?([^@/:[\]]+)$/;

export function parseHostUrl(value: string): HostUrl | undefined {
  const match = SSH_URL.exec(value) ?? USER_AT_HOST.exec(value);
  if (!match) return undefined;
  const [, user, rawHost = '', rawPort] = match;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const hostValid = rawHost.startsWith('[') ? isIPv6(host) : isIPv4(host) || checkDnsName(host, host, 1) === undefined;
  if (!hostValid) return undefined;
  if (user !== undefined && !SSH_USER.test(user)) return undefined;
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { ...(user !== undefined && { user }), host, ...(port !== undefined && { port }) };
}
