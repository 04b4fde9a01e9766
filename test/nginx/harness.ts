// Test-only helpers for running the host's nginx (with Debian's Lua module) in a temp prefix.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import nodeTls from 'node:tls';
import { execa, type ResultPromise } from 'execa';

const MODULES_ENABLED = '/etc/nginx/modules-enabled';
/** nginx's compiled-in prefix on Debian: relative `load_module` paths are resolved against it. */
const DEBIAN_PREFIX = '/usr/share/nginx';
const LUA_MODULE = '/usr/share/nginx/modules/ngx_http_lua_module.so';

function luaEnabled(): boolean {
  try {
    return readdirSync(MODULES_ENABLED).some((name) => name.includes('lua'));
  } catch {
    return false;
  }
}

/** Where `command` is: on PATH, or in /usr/sbin (often missing from a non-root PATH). */
function which(command: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/sbin', '/usr/bin'])
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, command))
    .find((file) => existsSync(file));
}

/** The nginx binary ('nginx' when there is none: the tests are skipped then). */
export const NGINX = which('nginx') ?? 'nginx';

/** nginx and its Lua module are installed (scripts/setup.sh installs them on CI). */
export const hasNginxLua = which('nginx') !== undefined && (existsSync(LUA_MODULE) || luaEnabled());

/**
 * `npm test` sets PAAS_TEST_TOOLS=required (after scripts/setup.sh installed nginx, its Lua
 * module and openssl): the tests that need them then run, and fail, instead of being skipped.
 * Only a bare `vitest` on a machine without them skips those tests.
 */
export const toolsRequired = process.env.PAAS_TEST_TOOLS === 'required';

/** The openssl CLI answers `openssl version` (the TLS tests make their certificates with it). */
export const hasOpenssl = (() => {
  try {
    return spawnSync('openssl', ['version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
})();

/**
 * The `load_module` lines of the NDK and the Lua module, as Debian's modules-enabled files
 * write them, with relative paths made absolute (the tests run nginx with `-p <temp dir>`, which
 * would otherwise resolve `modules/...` inside the temp dir).
 */
export function loadModuleLines(): string[] {
  const lines: string[] = [];
  try {
    for (const name of readdirSync(MODULES_ENABLED).sort()) {
      if (!name.endsWith('.conf')) continue;
      const text = readFileSync(path.join(MODULES_ENABLED, name), 'utf8');
      for (const match of text.matchAll(/^\s*load_module\s+(\S+?);/gm)) {
        const file = match[1]!;
        if (!/ndk|lua/.test(path.basename(file))) continue;
        lines.push(`load_module ${path.isAbsolute(file) ? file : path.join(DEBIAN_PREFIX, file)};`);
      }
    }
  } catch {
    // no modules-enabled directory: fall back to the module files themselves
  }
  if (lines.length === 0) {
    lines.push(
      `load_module ${DEBIAN_PREFIX}/modules/ndk_http_module.so;`,
      `load_module ${DEBIAN_PREFIX}/modules/ngx_http_lua_module.so;`,
    );
  }
  return lines;
}

/** nginx's own temp directories inside `dir` (its compiled-in ones are under /var/lib/nginx). */
export function tempPathLines(dir: string): string[] {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (kind) => `${kind}_temp_path ${dir}/${kind === 'client_body' ? 'body' : kind};`,
  );
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Reply {
  status: number;
  body: string;
}

/**
 * One GET with an explicit Host header (node:http, not fetch: fetch drops a Host header), on its
 * own connection.
 */
export function get(port: number, host: string, urlPath = '/', timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'GET', headers: { Host: host }, agent: false },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET http://${host}${urlPath} timed out`)));
    request.on('error', reject);
    request.end();
  });
}

export interface FullReply extends Reply {
  headers: http.IncomingHttpHeaders;
}

/**
 * One GET to 127.0.0.1:`port` with an explicit Host header, answering the headers too; over TLS
 * when `tls` is given (trusting only `tls.ca`, sending `tls.servername` as SNI: the Host by default).
 */
export function request(
  port: number,
  host: string,
  urlPath = '/',
  options: { tls?: { ca: string; servername?: string }; timeoutMs?: number } = {},
): Promise<FullReply> {
  const { tls, timeoutMs = 5000 } = options;
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port, path: urlPath, method: 'GET', headers: { Host: host }, agent: false as const };
    const onResponse = (response: http.IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      response.on('error', reject);
    };
    const req = tls
      ? https.request({ ...common, ca: tls.ca, servername: tls.servername ?? host }, onResponse)
      : http.request(common, onResponse);
    const scheme = tls ? 'https' : 'http';
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${scheme}://${host}${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Moves a rendered config's `listen 80` (and `listen 443 ssl`) lines, every one of them, to
 * 127.0.0.1 on the test's ports, `default_server` kept. Throws when a port is given and no line
 * listens on its default.
 */
export function listenOn(text: string, ports: { http: number; https?: number }): string {
  const httpLine = /^ {4}listen 80( default_server)?;$/gm;
  if (!/^ {4}listen 80( default_server)?;$/m.test(text)) throw new Error('the config has no `listen 80;` line');
  let result = text.replace(httpLine, (_line, flag: string | undefined) => `    listen 127.0.0.1:${ports.http}${flag ?? ''};`);
  if (ports.https !== undefined) {
    const httpsLine = /^ {4}listen 443 ssl( default_server)?;$/gm;
    if (!/^ {4}listen 443 ssl( default_server)?;$/m.test(result)) throw new Error('the config has no `listen 443 ssl;` line');
    result = result.replace(httpsLine, (_line, flag: string | undefined) => `    listen 127.0.0.1:${ports.https} ssl${flag ?? ''};`);
  }
  return result;
}

/** How many times each body came back. */
export function tally(replies: Reply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, body } of replies) {
    const key = status === 200 ? body : `${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Small HTTP servers on 127.0.0.1:0 that answer their name, optionally after a delay. */
export interface Backend {
  name: string;
  port: number;
  /** Milliseconds to wait before answering. */
  delayMs: number;
  /** Status to answer (200 unless a test changes it). */
  status: number;
  close(): Promise<void>;
}

export async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = { name, port: 0, delayMs: 0, status: 200, close: async () => {} };
  const server = http.createServer((_request, response) => {
    const answer = () => {
      response.writeHead(backend.status, { 'content-type': 'text/plain' });
      response.end(name);
    };
    if (backend.delayMs > 0) setTimeout(answer, backend.delayMs);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  backend.port = (server.address() as net.AddressInfo).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return backend;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Skip the real-nginx tests only where they may be skipped (see toolsRequired). */
export const skipWithoutNginxLua = !hasNginxLua && !toolsRequired;
export const skipWithoutOpenssl = !hasOpenssl && !toolsRequired;

/** Writes a file the nginx workers (an unprivileged user when the tests run as root) can read. */
export async function writeReadable(file: string, text: string): Promise<void> {
  await fsp.writeFile(file, text);
  await fsp.chmod(file, 0o644);
}

/**
 * A self-signed EC certificate for `names` (the first is the CN) made by the openssl CLI, both
 * files readable by nginx's workers; answers its PEM and SHA-256 fingerprint (`AB:CD:...`).
 */
export async function makeCertificate(certFile: string, keyFile: string, names: string[]): Promise<{ pem: string; fingerprint: string }> {
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${names[0]}`,
    '-addext', `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
  ]);
  await fsp.chmod(certFile, 0o644);
  await fsp.chmod(keyFile, 0o644);
  const pem = await fsp.readFile(certFile, 'utf8');
  return { pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

/**
 * One TLS handshake with 127.0.0.1:`port` sending `servername` as SNI (none when undefined),
 * trusting only `ca`: the SHA-256 fingerprint of the certificate the server sent.
 */
export function peerFingerprint(port: number, servername: string | undefined, ca: string | string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = nodeTls.connect({ host: '127.0.0.1', port, ca, ...(servername === undefined ? {} : { servername }) }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`TLS handshake with ${servername ?? '(no SNI)'} timed out`)));
    socket.on('error', reject);
  });
}

/** The main nginx.conf of a test: the modules, its own pid, logs and temp paths, renderInclude-like http {}. */
export function mainConf(dir: string, options: { workers: number; confDir: string; luaDir: string }): string {
  return [
    ...loadModuleLines(),
    'daemon off;',
    'master_process on;',
    `worker_processes ${options.workers};`,
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    'events {}',
    'http {',
    '    lua_shared_dict paas_routes 4m;',
    `    lua_package_path "${options.luaDir}/?.lua;;";`,
    '    access_log off;',
    ...tempPathLines(dir).map((line) => `    ${line}`),
    `    include ${options.confDir}/*.conf;`,
    '}',
    '',
  ].join('\n');
}

/** A running nginx (master and workers) of a test, in its temp prefix. */
export interface RunningNginx {
  masterPid: number;
  /** The master's children, sorted. */
  workerPids(): Promise<number[]>;
  errorLog(): Promise<string>;
  /** SIGQUIT to the master (SIGKILL to it and its workers after 5 s). */
  stop(): Promise<void>;
}

/**
 * Starts nginx (`daemon off`) with `dir`/nginx.conf in the prefix `dir` and waits until
 * `ready()` answers true and `workers` workers run.
 */
export async function startNginx(dir: string, workers: number, ready: () => Promise<boolean>): Promise<RunningNginx> {
  const errorLog = () => fsp.readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
  const child: ResultPromise = execa(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { reject: false, all: true });
  const masterPid = child.pid ?? 0;
  if (masterPid <= 0) throw new Error('nginx did not start');
  let exited = false;
  void child.then(() => (exited = true));
  const workerPids = async (): Promise<number[]> => {
    const { stdout } = await execa('ps', ['-o', 'pid=', '--ppid', String(masterPid)], { reject: false });
    return stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0).sort((x, y) => x - y);
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    const pids = await workerPids();
    try {
      process.kill(masterPid, 'SIGQUIT');
    } catch {
      // already gone
    }
    const done = await Promise.race([child.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      for (const pid of [masterPid, ...pids]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await child;
    }
  };
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`nginx exited: ${(await child).all}\n${await errorLog()}`);
    if (await ready().catch(() => false)) break;
    if (i > 100) {
      await stop();
      throw new Error(`nginx did not answer within 5 s\n${await errorLog()}`);
    }
    await sleep(50);
  }
  for (let i = 0; (await workerPids()).length < workers && i < 40; i++) await sleep(50);
  return { masterPid, workerPids, errorLog, stop };
}
