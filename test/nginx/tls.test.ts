// HTTPS for apps in a real nginx: a self-signed certificate made by the openssl CLI,
// renderAppConfig's TLS servers on free high ports, HTTPS proxied to a backend, HTTP redirected.
// Skipped where nginx, its Lua module or openssl is not installed (like lua.test.ts).
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_HOST,
  ROUTES_DIR,
  renderAgentServer,
  renderAppConfig,
  renderDefaultServer,
  renderDefaultTlsServer,
  renderRoutes,
} from '../../src/nginx/config.js';
import { PAAS_LUA } from '../../src/nginx/lua.js';
import { inspectCertificate } from '../../src/tls/pem.js';
import {
  freePort,
  get,
  listenOn,
  loadModuleLines,
  NGINX,
  request,
  skipWithoutNginxLua,
  skipWithoutOpenssl,
  sleep,
  tempPathLines,
} from './harness.js';

const TLS_HOST = 'shop.example.test';
/** One of the app's names the certificate does not cover: it stays plain HTTP. */
const PLAIN_HOST = 'shop.apps.example.test';
const TOKEN = '1700000000000-tls1';

describe.skipIf(skipWithoutNginxLua || skipWithoutOpenssl)('HTTPS for an app in a real nginx', () => {
  let dir = '';
  let httpPort = 0;
  let httpsPort = 0;
  let ca = '';
  let nginx: ResultPromise | undefined;
  let masterPid = 0;
  let backend: http.Server | undefined;
  let backendPort = 0;

  async function writeReadable(file: string, text: string): Promise<void> {
    await fs.writeFile(file, text);
    await fs.chmod(file, 0o644);
  }

  async function errorLog(): Promise<string> {
    return fs.readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
  }

  /** A self-signed EC certificate for `names` (the first is the CN), as <base>.pem and <base>.key. */
  async function selfSigned(base: string, names: string[]): Promise<{ certFile: string; keyFile: string }> {
    const certFile = path.join(dir, 'tls', `${base}.pem`);
    const keyFile = path.join(dir, 'tls', `${base}.key`);
    await execa('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
    ]);
    return { certFile, keyFile };
  }

  /** The main nginx.conf around conf.d (as the paas include is, with the test's own paths). */
  function mainConf(confDir: string): string {
    return [
      ...loadModuleLines(),
      'daemon off;',
      'master_process on;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events {}',
      'http {',
      '    lua_shared_dict paas_routes 4m;',
      `    lua_package_path "${dir}/lua/?.lua;;";`,
      '    access_log off;',
      ...tempPathLines(dir).map((line) => `    ${line}`),
      `    include ${confDir}/*.conf;`,
      '}',
      '',
    ].join('\n');
  }

  beforeAll(async () => {
    expect((await execa('openssl', ['version'])).stdout).toMatch(/SSL/);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-tls-'));
    await fs.chmod(dir, 0o755);
    for (const sub of ['lua', 'routes', 'conf.d', 'tls', 'conf-t']) {
      await fs.mkdir(path.join(dir, sub));
      await fs.chmod(path.join(dir, sub), 0o755);
    }
    expect(PAAS_LUA.split(`"${ROUTES_DIR}/"`)).toHaveLength(2);
    await writeReadable(path.join(dir, 'lua', 'paas.lua'), PAAS_LUA.replace(`"${ROUTES_DIR}/"`, `"${dir}/routes/"`));

    // The backend answers what nginx told it: the scheme and the host.
    backend = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`backend proto=${req.headers['x-forwarded-proto']} host=${req.headers.host} path=${req.url}`);
    });
    await new Promise<void>((resolve, reject) => {
      backend!.once('error', reject);
      backend!.listen(0, '127.0.0.1', () => resolve());
    });
    backendPort = (backend.address() as net.AddressInfo).port;

    const shop = await selfSigned('shop', [TLS_HOST]);
    ca = await fs.readFile(shop.certFile, 'utf8');
    const info = inspectCertificate(ca, await fs.readFile(shop.keyFile, 'utf8'), { cert: shop.certFile, key: shop.keyFile });
    expect(info.names).toEqual([TLS_HOST]);
    expect(info.selfSigned).toBe(true);

    httpPort = await freePort();
    httpsPort = await freePort();
    const ports = { http: httpPort, https: httpsPort };
    const app = renderAppConfig({
      app: 'shop',
      serverNames: [PLAIN_HOST, TLS_HOST],
      tls: { ...shop, redirect: true, serverNames: info.names },
    });
    await writeReadable(path.join(dir, 'conf.d', 'app-shop.conf'), listenOn(app, ports));
    // The catch-all HTTPS server paas adds once any app has a certificate.
    const defaultTls = renderDefaultTlsServer();
    expect(defaultTls).toContain('    listen 443 ssl default_server;\n');
    await writeReadable(path.join(dir, 'conf.d', '000-default-tls.conf'), defaultTls.replace('listen 443 ssl', `listen 127.0.0.1:${httpsPort} ssl`));
    await writeReadable(path.join(dir, 'conf.d', 'agent.conf'), listenOn(renderAgentServer(TOKEN), { http: httpPort }));
    await writeReadable(path.join(dir, 'nginx.conf'), mainConf(`${dir}/conf.d`));

    const check = await execa(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { reject: false, all: true });
    if (check.exitCode !== 0) throw new Error(`nginx -t failed: ${check.all}\n${await errorLog()}`);

    nginx = execa(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { reject: false, all: true });
    masterPid = nginx.pid ?? 0;
    expect(masterPid).toBeGreaterThan(0);
    let exited = false;
    void nginx.then(() => (exited = true));
    for (let i = 0; ; i++) {
      if (exited) throw new Error(`nginx exited: ${(await nginx).all}\n${await errorLog()}`);
      const reply = await get(httpPort, AGENT_HOST, '/generation', 500).catch(() => undefined);
      if (reply?.status === 200) break;
      if (i > 100) throw new Error(`nginx did not answer within 5 s\n${await errorLog()}`);
      await sleep(50);
    }
    await writeReadable(path.join(dir, 'routes', 'shop'), renderRoutes({ version: 1, balance: 'round_robin', upstreams: [{ port: backendPort }] }));
    expect(await get(httpPort, AGENT_HOST, '/routes/shop')).toEqual({ status: 200, body: 'version 1\n' });
  }, 30_000);

  afterAll(async () => {
    if (nginx && masterPid > 0) {
      const { stdout } = await execa('ps', ['-o', 'pid=', '--ppid', String(masterPid)], { reject: false });
      const workers = stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0);
      try {
        process.kill(masterPid, 'SIGQUIT');
      } catch {
        // already gone
      }
      const done = await Promise.race([nginx.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        for (const pid of [masterPid, ...workers]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await nginx;
      }
    }
    if (backend) {
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend!.close(() => resolve()));
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 15_000);

  it('HTTPS answers from the backend with the certificate for the name (SNI), telling it the scheme was https', async () => {
    const reply = await request(httpsPort, TLS_HOST, '/cart?item=1', { tls: { ca, servername: TLS_HOST } });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`backend proto=https host=${TLS_HOST} path=/cart?item=1`);
  });

  it('HTTP for the covered name answers 308 to the same URL over https', async () => {
    const reply = await request(httpPort, TLS_HOST, '/cart?item=1');
    expect(reply.status).toBe(308);
    expect(reply.headers.location).toBe(`https://${TLS_HOST}/cart?item=1`);
    const root = await request(httpPort, TLS_HOST, '/');
    expect(root.status).toBe(308);
    expect(root.headers.location).toBe(`https://${TLS_HOST}/`);
  });

  it('a name the certificate does not cover stays plain HTTP, proxied', async () => {
    const reply = await request(httpPort, PLAIN_HOST, '/x');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`backend proto=http host=${PLAIN_HOST} path=/x`);
  });

  it('a name no certificate covers gets no certificate over HTTPS: the default server refuses the handshake', async () => {
    await expect(request(httpsPort, PLAIN_HOST, '/', { tls: { ca, servername: PLAIN_HOST } })).rejects.toThrow(/unrecognized name|alert|handshake/i);
    const noSni = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-noservername', '-brief'], { input: '', reject: false, all: true });
    expect(noSni.exitCode).not.toBe(0);
    expect(noSni.all).not.toContain(TLS_HOST);
    // while the covered name still gets its certificate
    expect((await request(httpsPort, TLS_HOST, '/', { tls: { ca, servername: TLS_HOST } })).status).toBe(200);
  });

  it('a client that does not trust the certificate is refused (the handshake really checks it)', async () => {
    await expect(request(httpsPort, TLS_HOST, '/', { tls: { ca: '' } })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('speaks TLS 1.2 and 1.3 only', async () => {
    const tls13 = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', TLS_HOST, '-tls1_3', '-brief'], {
      input: '', reject: false, all: true,
    });
    expect(tls13.all).toContain('Protocol version: TLSv1.3');
    const tls12 = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', TLS_HOST, '-tls1_2', '-brief'], {
      input: '', reject: false, all: true,
    });
    expect(tls12.all).toContain('Protocol version: TLSv1.2');
    const tls11 = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', TLS_HOST, '-tls1_1', '-brief'], {
      input: '', reject: false, all: true,
    });
    expect(tls11.exitCode).not.toBe(0);
    expect(tls11.all).not.toContain('Protocol version: TLSv1.1');
  });

  it('nginx -t accepts several TLS apps (one shared session cache), a plain one, the default and agent servers together', async () => {
    const blog = await selfSigned('blog', ['blog.example.test', 'www.blog.example.test']);
    const shop = { certFile: path.join(dir, 'tls', 'shop.pem'), keyFile: path.join(dir, 'tls', 'shop.key') };
    const confDir = path.join(dir, 'conf-t');
    const files: Record<string, string> = {
      'default.conf': renderDefaultServer(),
      'default-tls.conf': renderDefaultTlsServer(),
      'agent.conf': renderAgentServer(TOKEN),
      'app-shop.conf': renderAppConfig({ app: 'shop', serverNames: [PLAIN_HOST, TLS_HOST], tls: { ...shop, redirect: true, serverNames: [TLS_HOST] } }),
      'app-blog.conf': renderAppConfig({
        app: 'blog',
        serverNames: ['blog.example.test', 'www.blog.example.test'],
        tls: { ...blog, redirect: false, serverNames: ['blog.example.test', 'www.blog.example.test'] },
      }),
      'app-plain.conf': renderAppConfig({ app: 'plain', serverNames: ['plain.example.test'] }),
    };
    for (const [name, text] of Object.entries(files)) await writeReadable(path.join(confDir, name), text);
    await writeReadable(path.join(dir, 'nginx-t.conf'), mainConf(confDir).replace(`pid ${dir}/nginx.pid;`, `pid ${dir}/nginx-t.pid;`));
    const result = await execa(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', `${dir}/nginx-t.conf`, '-e', `${dir}/error-t.log`], { reject: false, all: true });
    expect(result.all).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('the error log holds no error', async () => {
    expect(await errorLog()).not.toMatch(/\[(error|alert|crit|emerg)\]|lua entry thread aborted|runtime error/);
  });
});
