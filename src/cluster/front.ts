/**
 * The front balancer: one nginx server in front of a cluster's nodes (each a paas host whose own
 * nginx routes apps by Host), so that clients see one address. Pure: node addresses and options
 * in, nginx configuration text out; every value that reaches nginx is checked here first.
 *
 * Health checks are passive (nginx's max_fails/fail_timeout): a node whose connection fails or
 * times out (or answers 502/503/504) is taken out for fail_timeout, and the request is retried
 * on the next node, up to one try per node. See docs/cluster.md, "Front balancer".
 */
import net from 'node:net';
import { checkHostname } from '../config/validators.js';

/** A node as the front reaches it. */
export interface FrontNode {
  /** An IPv4 or IPv6 literal (without brackets) or a DNS name, lowercase. */
  host: string;
  port: number;
}

export interface FrontOptions {
  /** Seconds to wait for a node's TCP connection before trying the next one. */
  connectTimeout: number;
  /** Seconds a node is taken out after a failed try. */
  failTimeout: number;
}

export const FRONT_DEFAULTS: FrontOptions = { connectTimeout: 1, failTimeout: 10 };
export const MAX_FRONT_NODES = 32;
export const DEFAULT_NODE_PORT = 80;

/** The file name of the front's server in paas's nginx directory. */
export const FRONT_FILE_NAME = '000-front.conf';

const problem = (address: string, why: string) => new Error(`invalid node address ${JSON.stringify(address.slice(0, 80))}: ${why}`);

function checkPort(address: string, port: string | undefined): number {
  if (port === undefined) return DEFAULT_NODE_PORT;
  if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535) throw problem(address, 'the port must be a whole number from 1 to 65535');
  return Number(port);
}

/** One node address: IPv4[:port], [IPv6][:port], a bare IPv6, or a DNS name[:port]. */
export function parseNode(address: string): FrontNode {
  if (typeof address !== 'string' || address === '') throw problem(String(address), 'it is empty');
  if (address.length > 300) throw problem(address, 'it is too long');
  if (/[^A-Za-z0-9.:[\]-]/.test(address)) {
    const bad = /[^A-Za-z0-9.:[\]-]/.exec(address)![0];
    throw problem(address, `${JSON.stringify(bad)} is not allowed (give IP, [IPv6] or a DNS name, with an optional :PORT)`);
  }
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(address);
  if (bracketed) {
    const [, ip = '', port] = bracketed;
    if (!net.isIPv6(ip)) throw problem(address, `${JSON.stringify(ip)} is not an IPv6 address`);
    return { host: ip.toLowerCase(), port: checkPort(address, port) };
  }
  if (net.isIPv6(address)) return { host: address.toLowerCase(), port: DEFAULT_NODE_PORT };
  const parts = address.split(':');
  if (parts.length > 2) throw problem(address, 'write an IPv6 address with a port as [ADDRESS]:PORT');
  const [host = '', port] = parts;
  const port_ = checkPort(address, port);
  if (/^[0-9.]+$/.test(host)) {
    if (!net.isIPv4(host)) throw problem(address, `${JSON.stringify(host)} is not an IPv4 address`);
    return { host, port: port_ };
  }
  const name = host.toLowerCase();
  // A single label (a swarm node's short name) is allowed; checkHostname wants two.
  const why = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ? undefined : checkHostname(name);
  if (why) throw problem(address, why);
  return { host: name, port: port_ };
}

/** The node as nginx writes it: host:port, IPv6 in brackets. */
export function nodeAddress(node: FrontNode): string {
  return `${net.isIPv6(node.host) ? `[${node.host}]` : node.host}:${node.port}`;
}

/** The checked node list: at least one, at most MAX_FRONT_NODES, none twice (after normalising). */
export function parseNodes(addresses: string[]): FrontNode[] {
  if (addresses.length === 0) throw new Error('a front balancer needs at least one node');
  if (addresses.length > MAX_FRONT_NODES) throw new Error(`a front balancer takes at most ${MAX_FRONT_NODES} nodes, ${addresses.length} given`);
  const seen = new Map<string, string>();
  const nodes: FrontNode[] = [];
  for (const address of addresses) {
    const node = parseNode(address);
    const key = nodeAddress(node);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new Error(`the node ${key} is given twice (${JSON.stringify(earlier)} and ${JSON.stringify(address)})`);
    seen.set(key, address);
    nodes.push(node);
  }
  return nodes;
}

export function checkFrontOptions(options: Partial<FrontOptions>): FrontOptions {
  const chosen = { ...FRONT_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as FrontOptions;
  if (!Number.isInteger(chosen.connectTimeout) || chosen.connectTimeout < 1 || chosen.connectTimeout > 60) {
    throw new Error(`invalid connect timeout ${JSON.stringify(chosen.connectTimeout)}: give whole seconds from 1 to 60`);
  }
  if (!Number.isInteger(chosen.failTimeout) || chosen.failTimeout < 1 || chosen.failTimeout > 3600) {
    throw new Error(`invalid fail timeout ${JSON.stringify(chosen.failTimeout)}: give whole seconds from 1 to 3600`);
  }
  return chosen;
}

const HEADER = '# paas front balancer. Generated by the paas agent (paas cluster:front); do not edit.';

/** The front's nginx configuration (a file included in nginx's http {}), serving port 80. */
export function renderFront(addresses: string[], options: Partial<FrontOptions> = {}): string {
  const nodes = parseNodes(addresses);
  const { connectTimeout, failTimeout } = checkFrontOptions(options);
  return [
    HEADER,
    `# options: connect-timeout ${connectTimeout} fail-timeout ${failTimeout}`,
    'map $http_upgrade $paas_front_connection {',
    '    default upgrade;',
    '    "" "";',
    '}',
    '',
    'upstream paas_front_nodes {',
    ...nodes.map((node) => `    server ${nodeAddress(node)} max_fails=1 fail_timeout=${failTimeout}s;`),
    '    keepalive 64;',
    '}',
    '',
    'server {',
    '    listen 80 default_server;',
    '    server_name _;',
    '    location / {',
    '        proxy_pass http://paas_front_nodes;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Host $host;',
    '        proxy_set_header Upgrade $http_upgrade;',
    '        proxy_set_header Connection $paas_front_connection;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '        proxy_set_header X-Forwarded-Host $host;',
    `        proxy_connect_timeout ${connectTimeout}s;`,
    '        proxy_next_upstream error timeout http_502 http_503 http_504;',
    `        proxy_next_upstream_tries ${nodes.length};`,
    '        proxy_next_upstream_timeout 30s;',
    '        proxy_read_timeout 300s;',
    '        proxy_send_timeout 300s;',
    '        client_max_body_size 0;',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** What a front file says: its nodes and options (the agent's own file, for front-show). */
export function parseFront(text: string): { nodes: string[]; options: FrontOptions } | undefined {
  if (!text.startsWith(HEADER)) return undefined;
  const [, connect, fail] = /^# options: connect-timeout (\d+) fail-timeout (\d+)$/m.exec(text) ?? [];
  const nodes = [...text.matchAll(/^ {4}server (\S+) max_fails=/gm)].map((m) => m[1]!);
  return { nodes, options: { connectTimeout: Number(connect ?? FRONT_DEFAULTS.connectTimeout), failTimeout: Number(fail ?? FRONT_DEFAULTS.failTimeout) } };
}
