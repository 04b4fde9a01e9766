import type { BalanceStrategy } from '../config/types.js';
import { BALANCE_STRATEGIES } from '../config/types.js';
import { checkAppName, checkHostname } from '../config/validators.js';

export interface Upstream {
  port: number;
  /** Relative weight for the `weighted` strategy. */
  weight?: number;
}

/** What nginx's config holds for an app: only its names. Releases change routes, not config. */
export interface AppSite {
  app: string;
  /** Host names nginx routes to the app: <app>.<base domain> and its domains. */
  serverNames: string[];
  /** HTTPS for the names a certificate covers. */
  tls?: SiteTls;
}

/** An app's certificate on the host, and the names it serves over HTTPS. */
export interface SiteTls {
  /** Absolute path of the certificate (PEM, leaf first, then its chain) on the host. */
  certFile: string;
  /** Absolute path of the certificate's private key (PEM, no passphrase) on the host. */
  keyFile: string;
  /** Answer plain-HTTP requests for the covered names with a 308 to https://. */
  redirect: boolean;
  /** The app's names the certificate covers: a subset of the site's serverNames. */
  serverNames: string[];
}

/** Where an app's traffic goes now: the release's web replicas and how to spread requests. */
export interface AppRoutes {
  version: number;
  balance: BalanceStrategy;
  upstreams: Upstream[];
}

export const ROUTES_DIR = '/var/lib/paas/routes';
export const LUA_DIR = '/var/lib/paas/nginx/lua';
/** Host name of the loopback-only server the agent talks to (routes, configuration generation). */
export const AGENT_HOST = 'paas-agent.invalid';

/**
 * A path each of an app's servers answers itself, to the agent only (loopback), with the app's
 * name: the agent asks nginx, for every name, which app really answers it before it says "live".
 */
export const PROBE_PATH = '/.well-known/paas/app';

export function probeAnswer(app: string): string {
  return `paas app ${app}`;
}

function probeLocation(app: string): string[] {
  return [
    `    location = ${PROBE_PATH} {`,
    '        if ($remote_addr != "127.0.0.1") { return 404; }',
    '        default_type text/plain;',
    `        return 200 "${probeAnswer(app)}\\n";`,
    '    }',
  ];
}

/** The names of the `server_name` lines of a site file the agent wrote. */
export function siteNames(text: string): string[] {
  return [...new Set([...text.matchAll(/^\s*server_name ([^;]+);$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)))];
}

/** nginx accepts `localhost`-style single labels; every name must still be a clean hostname. */
function checkServerName(name: string): string | undefined {
  return /^[a-z0-9-]+$/.test(name) && name.length <= 63 ? undefined : checkHostname(name);
}

function checkApp(app: string): void {
  const problem = checkAppName(app);
  if (problem) throw new Error(`invalid app name ${JSON.stringify(app)}: ${problem}`);
}

export function upstreamName(app: string): string {
  return `paas_${app.replace(/-/g, '_')}`;
}

/**
 * The nginx file that serves an app. Every value in it is checked here too, whatever the
 * caller validated: nothing reaches nginx's config except app names, hostnames and (with TLS)
 * plain absolute file paths. The peer is chosen per request by the paas Lua module from the
 * app's routes (renderRoutes).
 *
 * With `tls`: the names the certificate covers are served on 443 as well, proxied exactly like on
 * 80; with `redirect`, port 80 answers them with a 308 to https:// instead (names the certificate
 * does not cover stay plain HTTP). There is no ACME challenge path: certificates come from the user.
 */
export function renderAppConfig(site: AppSite): string {
  checkApp(site.app);
  if (site.serverNames.length === 0) throw new Error('an app needs at least one host name');
  for (const name of site.serverNames) {
    const problem = checkServerName(name);
    if (problem) throw new Error(`invalid host name ${JSON.stringify(name)}: ${problem}`);
  }
  const tls = site.tls === undefined ? undefined : checkTls(site.tls, site.serverNames);
  const upstream = upstreamName(site.app);
  const covered = new Set(tls?.serverNames ?? []);
  /** Names still proxied on port 80: all of them, unless covered ones are redirected to HTTPS. */
  const plain = tls?.redirect ? site.serverNames.filter((name) => !covered.has(name)) : site.serverNames;
  const servers: string[][] = [];
  if (plain.length > 0) {
    servers.push(['server {', '    listen 80;', `    server_name ${plain.join(' ')};`, ...probeLocation(site.app), ...proxyLocation(site.app, upstream), '}']);
  }
  if (tls) {
    if (tls.redirect) {
      servers.push([
        'server {',
        '    listen 80;',
        `    server_name ${tls.serverNames.join(' ')};`,
        ...probeLocation(site.app),
        '    location / { return 308 https://$host$request_uri; }',
        '}',
      ]);
    }
    servers.push([
      'server {',
      '    listen 443 ssl;',
      `    server_name ${tls.serverNames.join(' ')};`,
      `    ssl_certificate ${tls.certFile};`,
      `    ssl_certificate_key ${tls.keyFile};`,
      '    ssl_protocols TLSv1.2 TLSv1.3;',
      '    # One cache for every app (same name and size in each server, as nginx requires).',
      '    ssl_session_cache shared:paas_ssl:10m;',
      '    ssl_session_timeout 1h;',
      ...proxyLocation(site.app, upstream),
      '}',
    ]);
  }
  return [
    `# paas: app ${site.app}. Generated by the paas agent; changes here are overwritten.`,
    `upstream ${upstream} {`,
    '    # A placeholder that refuses: the paas Lua module picks the real peer of each request.',
    '    server 127.0.0.1:9;',
    `    balancer_by_lua_block { require("paas").balance("${site.app}") }`,
    '    keepalive 32;',
    '}',
    '',
    ...servers.flatMap((server) => [...server, '']),
  ].join('\n');
}

/** How every server of an app (HTTP and HTTPS) proxies: the same block, whatever the port. */
function proxyLocation(app: string, upstream: string): string[] {
  return [
    '    location / {',
    `        proxy_pass http://${upstream};`,
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '        proxy_next_upstream error timeout http_502 http_503;',
    `        log_by_lua_block { require("paas").done("${app}") }`,
    '    }',
  ];
}

/** A path that lands in nginx's config as is: absolute, plain characters, no `..`. */
function checkTlsPath(what: string, file: string): void {
  const problem = !file.startsWith('/')
    ? 'it must be an absolute path'
    : !/^\/[A-Za-z0-9._/-]+$/.test(file)
      ? 'only letters, digits, ".", "_", "-" and "/" are allowed'
      : file.split('/').includes('..')
        ? 'it must not contain a ".." segment'
        : undefined;
  if (problem) throw new Error(`invalid ${what} ${JSON.stringify(file)}: ${problem}`);
}

function checkTls(tls: SiteTls, serverNames: string[]): SiteTls {
  checkTlsPath('certificate file', tls.certFile);
  checkTlsPath('key file', tls.keyFile);
  if (typeof tls.redirect !== 'boolean') throw new Error(`invalid redirect ${JSON.stringify(tls.redirect)}: expected true or false`);
  if (tls.serverNames.length === 0) throw new Error('a certificate needs at least one host name it covers');
  const seen = new Set<string>();
  for (const name of tls.serverNames) {
    if (!serverNames.includes(name)) {
      throw new Error(`the certificate's host name ${JSON.stringify(name)} is not one of the app's (${serverNames.join(', ')})`);
    }
    if (seen.has(name)) throw new Error(`the certificate's host name ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
  }
  return tls;
}

/** The app's route file: the release and its web replicas' loopback ports. */
export function renderRoutes(routes: AppRoutes): string {
  if (!Number.isInteger(routes.version) || routes.version < 0) throw new Error(`invalid version ${routes.version}`);
  if (!BALANCE_STRATEGIES.includes(routes.balance)) throw new Error(`invalid balance ${JSON.stringify(routes.balance)}`);
  for (const { port, weight } of routes.upstreams) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
    if (weight !== undefined && (!Number.isInteger(weight) || weight < 1 || weight > 1000)) throw new Error(`invalid weight ${weight}`);
  }
  return [
    `version ${routes.version}`,
    `balance ${routes.balance}`,
    ...routes.upstreams.map(({ port, weight }) => `peer ${port} ${weight ?? 1}`),
    '',
  ].join('\n');
}

/** Answers requests for host names no app claims. */
export function renderDefaultServer(): string {
  return [
    '# paas: requests for host names that no app serves. Generated by the paas agent.',
    'server {',
    '    listen 80 default_server;',
    '    server_name _;',
    '    default_type text/plain;',
    '    return 404 "no app is served at this host name\\n";',
    '}',
    '',
  ].join('\n');
}

/**
 * The loopback-only server of the agent: /generation answers the configuration's token (so the
 * agent sees when a reload took effect: reload is asynchronous), /routes/<app> loads the app's
 * route file into nginx's shared memory (no reload) and answers the version now routed.
 */
export function renderAgentServer(token: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(token)) throw new Error(`invalid generation token ${JSON.stringify(token)}`);
  return [
    '# paas: the agent\'s loopback-only server. Generated by the paas agent.',
    'server {',
    '    listen 80;',
    `    server_name ${AGENT_HOST};`,
    '    # `return` runs before allow/deny would, so the loopback check must be a rewrite too.',
    '    if ($remote_addr != "127.0.0.1") { return 404; }',
    '    access_log off;',
    '    default_type text/plain;',
    `    location = /generation { return 200 "${token}"; }`,
    '    location ~ "^/routes/([a-z][a-z0-9-]*)$" { content_by_lua_block { require("paas").refresh(ngx.var[1]) } }',
    '}',
    '',
  ].join('\n');
}

/** What paas adds to nginx's own configuration (conf.d is included inside http {}). */
export function renderInclude(nginxDir: string): string {
  return [
    '# paas: apps routed by the paas agent',
    'lua_shared_dict paas_routes 4m;',
    `lua_package_path "${LUA_DIR}/?.lua;;";`,
    `include ${nginxDir}/*.conf;`,
    '',
  ].join('\n');
}

/**
 * The catch-all HTTPS server, present once any app has a certificate: a TLS client asking for a
 * name no certificate covers has its handshake refused, instead of getting another app's
 * certificate (nginx's first 443 server would otherwise answer every name). nginx >= 1.19.4.
 */
export function renderDefaultTlsServer(): string {
  return [
    '# paas: HTTPS for host names that no certificate covers: the handshake is refused. Generated by the paas agent.',
    'server {',
    '    listen 443 ssl default_server;',
    '    server_name _;',
    '    ssl_reject_handshake on;',
    '    # The default server of a port decides the protocols of every handshake on it (before SNI picks the app).',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '}',
    '',
  ].join('\n');
}
