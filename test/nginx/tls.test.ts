// HTTPS for apps in a real nginx, through renderServer and the sites table: certificates made by
// the openssl CLI, each handshake's certificate picked by SNI by the Lua module, HTTPS proxied to
// a backend, HTTP redirected (the ACME challenge path excepted), HSTS, and a certificate swapped
// without a reload. Skipped where nginx, its Lua module or openssl is not installed (like lua.test.ts).
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_HOST,
  CHALLENGE_PATH_PREFIX,
  HSTS_MAX_AGE,
  PROBE_PATH,
  ROUTES_DIR,
  renderAgentServer,
  renderRoutes,
  renderServer,
  renderSites,
  type AppSite,
} from '../../src/nginx/config.js';
import { PAAS_LUA } from '../../src/nginx/lua.js';
import { inspectCertificate } from '../../src/tls/pem.js';
import {
  freePort,
  get,
  listenOn,
  mainConf,
  makeCertificate,
  peerFingerprint,
  request,
  skipWithoutNginxLua,
  skipWithoutOpenssl,
  startNginx,
  writeReadable,
  type RunningNginx,
} from './harness.js';

const TLS_HOST = 'shop.example.test';
/** One of shop's names the certificate does not cover: it stays plain HTTP. */
const PLAIN_HOST = 'shop.apps.example.test';
/** blog: HTTPS without redirect and without HSTS. */
const BLOG_HOST = 'blog.example.test';
const WILD_HOST = 'a.wild.example.test';
const BROKEN_HOST = 'broken.example.test';
const TOKEN = '1700000000000-tls1';
const CANNOT_LOAD = 'paas: cannot load the certificate of broken';
/** What nginx logs (at crit) when disable_symlinks refuses the challenge directory's symlink. */
const SYMLINK_REFUSED = 'challenges/link" failed (40: Too many levels of symbolic links)';

interface Cert { certFile: string; keyFile: string; pem: string; fingerprint: string }

describe.skipIf(skipWithoutNginxLua || skipWithoutOpenssl)('HTTPS for apps in a real nginx', () => {
  let dir = '';
  let httpPort = 0;
  let httpsPort = 0;
  let nginx: RunningNginx | undefined;
  let workersAtStart: number[] = [];
  let backend: http.Server | undefined;
  let backendPort = 0;
  let shop: Cert;
  let blog: Cert;
  let wild: Cert;
  /** Every certificate the tests made: what the clients trust. */
  const ca: string[] = [];
  let generations = 0;
  let shopCert: Cert;

  const errorLog = () => nginx!.errorLog();

  /** A self-signed certificate for `names`, as tls/<base>.pem and tls/<base>.key, trusted by the tests' clients. */
  async function certificate(base: string, names: string[]): Promise<Cert> {
    const certFile = path.join(dir, 'tls', `${base}.pem`);
    const keyFile = path.join(dir, 'tls', `${base}.key`);
    const { pem, fingerprint } = await makeCertificate(certFile, keyFile, names);
    ca.push(pem);
    return { certFile, keyFile, pem, fingerprint };
  }

  /** The apps' sites, shop's with the certificate `shopCert`. */
  function siteList(): AppSite[] {
    const files = (cert: Cert) => ({ certFile: cert.certFile, keyFile: cert.keyFile });
    return [
      { app: 'shop', serverNames: [PLAIN_HOST, TLS_HOST], tls: { ...files(shopCert), redirect: true, serverNames: [TLS_HOST], hstsMaxAge: HSTS_MAX_AGE } },
      { app: 'blog', serverNames: [BLOG_HOST], tls: { ...files(blog), redirect: false, serverNames: [BLOG_HOST] } },
      { app: 'wild', serverNames: ['*.wild.example.test'], tls: { ...files(wild), redirect: false, serverNames: ['*.wild.example.test'] } },
      {
        app: 'broken',
        serverNames: [BROKEN_HOST],
        tls: { certFile: path.join(dir, 'tls', 'broken.pem'), keyFile: path.join(dir, 'tls', 'broken.key'), redirect: false, serverNames: [BROKEN_HOST] },
      },
    ];
  }

  /** Writes the sites table (a new generation); loads it into nginx unless `load` is false. */
  async function writeSites(load = true): Promise<string> {
    const generation = `tls${++generations}`;
    await writeReadable(path.join(dir, 'routes', '_sites'), renderSites(siteList(), generation));
    if (load) expect(await get(httpPort, AGENT_HOST, '/sites')).toEqual({ status: 200, body: `generation ${generation}\n` });
    return generation;
  }

  /** `count` handshakes with SNI `name`: the fingerprints of the certificates nginx sent. */
  async function fingerprints(name: string, count: number): Promise<string[]> {
    const list: string[] = [];
    for (let i = 0; i < count; i++) list.push(await peerFingerprint(httpsPort, name, ca));
    return list;
  }

  function sClient(args: string[]) {
    return execa('openssl', ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-brief', ...args], { input: '', reject: false, all: true, timeout: 10_000 });
  }

  beforeAll(async () => {
    expect((await execa('openssl', ['version'])).stdout).toMatch(/SSL/);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-tls-'));
    await fs.chmod(dir, 0o755);
    for (const sub of ['lua', 'routes', 'conf.d', 'tls', 'challenges']) {
      await fs.mkdir(path.join(dir, sub));
      await fs.chmod(path.join(dir, sub), 0o755);
    }
    expect(PAAS_LUA.split(`"${ROUTES_DIR}/"`)).toHaveLength(2);
    await writeReadable(path.join(dir, 'lua', 'paas.lua'), PAAS_LUA.replace(`"${ROUTES_DIR}/"`, `"${dir}/routes/"`));

    // The backend answers what nginx told it: the scheme, the host and the path.
    backend = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`backend proto=${req.headers['x-forwarded-proto']} host=${req.headers.host} path=${req.url}`);
    });
    await new Promise<void>((resolve, reject) => {
      backend!.once('error', reject);
      backend!.listen(0, '127.0.0.1', () => resolve());
    });
    backendPort = (backend.address() as net.AddressInfo).port;

    shop = await certificate('shop', [TLS_HOST]);
    shopCert = shop;
    const info = inspectCertificate(shop.pem, await fs.readFile(shop.keyFile, 'utf8'), { cert: shop.certFile, key: shop.keyFile });
    expect(info.names).toEqual([TLS_HOST]);
    expect(info.selfSigned).toBe(true);
    blog = await certificate('blog', [BLOG_HOST]);
    wild = await certificate('wild', ['*.wild.example.test']);
    // broken's files: not a certificate, not a key
    await writeReadable(path.join(dir, 'tls', 'broken.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    await writeReadable(path.join(dir, 'tls', 'broken.key'), 'garbage\n');
    const placeholder = await certificate('placeholder', ['paas-placeholder.invalid']);

    httpPort = await freePort();
    httpsPort = await freePort();
    const server = renderServer({ placeholderCert: placeholder.certFile, placeholderKey: placeholder.keyFile, challengesDir: path.join(dir, 'challenges') });
    await writeReadable(path.join(dir, 'conf.d', 'server.conf'), listenOn(server, { http: httpPort, https: httpsPort }));
    await writeReadable(path.join(dir, 'conf.d', 'agent.conf'), listenOn(renderAgentServer(TOKEN), { http: httpPort }));
    await writeReadable(path.join(dir, 'nginx.conf'), mainConf(dir, { workers: 2, confDir: `${dir}/conf.d`, luaDir: `${dir}/lua` }));

    const check = await execa('nginx', ['-t', '-q', '-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { reject: false, all: true });
    if (check.exitCode !== 0) throw new Error(`nginx -t failed: ${check.all}`);

    nginx = await startNginx(dir, 2, async () => (await get(httpPort, AGENT_HOST, '/generation', 500)).status === 200);
    workersAtStart = await nginx.workerPids();
    for (const app of ['shop', 'blog', 'wild', 'broken']) {
      await writeReadable(path.join(dir, 'routes', app), renderRoutes({ version: 1, balance: 'round_robin', upstreams: [{ port: backendPort }] }));
      expect(await get(httpPort, AGENT_HOST, `/routes/${app}`)).toEqual({ status: 200, body: 'version 1\n' });
    }
    await writeSites();
  }, 30_000);

  afterAll(async () => {
    await nginx?.stop();
    if (backend) {
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend!.close(() => resolve()));
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 15_000);

  it('HTTPS answers from the backend with the app\'s certificate for the name (SNI), telling it the scheme was https', async () => {
    const reply = await request(httpsPort, TLS_HOST, '/cart?item=1', { tls: { ca: ca.join('\n'), servername: TLS_HOST } });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`backend proto=https host=${TLS_HOST} path=/cart?item=1`);
    expect(await fingerprints(TLS_HOST, 4)).toEqual(Array(4).fill(shop.fingerprint));
    expect(await fingerprints(BLOG_HOST, 4)).toEqual(Array(4).fill(blog.fingerprint));
    // the SNI name in upper case is the same name
    expect(await fingerprints('SHOP.EXAMPLE.TEST', 2)).toEqual(Array(2).fill(shop.fingerprint));
  });

  it('a wildcard name: one label under it gets the app\'s certificate, HTTPS proxied', async () => {
    expect(await fingerprints(WILD_HOST, 2)).toEqual(Array(2).fill(wild.fingerprint));
    const reply = await request(httpsPort, WILD_HOST, '/w', { tls: { ca: ca.join('\n') } });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: `backend proto=https host=${WILD_HOST} path=/w` });
    await expect(peerFingerprint(httpsPort, 'wild.example.test', ca)).rejects.toThrow();
    await expect(peerFingerprint(httpsPort, 'a.b.wild.example.test', ca)).rejects.toThrow();
  });

  it('HTTP for a covered name with redirect answers 308 to the same URL over https (path and query kept)', async () => {
    const reply = await request(httpPort, TLS_HOST, '/cart?item=1&b=%20x');
    expect(reply.status).toBe(308);
    expect(reply.headers.location).toBe(`https://${TLS_HOST}/cart?item=1&b=%20x`);
    expect(reply.headers['strict-transport-security']).toBeUndefined();
    const root = await request(httpPort, TLS_HOST, '/');
    expect(root.status).toBe(308);
    expect(root.headers.location).toBe(`https://${TLS_HOST}/`);
    // the Host as the client wrote it, lowercased (nginx's $host)
    expect((await request(httpPort, 'Shop.Example.Test', '/a')).headers.location).toBe(`https://${TLS_HOST}/a`);
  });

  it('HTTP for a covered name without redirect, and for a name no certificate covers: plain HTTP, proxied', async () => {
    const reply = await request(httpPort, PLAIN_HOST, '/x');
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: `backend proto=http host=${PLAIN_HOST} path=/x` });
    const blogReply = await request(httpPort, BLOG_HOST, '/y');
    expect({ status: blogReply.status, body: blogReply.body }).toEqual({ status: 200, body: `backend proto=http host=${BLOG_HOST} path=/y` });
  });

  it('the probe answers on HTTP (not redirected) and on HTTPS', async () => {
    expect(await get(httpPort, TLS_HOST, PROBE_PATH)).toEqual({ status: 200, body: 'paas app shop\n' });
    const overTls = await request(httpsPort, TLS_HOST, PROBE_PATH, { tls: { ca: ca.join('\n') } });
    expect({ status: overTls.status, body: overTls.body }).toEqual({ status: 200, body: 'paas app shop\n' });
  });

  it('the ACME challenge path on HTTP for a redirected name is served from the challenges directory (200, not 308)', async () => {
    await writeReadable(path.join(dir, 'challenges', 'tok-EN_123'), 'tok-EN_123.thumbprint');
    const reply = await request(httpPort, TLS_HOST, `${CHALLENGE_PATH_PREFIX}tok-EN_123`);
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: 'tok-EN_123.thumbprint' });
    expect(reply.headers.location).toBeUndefined();
    expect(reply.headers['content-type']).toBe('text/plain');
    // a token that is not there: 404, still no redirect
    const missing = await request(httpPort, TLS_HOST, `${CHALLENGE_PATH_PREFIX}nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.location).toBeUndefined();
    // the directory itself is no file
    expect((await request(httpPort, TLS_HOST, CHALLENGE_PATH_PREFIX)).status).toBe(404);
  });

  it('a symlink in the challenges directory is not followed (outside the directory), nor is `..`', async () => {
    await writeReadable(path.join(dir, 'secret.txt'), 'the secret');
    await fs.symlink(path.join(dir, 'secret.txt'), path.join(dir, 'challenges', 'link'));
    const reply = await request(httpPort, TLS_HOST, `${CHALLENGE_PATH_PREFIX}link`);
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain('the secret');
    // nginx says why: the last component is a symlink (disable_symlinks opens it with O_NOFOLLOW)
    expect(await errorLog()).toContain(`${SYMLINK_REFUSED}, client: 127.0.0.1`);
    // `..` (even encoded) leaves the challenge location: an ordinary request of the name, redirected
    const dotdot = await request(httpPort, TLS_HOST, `${CHALLENGE_PATH_PREFIX}..%2fsecret.txt`);
    expect(dotdot.status).toBe(308);
    expect(dotdot.body).not.toContain('the secret');
  });

  it('a name no certificate covers, an unknown name, or no SNI at all: the handshake is refused', async () => {
    await expect(request(httpsPort, PLAIN_HOST, '/', { tls: { ca: ca.join('\n'), servername: PLAIN_HOST } })).rejects.toThrow(/alert|handshake|socket hang up|ECONNRESET/i);
    await expect(peerFingerprint(httpsPort, PLAIN_HOST, ca)).rejects.toThrow();
    await expect(peerFingerprint(httpsPort, 'nobody.example.test', ca)).rejects.toThrow();
    await expect(peerFingerprint(httpsPort, undefined, ca)).rejects.toThrow();
    const noSni = await sClient(['-noservername']);
    expect(noSni.exitCode).not.toBe(0);
    expect(noSni.all).not.toMatch(/example\.test|paas-placeholder/);
    const unknown = await sClient(['-servername', 'nobody.example.test']);
    expect(unknown.exitCode).not.toBe(0);
    expect(unknown.all).not.toContain('paas-placeholder');
    // while the covered name still gets its certificate
    expect((await request(httpsPort, TLS_HOST, '/', { tls: { ca: ca.join('\n'), servername: TLS_HOST } })).status).toBe(200);
  });

  it('a client that does not trust the certificate is refused (the handshake really checks it)', async () => {
    await expect(request(httpsPort, TLS_HOST, '/', { tls: { ca: blog.pem } })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('speaks TLS 1.2 and 1.3 only', async () => {
    expect((await sClient(['-servername', TLS_HOST, '-tls1_3'])).all).toContain('Protocol version: TLSv1.3');
    expect((await sClient(['-servername', TLS_HOST, '-tls1_2'])).all).toContain('Protocol version: TLSv1.2');
    const tls11 = await sClient(['-servername', TLS_HOST, '-tls1_1']);
    expect(tls11.exitCode).not.toBe(0);
    expect(tls11.all).not.toContain('Protocol version: TLSv1.1');
  });

  it('HSTS: Strict-Transport-Security over HTTPS for the app that has a max-age only, never over HTTP', async () => {
    const shopTls = await request(httpsPort, TLS_HOST, '/', { tls: { ca: ca.join('\n') } });
    expect(shopTls.headers['strict-transport-security']).toBe(`max-age=${HSTS_MAX_AGE}`);
    expect((await request(httpPort, PLAIN_HOST, '/')).headers['strict-transport-security']).toBeUndefined();
    const blogTls = await request(httpsPort, BLOG_HOST, '/', { tls: { ca: ca.join('\n') } });
    expect(blogTls.status).toBe(200);
    expect(blogTls.headers['strict-transport-security']).toBeUndefined();
    expect((await request(httpPort, BLOG_HOST, '/')).headers['strict-transport-security']).toBeUndefined();
  });

  it('a certificate swapped without a reload: new handshakes get the new one once the table is loaded; same master and workers', async () => {
    const renewed = await certificate('shop-2', [TLS_HOST]);
    expect(renewed.fingerprint).not.toBe(shop.fingerprint);
    shopCert = renewed;
    // written, not loaded: the old certificate still
    await writeSites(false);
    expect(await fingerprints(TLS_HOST, 4)).toEqual(Array(4).fill(shop.fingerprint));
    expect(await get(httpPort, AGENT_HOST, '/sites')).toEqual({ status: 200, body: `generation tls${generations}\n` });
    // every handshake, on every worker, the new one
    expect(await fingerprints(TLS_HOST, 10)).toEqual(Array(10).fill(renewed.fingerprint));
    const reply = await request(httpsPort, TLS_HOST, '/after', { tls: { ca: renewed.pem } });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: `backend proto=https host=${TLS_HOST} path=/after` });
    // the other apps keep theirs
    expect(await fingerprints(BLOG_HOST, 2)).toEqual(Array(2).fill(blog.fingerprint));
    expect(await nginx!.workerPids()).toEqual(workersAtStart);
    expect(Number((await fs.readFile(path.join(dir, 'nginx.pid'), 'utf8')).trim())).toBe(nginx!.masterPid);
    expect(await get(httpPort, AGENT_HOST, '/generation')).toEqual({ status: 200, body: TOKEN });
  });

  it('a certificate that cannot be parsed: that name\'s handshake is refused, logged, while the other apps still work', async () => {
    await expect(peerFingerprint(httpsPort, BROKEN_HOST, ca)).rejects.toThrow();
    expect(await errorLog()).toContain(`${CANNOT_LOAD} (${dir}/tls/broken.pem): `);
    // its plain HTTP still answers (no redirect)
    expect((await get(httpPort, BROKEN_HOST, '/b')).body).toBe(`backend proto=http host=${BROKEN_HOST} path=/b`);
    expect(await fingerprints(TLS_HOST, 2)).toEqual(Array(2).fill(shopCert.fingerprint));
    expect(await fingerprints(WILD_HOST, 2)).toEqual(Array(2).fill(wild.fingerprint));
  });

  it('the error log holds no error but the unparsable certificate\'s and the refused symlink\'s', async () => {
    const lines = (await errorLog()).split('\n').filter((line) => !line.includes(CANNOT_LOAD) && !line.includes(SYMLINK_REFUSED));
    expect(lines.filter((line) => /\[(error|alert|crit|emerg)\]|lua entry thread aborted|runtime error/.test(line))).toEqual([]);
  });
});
