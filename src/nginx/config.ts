import type { BalanceStrategy } from '../config/types.js';
import { BALANCE_STRATEGIES } from '../config/types.js';
import { checkAppName, checkHostname } from '../config/validators.js';

export interface Upstream {
  port: number;
  /** IPv4 address of a Swarm task's node; absent: a container on this host (127.0.0.1). */
  address?: string;
  /** Relative weight for the `weighted` strategy. */
  weight?: number;
}

/** What the host's nginx serves for an app: its names, and HTTPS for those its certificate covers. */
export interface AppSite {
  app: string;
  /** Host names routed to the app: <app>.<base domain> and its domains. */
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
  /** Answer plain-HTTP requests for the covered names with a 308 to https:// (the ACME challenge path excepted). */
  redirect: boolean;
  /** The app's names the certificate covers: a subset of the site's serverNames. */
  serverNames: string[];
  /** Strict-Transport-Security max-age (seconds) sent over HTTPS; none when absent or 0. */
  hstsMaxAge?: number;
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

/** The table of every app's names and certificates the Lua module routes by (see PAAS_LUA). */
export const SITES_FILE = `${ROUTES_DIR}/_sites`;
/** The URL path prefix of the ACME HTTP-01 answers (RFC 8555 §8.3), served from the challenges directory. */
export const CHALLENGE_PATH_PREFIX = '/.well-known/acme-challenge/';
/** One year: what `--hsts` sends as Strict-Transport-Security max-age. */
export const HSTS_MAX_AGE = 31_536_000;

/** nginx accepts `localhost`-style single labels; every name must still be a clean hostname. */
function checkServerName(name: string): string | undefined {
  return /^[a-z0-9-]+$/.test(name) && name.length <= 63 ? undefined : checkHostname(name);
}

function checkApp(app: string): void {
  const problem = checkAppName(app);
  if (problem) throw new Error(`invalid app name ${JSON.stringify(app)}: ${problem}`);
}

/** A path that goes into nginx's data as is: absolute, plain characters, no `..`. */
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
  if (tls.hstsMaxAge !== undefined && (!Number.isInteger(tls.hstsMaxAge) || tls.hstsMaxAge < 0 || tls.hstsMaxAge > 2 * HSTS_MAX_AGE)) {
    throw new Error(`invalid HSTS max-age ${JSON.stringify(tls.hstsMaxAge)}: expected whole seconds from 0 to ${2 * HSTS_MAX_AGE}`);
  }
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

/** Checks one app's site as it goes into the sites table: nothing reaches nginx but app names, hostnames and plain paths. */
export function checkSite(site: AppSite): AppSite {
  checkApp(site.app);
  if (site.serverNames.length === 0) throw new Error('an app needs at least one host name');
  const seen = new Set<string>();
  for (const name of site.serverNames) {
    const problem = checkServerName(name);
    if (problem) throw new Error(`invalid host name ${JSON.stringify(name)}: ${problem}`);
    if (seen.has(name)) throw new Error(`the host name ${JSON.stringify(name)} is listed twice for ${site.app}`);
    seen.add(name);
  }
  if (site.tls !== undefined) checkTls(site.tls, site.serverNames);
  return site;
}

/**
 * The sites table: every app's names, which of them are served over HTTPS (and redirected), its
 * certificate files and HSTS. nginx's Lua module routes each request and picks each handshake's
 * certificate from it, so a domain, a certificate or a whole app changes this file and no nginx
 * configuration. A name belongs to one app; `generation` tells the agent which table nginx holds.
 *
 *   generation <token>
 *   app <app> <hsts max-age> [<cert file> <key file>]
 *   name <host name> <app> <https 0|1> <redirect 0|1>
 */
export function renderSites(sites: AppSite[], generation: string): string {
  checkToken(generation);
  const owners = new Map<string, string>();
  const lines = [`generation ${generation}`];
  for (const site of [...sites].sort((a, b) => a.app.localeCompare(b.app))) {
    checkSite(site);
    if (sites.filter((s) => s.app === site.app).length > 1) throw new Error(`the app ${site.app} is in the sites table twice`);
    const tls = site.tls;
    lines.push(`app ${site.app} ${tls?.hstsMaxAge ?? 0}${tls ? ` ${tls.certFile} ${tls.keyFile}` : ''}`);
    const covered = new Set(tls?.serverNames ?? []);
    for (const name of site.serverNames) {
      const owner = owners.get(name);
      if (owner) throw new Error(`the host name ${JSON.stringify(name)} is claimed by both ${owner} and ${site.app}`);
      owners.set(name, site.app);
      const https = covered.has(name);
      lines.push(`name ${name} ${site.app} ${https ? 1 : 0} ${https && tls?.redirect ? 1 : 0}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The sites table back from its text (the agent's own file): its generation and every app's site. */
export function parseSites(text: string): { generation: string; sites: AppSite[] } {
  let generation = '';
  const sites = new Map<string, AppSite>();
  const names: { name: string; app: string; https: boolean; redirect: boolean }[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const [kind, ...fields] = line.split(' ');
    if (kind === 'generation') generation = fields[0] ?? '';
    else if (kind === 'app') {
      const [app = '', hsts = '0', certFile, keyFile] = fields;
      sites.set(app, {
        app, serverNames: [],
        ...(certFile && keyFile ? { tls: { certFile, keyFile, redirect: false, serverNames: [], ...(Number(hsts) > 0 ? { hstsMaxAge: Number(hsts) } : {}) } } : {}),
      });
    } else if (kind === 'name') {
      const [name = '', app = '', https, redirect] = fields;
      names.push({ name, app, https: https === '1', redirect: redirect === '1' });
    } else throw new Error(`unknown line in the sites table: ${JSON.stringify(line.slice(0, 80))}`);
  }
  for (const { name, app, https, redirect } of names) {
    const site = sites.get(app);
    if (!site) throw new Error(`the sites table names ${JSON.stringify(name)} for an app it does not list (${JSON.stringify(app)})`);
    site.serverNames.push(name);
    if (https && site.tls) {
      site.tls.serverNames.push(name);
      if (redirect) site.tls.redirect = true;
    }
  }
  for (const site of sites.values()) if (site.tls && site.tls.serverNames.length === 0) delete site.tls;
  return { generation, sites: [...sites.values()] };
}

/** The app's route file: the release and its web replicas' loopback ports. */
export function renderRoutes(routes: AppRoutes): string {
  if (!Number.isInteger(routes.version) || routes.version < 0) throw new Error(`invalid version ${routes.version}`);
  if (!BALANCE_STRATEGIES.includes(routes.balance)) throw new Error(`invalid balance ${JSON.stringify(routes.balance)}`);
  for (const { port, weight, address } of routes.upstreams) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
    if (address !== undefined && !/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(address)) throw new Error(`invalid peer address ${JSON.stringify(address)}`);
    if (weight !== undefined && (!Number.isInteger(weight) || weight < 1 || weight > 1000)) throw new Error(`invalid weight ${weight}`);
  }
  return [
    `version ${routes.version}`,
    `balance ${routes.balance}`,
    ...routes.upstreams.map(({ port, weight, address }) => `peer ${port} ${weight ?? 1}${address ? ` ${address}` : ''}`),
    '',
  ].join('\n');
}

function checkToken(token: string): void {
  if (!/^[A-Za-z0-9-]+$/.test(token)) throw new Error(`invalid generation token ${JSON.stringify(token)}`);
}

/** The files of the server every app is served by. */
export interface ServerFiles {
  /** The certificate nginx requires for `listen 443 ssl`; never sent: the Lua module sets each handshake's or refuses it. */
  placeholderCert: string;
  placeholderKey: string;
  challengesDir: string;
}

/**
 * The one server of every app, on 80 and 443, whose configuration never changes with apps: the
 * Lua module routes each request by its Host through the sites table (unknown names: 404; names
 * with a certificate on plain HTTP: 308, the ACME challenge path excepted), picks each TLS
 * handshake's certificate by its SNI name (a name without one: the handshake is refused), adds
 * HSTS, and balances over the app's peers from its route file.
 */
export function renderServer(files: ServerFiles): string {
  checkTlsPath('placeholder certificate', files.placeholderCert);
  checkTlsPath('placeholder key', files.placeholderKey);
  checkTlsPath('challenges directory', files.challengesDir);
  return [
    '# paas: every app of this host. Generated by the paas agent; apps, domains and certificates change the',
    '# sites table the Lua module reads, never this file.',
    'upstream paas_apps {',
    '    # A placeholder that refuses: the paas Lua module picks the real peer of each request.',
    '    server 127.0.0.1:9;',
    '    balancer_by_lua_block { require("paas").balance() }',
    '    keepalive 256;',
    '}',
    '',
    'server {',
    '    listen 80 default_server;',
    '    listen 443 ssl default_server;',
    '    server_name _;',
    `    ssl_certificate ${files.placeholderCert};`,
    `    ssl_certificate_key ${files.placeholderKey};`,
    '    ssl_certificate_by_lua_block { require("paas").certificate() }',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '    ssl_session_cache shared:paas_ssl:10m;',
    '    ssl_session_timeout 1h;',
    '    default_type text/plain;',
    `    location ^~ ${CHALLENGE_PATH_PREFIX} {`,
    `        alias ${files.challengesDir.replace(/\/$/, '')}/;`,
    '        disable_symlinks on;',
    '        try_files $uri =404;',
    '    }',
    `    location = ${PROBE_PATH} {`,
    '        if ($remote_addr != "127.0.0.1") { return 404; }',
    '        content_by_lua_block { require("paas").probe() }',
    '    }',
    '    location / {',
    '        rewrite_by_lua_block { require("paas").route() }',
    '        proxy_pass http://paas_apps;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '        proxy_next_upstream error timeout http_502 http_503;',
    '        header_filter_by_lua_block { require("paas").headers() }',
    '        log_by_lua_block { require("paas").done() }',
    '    }',
    '}',
    '',
  ].join('\n');
}

/**
 * The loopback-only server of the agent: /generation answers the configuration's token (so the
 * agent sees when a reload took effect: reload is asynchronous), /routes/<app> loads the app's
 * route file and /sites the sites table into nginx's shared memory (no reload), each answering
 * what nginx now holds.
 */
export function renderAgentServer(token: string): string {
  checkToken(token);
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
    '    location = /sites { content_by_lua_block { require("paas").refresh_sites() } }',
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
