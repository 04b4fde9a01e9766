// Domains, certificates, load-balancing strategies and apps:destroy against a sandbox host:
// two apps (shop with 3 web replicas that answer their replica id, other with 1).
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';
import { formatLoadReport, startLoad } from './load.js';
import { request } from '../nginx/harness.js';

const world = testWorld('domains');
const shopDir = copyExample('node');
const otherDir = copyExample('node');
let host: TestHost;

const SECURE = 'secure.example.test';
const WWW = 'www.shop.example.test';

/** The example, answering its replica (PAAS_PROCESS) at /whoami and after ?ms at /slow. */
function addReplicaEndpoints(dir: string): void {
  const file = path.join(dir, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(
    'const port = ',
    "app.get('/whoami', (_req, res) => res.send(`${process.env.PAAS_PROCESS}\\n`));\n" +
    "app.get('/slow', (req, res) => setTimeout(() => res.send(`${process.env.PAAS_PROCESS}\\n`), Number(req.query.ms) || 1000));\n" +
    'const port = ',
  ));
}

const shop = (args: string[]) => world.cli([...args, '--app', 'shop', ...world.at(host)]);
const shopJson = <T>(args: string[]) => world.cliJson<T>([...args, '--app', 'shop', ...world.at(host)]);

/** Runs a command inside the sandbox server (as root). */
async function onHost(script: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const result = await execa('docker', ['exec', host.container, 'sh', '-c', script, 'sh', ...args], { reject: false, all: true });
  return { code: result.exitCode ?? -1, out: String(result.all) };
}

/** What a refused change must leave alone: nginx's files and the app's settings. */
const hostSnapshot = async () => (await onHost(
  'cd /var/lib/paas && ls -l nginx routes; for f in nginx/*.conf routes/*; do echo "== $f"; grep -v "return 200" "$f"; done; cat apps/shop/settings.json 2>/dev/null; ls certs 2>/dev/null',
)).out;

/** `count` GETs of /whoami through nginx with the Host header, `parallel` at a time: replica -> answers. */
async function spread(count: number, hostName = 'shop.localhost', parallel = 8): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      next += 1;
      const reply = await request(host.httpPort, hostName, '/whoami');
      const key = reply.status === 200 ? reply.body.trim() : `status ${reply.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }));
  return counts;
}

beforeAll(async () => {
  host = await world.addHost('a');
  expect(host.httpsPort).toBeGreaterThan(0);
  addReplicaEndpoints(shopDir.dir);
  writeFileSync(path.join(shopDir.dir, 'paas.yml'), 'processes:\n  web:\n    replicas: 3\n');
  const deploys = await Promise.all([
    world.cli(['deploy', shopDir.dir, '--app', 'shop', ...world.at(host)]),
    world.cli(['deploy', otherDir.dir, '--app', 'other', ...world.at(host)]),
  ]);
  for (const d of deploys) expect(d.exitCode, d.stderr.slice(-2000)).toBe(0);
  // A git repository of each app (made by git push when that exists): destroy removes shop's only.
  await onHost('mkdir -p /var/lib/paas/git/shop.git /var/lib/paas/git/other.git');
});

afterAll(async () => {
  await world.cleanup();
  shopDir.cleanup();
  otherDir.cleanup();
});

describe('domains', () => {
  it('hostile names are refused with a clear error by the CLI and by the agent; the host is unchanged', async () => {
    const before = await hostSnapshot();
    const hostile = ['bad name.example.com', 'a;b.example.com', 'shop.example.com{', 'x.example.com\nserver_name evil.com', '$host.example.com', `${'a'.repeat(296)}.com`];
    for (const name of hostile) {
      const result = await shop(['domains:add', name]);
      expect(result.exitCode, name).toBe(2);
      expect(result.stderr).toMatch(/the NAME argument: ".*" is not a valid hostname: /);
      expect(result.stderr).toContain('Fix: give a DNS name such as shop.example.com');
    }
    // The agent checks again whatever reaches it (a CLI that skipped the check, or a hand-made call).
    for (const name of hostile) {
      const agent = await onHost('node "$(ls /var/lib/paas/agent/agent-*.mjs | head -n 1)" domains-add --app shop --name "$1"', name);
      expect(agent.code, name).toBe(2);
      expect(agent.out).toContain('is not a valid hostname');
    }
    expect(await hostSnapshot()).toBe(before);
  });

  it('a valid domain routes at once (no release); a name of another app is refused', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/whoami`, hostHeader: 'shop.localhost', expectBody: /^web\.[123]\n$/, maxDurationMs: 120_000 });
    const added = await shopJson<{ added: boolean; domains: { name: string; source: string }[] }[]>(['domains:add', WWW]);
    const report = await load.stop();
    console.log(`shop during domains:add (no nginx reload): ${formatLoadReport(report)}`);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(added[0]!.added).toBe(true);
    expect(added[0]!.domains.map((d) => [d.name, d.source])).toEqual([['shop.localhost', 'default'], [WWW, 'domains:add']]);
    expect((await request(host.httpPort, WWW, '/whoami')).body).toMatch(/^web\.[123]\n$/);
    const releases = await shopJson<{ current: number }>(['releases']);
    expect(releases.current).toBe(1);

    const taken = await world.cli(['domains:add', WWW, '--app', 'other', ...world.at(host)]);
    expect(taken.exitCode).toBe(2);
    expect(taken.stderr).toContain(`"${WWW}" is already a domain of the app shop on this host`);
    const defaultName = await shop(['domains:add', 'other.localhost']);
    expect(defaultName.exitCode).toBe(2);
    expect(defaultName.stderr).toContain('already a domain of the app other');
    expect((await request(host.httpPort, 'other.localhost', '/')).body).toContain('Hello from the node example');

    await shopJson(['domains:add', SECURE]);
    await shopJson(['domains:add', 'gone.example.test']);
    expect((await request(host.httpPort, 'gone.example.test', '/whoami')).status).toBe(200);
    await shopJson(['domains:remove', 'gone.example.test']);
    expect((await request(host.httpPort, 'gone.example.test', '/whoami')).status).toBe(404);
    const missing = await shop(['domains:remove', 'gone.example.test']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('"gone.example.test" is not a domain of shop');
  });
});

/** The self-signed certificate (PEM) that clients trust in these tests. */
let cert = '';

describe('certificates', () => {
  it('certs:add with a self-signed pair serves HTTPS for the covered name and redirects HTTP with 308', async () => {
    const dir = world.dir;
    const certFile = path.join(dir, 'secure.crt');
    const keyFile = path.join(dir, 'secure.key');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
      '-subj', `/CN=${SECURE}`, '-addext', `subjectAltName=DNS:${SECURE}`]);
    cert = readFileSync(certFile, 'utf8');

    // A key of another certificate is refused before any host is reached.
    const otherKey = path.join(dir, 'other.key');
    await execa('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', otherKey]);
    const mismatch = await shop(['certs:add', '--cert', certFile, '--key', otherKey]);
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr).toContain('the private key does not match the certificate');

    const added = await shopJson<{ certificate: { names: string[]; serves: string[]; redirect: boolean } }[]>(['certs:add', '--cert', certFile, '--key', keyFile]);
    expect(added[0]!.certificate).toMatchObject({ names: [SECURE], serves: [SECURE], redirect: true });

    const https = await request(host.httpsPort, SECURE, '/whoami', { tls: { ca: cert, servername: SECURE } });
    expect(https.status).toBe(200);
    expect(https.body).toMatch(/^web\.[123]\n$/);
    const http = await request(host.httpPort, SECURE, '/whoami?x=1');
    expect(http.status).toBe(308);
    expect(http.headers.location).toBe(`https://${SECURE}/whoami?x=1`);
    // Names the certificate does not cover: plain HTTP still, and no certificate over HTTPS.
    expect((await request(host.httpPort, WWW, '/whoami')).status).toBe(200);
    await expect(request(host.httpsPort, WWW, '/', { tls: { ca: cert, servername: WWW } })).rejects.toThrow(/alert|handshake|ECONNRESET|socket/i);

    const files = await onHost('stat -c "%a %U %n" /var/lib/paas/certs/shop /var/lib/paas/certs/shop/*');
    console.log(files.out);
    // Root's, and readable by nginx's workers' group (they pick each handshake's certificate), no one else.
    const owned = await onHost('stat -c "%a %U %G" /var/lib/paas/certs/shop /var/lib/paas/certs/shop/*');
    expect(owned.out.split('\n')).toEqual(['750 root www-data', '640 root www-data', '640 root www-data']);
    const listed = await shopJson<{ certificate: { names: string[] } }[]>(['certs']);
    expect(listed[0]!.certificate.names).toEqual([SECURE]);
  });

  it('--no-redirect keeps plain HTTP for the covered name', async () => {
    const certFile = path.join(world.dir, 'secure.crt');
    const keyFile = path.join(world.dir, 'secure.key');
    await shopJson(['certs:add', '--cert', certFile, '--key', keyFile, '--no-redirect']);
    expect((await request(host.httpPort, SECURE, '/whoami')).status).toBe(200);
    expect((await request(host.httpsPort, SECURE, '/whoami', { tls: { ca: cert, servername: SECURE } })).status).toBe(200);
    await shopJson(['certs:add', '--cert', certFile, '--key', keyFile]);
    expect((await request(host.httpPort, SECURE, '/')).status).toBe(308);
  });
});

describe('load-balancing strategies', () => {
  it('round_robin (the default) spreads over the 3 replicas', async () => {
    const counts = await spread(300);
    console.log(`round_robin over 300 requests: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).sort()).toEqual(['web.1', 'web.2', 'web.3']);
    for (const n of Object.values(counts)) expect(n).toBeGreaterThanOrEqual(80);
  });

  it('ip_hash keeps one client on one replica', async () => {
    const set = await shopJson<{ balance: string; source: string }[]>(['lb:set', 'ip_hash']);
    expect(set[0]).toMatchObject({ balance: 'ip_hash', source: 'lb:set' });
    const counts = await spread(200);
    console.log(`ip_hash over 200 requests from one client: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts)).toHaveLength(1);
    expect(Object.keys(counts)[0]).toMatch(/^web\.[123]$/);
  });

  it('weighted splits close to the weights over 1,000 requests', async () => {
    const set = await shopJson<{ balance: string; replicas: { replica: string; weight: number }[] }[]>(
      ['lb:set', 'weighted', '--weight', 'web.1=3', '--weight', 'web.2=1', '--weight', 'web.3=1'],
    );
    expect(set[0]!.replicas.map((r) => [r.replica, r.weight])).toEqual([['web.1', 3], ['web.2', 1], ['web.3', 1]]);
    const counts = await spread(1000);
    console.log(`weighted 3:1:1 over 1000 requests: ${JSON.stringify(counts)} (expected 600/200/200)`);
    expect(Math.abs(counts['web.1']! - 600)).toBeLessThanOrEqual(40);
    expect(Math.abs(counts['web.2']! - 200)).toBeLessThanOrEqual(40);
    expect(Math.abs(counts['web.3']! - 200)).toBeLessThanOrEqual(40);
  });

  it('bad strategies and weights are refused', async () => {
    const bad = await shop(['lb:set', 'fastest']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"fastest" is not a strategy');
    const weight = await shop(['lb:set', 'weighted', '--weight', 'web.1=0']);
    expect(weight.exitCode).toBe(2);
    expect(weight.stderr).toContain('the weight of web.1 must be a whole number from 1 to 1000');
    const notWeighted = await shop(['lb:set', 'round_robin', '--weight', 'web.1=2']);
    expect(notWeighted.exitCode).toBe(2);
    const lb = await shopJson<{ balance: string }[]>(['lb']);
    expect(lb[0]!.balance).toBe('weighted');
  });

  it('least_conn sends requests to the replicas that are not busy', async () => {
    await shopJson(['lb:set', 'least_conn']);
    const slow = request(host.httpPort, 'shop.localhost', '/slow?ms=4000', { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    const counts = await spread(60, 'shop.localhost', 1);
    const busy = (await slow).body.trim();
    console.log(`least_conn: ${busy} busy with a 4 s request; 60 requests meanwhile: ${JSON.stringify(counts)}`);
    expect(busy).toMatch(/^web\.[123]$/);
    expect(counts[busy]).toBeUndefined();
    expect(Object.keys(counts)).toHaveLength(2);
  });

  it('a deploy keeps the domains, the certificate and lb:set\'s strategy', async () => {
    await shopJson(['lb:set', 'weighted', '--weight', 'web.1=3', '--weight', 'web.2=1', '--weight', 'web.3=1']);
    const deploy = await world.cli(['deploy', shopDir.dir, '--app', 'shop', ...world.at(host), '--json']);
    expect(deploy.exitCode, deploy.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(deploy.stdout).release).toBe(2);
    expect((await request(host.httpPort, WWW, '/whoami')).status).toBe(200);
    expect((await request(host.httpsPort, SECURE, '/whoami', { tls: { ca: cert, servername: SECURE } })).status).toBe(200);
    expect((await request(host.httpPort, SECURE, '/')).status).toBe(308);
    const counts = await spread(500);
    console.log(`weighted 3:1:1 after a deploy, 500 requests: ${JSON.stringify(counts)}`);
    expect(counts['web.1']).toBeGreaterThan(250);
    expect((await shopJson<{ balance: string }[]>(['lb']))[0]!.balance).toBe('weighted');

    const rollback = await shopJson<{ release: number }>(['rollback']);
    expect(rollback.release).toBe(3);
    expect((await request(host.httpPort, WWW, '/whoami')).status).toBe(200);
    expect((await request(host.httpsPort, SECURE, '/whoami', { tls: { ca: cert, servername: SECURE } })).status).toBe(200);
    const afterRollback = await spread(500);
    console.log(`weighted 3:1:1 after a rollback, 500 requests: ${JSON.stringify(afterRollback)}`);
    expect(afterRollback['web.1']).toBeGreaterThan(250);
  });
});

describe('apps:destroy', () => {
  it('refuses without a matching --confirm (no TTY) and changes nothing', async () => {
    const none = await world.cli(['apps:destroy', 'shop', ...world.at(host)]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('destroying shop needs --confirm shop when there is no terminal to ask');
    const wrong = await world.cli(['apps:destroy', 'shop', '--confirm', 'other', ...world.at(host)]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('--confirm "other" does not match the app shop');
    expect((await viaNginx(host, 'shop', '/whoami')).status).toBe(200);
  });

  it('removes everything of shop; other keeps serving throughout', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${host.httpPort}/`, hostHeader: 'other.localhost', expectBody: /Hello from the node example/, maxDurationMs: 120_000 });
    const result = await world.cli(['apps:destroy', 'shop', '--confirm', 'shop', ...world.at(host), '--json']);
    const report = await load.stop();
    console.log(`other during apps:destroy shop: ${formatLoadReport(report)}`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(report.sent).toBeGreaterThan(50);
    // shop leaves the sites table: no reload, so no connection of other's is closed.
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);

    expect((await onHost('docker ps -a --filter label=paas.app=shop -q')).out).toBe('');
    expect((await onHost('docker image ls -q paas/shop')).out).toBe('');
    expect((await onHost('docker ps --filter label=paas.app=other -q')).out).not.toBe('');
    expect((await onHost('docker image ls -q paas/other')).out).not.toBe('');
    const files = await onHost('cd /var/lib/paas && ls -d apps/* certs/* git/* routes/* nginx/*.conf 2>/dev/null');
    expect(files.out.split('\n').sort()).toEqual(['apps/other', 'git/other.git', 'nginx/000-paas.conf', 'nginx/001-agent.conf', 'routes/_sites', 'routes/other']);
    const sites = await onHost('cat /var/lib/paas/routes/_sites');
    expect(sites.out).toContain('name other.localhost other 0 0');
    expect(sites.out).not.toMatch(/shop|secure\.example\.test/);
    expect((await viaNginx(host, 'shop', '/')).status).toBe(404);
    expect((await request(host.httpPort, WWW, '/')).status).toBe(404);
    expect((await viaNginx(host, 'other', '/')).status).toBe(200);
    const apps = await world.cliJson<{ apps: { app: string }[] }[]>(['apps', ...world.at(host)]);
    expect(apps[0]!.apps.map((a) => a.app)).toEqual(['other']);
  });
});
