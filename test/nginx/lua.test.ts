// The paas Lua module (PAAS_LUA) inside a real nginx, through renderServer and the sites table:
// hosts route by the table, apps, domains and routes switch without a reload, and each strategy
// spreads requests as it says. Skipped where nginx, its Lua module or openssl is not installed
// (scripts/setup.sh installs nginx-light, libnginx-mod-http-lua and openssl on CI).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_HOST,
  PROBE_PATH,
  ROUTES_DIR,
  renderAgentServer,
  renderRoutes,
  renderServer,
  renderSites,
  type AppRoutes,
  type AppSite,
} from '../../src/nginx/config.js';
import { PAAS_LUA } from '../../src/nginx/lua.js';
import {
  freePort,
  get,
  listenOn,
  mainConf,
  makeCertificate,
  request,
  skipWithoutNginxLua,
  skipWithoutOpenssl,
  sleep,
  startBackend,
  startNginx,
  tally,
  writeReadable,
  type Backend,
  type Reply,
  type RunningNginx,
} from './harness.js';

const APP_HOST = 'shop.localhost';
const TOKEN = '1700000000000-lua1';
/** A test-only server (not paas's) that shows the module's shared dict. */
const DEBUG_HOST = 'paas-test.invalid';
const SHOP: AppSite = { app: 'shop', serverNames: [APP_HOST] };
const NO_APP = { status: 404, body: 'no app is served at this host name\n' };

/** Sends `count` requests one after the other. */
async function sequential(port: number, count: number, host = APP_HOST): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) replies.push(await get(port, host));
  return replies;
}

/** Sends `count` requests at once. */
function concurrent(port: number, count: number): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => get(port, APP_HOST)));
}

describe.skipIf(skipWithoutNginxLua || skipWithoutOpenssl)('the paas Lua module in a real nginx', () => {
  let dir = '';
  let routesDir = '';
  let port = 0;
  let nginx: RunningNginx | undefined;
  let masterPid = 0;
  let workersAtStart: number[] = [];
  let a: Backend;
  let b: Backend;
  let c: Backend;
  const backends: Backend[] = [];
  let generations = 1;

  const workerPids = () => nginx!.workerPids();
  const errorLog = () => nginx!.errorLog();

  /** Writes the app's route file (as the agent does) and asks nginx to load it; answers the body. */
  async function routeApp(app: string, routes: AppRoutes): Promise<string> {
    await writeReadable(path.join(routesDir, app), renderRoutes(routes));
    const reply = await get(port, AGENT_HOST, `/routes/${app}`);
    expect(reply.status).toBe(200);
    return reply.body;
  }
  const route = (routes: AppRoutes) => routeApp('shop', routes);

  /** Writes the sites table (a new generation) without loading it; answers the generation. */
  async function writeSites(sites: AppSite[]): Promise<string> {
    const generation = `g${++generations}`;
    await writeReadable(path.join(routesDir, '_sites'), renderSites(sites, generation));
    return generation;
  }

  /** Writes the sites table and has nginx load it (GET /sites on the agent server), as the agent does. */
  async function sites(list: AppSite[]): Promise<void> {
    const generation = await writeSites(list);
    expect(await get(port, AGENT_HOST, '/sites')).toEqual({ status: 200, body: `generation ${generation}\n` });
  }

  /** The shared dict's sites generation, from the test-only debug server. */
  async function dictGeneration(): Promise<Reply> {
    return get(port, DEBUG_HOST, '/generation');
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-lua-'));
    await fs.chmod(dir, 0o755);
    routesDir = path.join(dir, 'routes');
    for (const sub of ['lua', 'routes', 'conf.d', 'tls', 'challenges']) {
      await fs.mkdir(path.join(dir, sub));
      await fs.chmod(path.join(dir, sub), 0o755);
    }
    // Test only: the module reads route files from a hard-coded directory; point it at the temp dir.
    expect(PAAS_LUA.split(`"${ROUTES_DIR}/"`)).toHaveLength(2);
    await writeReadable(path.join(dir, 'lua', 'paas.lua'), PAAS_LUA.replace(`"${ROUTES_DIR}/"`, `"${routesDir}/"`));

    const placeholderCert = path.join(dir, 'tls', 'placeholder.crt');
    const placeholderKey = path.join(dir, 'tls', 'placeholder.key');
    await makeCertificate(placeholderCert, placeholderKey, ['paas-placeholder.invalid']);

    port = await freePort();
    const httpsPort = await freePort();
    const server = renderServer({ placeholderCert, placeholderKey, challengesDir: path.join(dir, 'challenges') });
    await writeReadable(path.join(dir, 'conf.d', 'server.conf'), listenOn(server, { http: port, https: httpsPort }));
    await writeReadable(path.join(dir, 'conf.d', 'agent.conf'), listenOn(renderAgentServer(TOKEN), { http: port }));
    // Test only, not a paas file: a server that lists the module's in-flight counters and sites generation.
    await writeReadable(path.join(dir, 'conf.d', 'debug.conf'), [
      'server {',
      `    listen 127.0.0.1:${port};`,
      `    server_name ${DEBUG_HOST};`,
      '    location = /generation { content_by_lua_block { ngx.say(ngx.shared.paas_routes:get("sites:generation") or "none") } }',
    '    location = /flush { content_by_lua_block {',
    '        ngx.shared.paas_routes:delete("sites")',
    '        ngx.shared.paas_routes:delete("sites:generation")',
    '        ngx.say("flushed")',
    '    } }',
      '    location / { content_by_lua_block {',
      '        local keys = ngx.shared.paas_routes:get_keys(0)',
      '        table.sort(keys)',
      '        for _, key in ipairs(keys) do',
      '            if key:find("^inflight:") then ngx.say(key, "=", ngx.shared.paas_routes:get(key)) end',
      '        end',
      '    } }',
      '}',
      '',
    ].join('\n'));
    await writeReadable(path.join(dir, 'nginx.conf'), mainConf(dir, { workers: 2, confDir: `${dir}/conf.d`, luaDir: `${dir}/lua` }));
    // The sites table is there before nginx starts, and nobody asks nginx to load it.
    await writeReadable(path.join(routesDir, '_sites'), renderSites([SHOP], 'g1'));

    a = await startBackend('a');
    b = await startBackend('b');
    c = await startBackend('c');
    backends.push(a, b, c);

    nginx = await startNginx(dir, 2, async () => (await get(port, AGENT_HOST, '/generation', 500)).status === 200);
    masterPid = nginx.masterPid;
    workersAtStart = await workerPids();
  }, 20_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(backends.map((backend) => backend.close()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 15_000);

  it('runs one master and two workers, and answers the generation token from loopback', async () => {
    expect(workersAtStart).toHaveLength(2);
    expect(Number((await fs.readFile(path.join(dir, 'nginx.pid'), 'utf8')).trim())).toBe(masterPid);
    expect(await get(port, AGENT_HOST, '/generation')).toEqual({ status: 200, body: TOKEN });
  });

  it('a fresh nginx reads the sites table from its file on the first request (nobody asked it to load it)', async () => {
    expect(await dictGeneration()).toEqual({ status: 200, body: 'none\n' });
    // shop is known (502: no route file yet, not 404), an unknown name is not
    expect((await get(port, APP_HOST)).status).toBe(502);
    expect(await get(port, 'nobody.localhost')).toEqual(NO_APP);
    expect(await dictGeneration()).toEqual({ status: 200, body: 'g1\n' });
    // and the agent's load answers the same generation
    expect(await get(port, AGENT_HOST, '/sites')).toEqual({ status: 200, body: 'generation g1\n' });
  });

  it('no route file: 502', async () => {
    const replies = await sequential(port, 4);
    expect(replies.map((reply) => reply.status)).toEqual([502, 502, 502, 502]);
    expect(await get(port, AGENT_HOST, '/routes/shop')).toEqual({ status: 200, body: 'none\n' });
    expect((await get(port, APP_HOST)).status).toBe(502);
  });

  it('round_robin over a and b: the agent loads version 1; requests alternate', async () => {
    expect(await route({ version: 1, balance: 'round_robin', upstreams: [{ port: a.port }, { port: b.port }] })).toBe('version 1\n');
    const counts = tally(await sequential(port, 100));
    expect(Object.keys(counts).sort()).toEqual(['a', 'b']);
    expect(counts.a).toBeGreaterThanOrEqual(40);
    expect(counts.a).toBeLessThanOrEqual(60);
    expect(counts.b).toBeGreaterThanOrEqual(40);
    expect(counts.b).toBeLessThanOrEqual(60);
  });

  it('switches to version 2 on c without a reload: same master, same workers', async () => {
    const workersBefore = await workerPids();
    expect(workersBefore).toEqual(workersAtStart);
    expect(await route({ version: 2, balance: 'round_robin', upstreams: [{ port: c.port }] })).toBe('version 2\n');
    const counts = tally(await sequential(port, 30));
    expect(counts).toEqual({ c: 30 });
    expect(await workerPids()).toEqual(workersBefore);
    expect(Number((await fs.readFile(path.join(dir, 'nginx.pid'), 'utf8')).trim())).toBe(masterPid);
    expect(await get(port, AGENT_HOST, '/generation')).toEqual({ status: 200, body: TOKEN });
  });

  it('a route file the agent has not asked nginx to load yet changes nothing', async () => {
    await writeReadable(path.join(routesDir, 'shop'), renderRoutes({ version: 3, balance: 'round_robin', upstreams: [{ port: a.port }] }));
    expect(tally(await sequential(port, 10))).toEqual({ c: 10 });
    expect((await get(port, AGENT_HOST, '/routes/shop')).body).toBe('version 3\n');
    expect(tally(await sequential(port, 10))).toEqual({ a: 10 });
  });

  it('weighted a:3, b:1 over 400 requests: a about 300, b about 100', async () => {
    expect(await route({ version: 4, balance: 'weighted', upstreams: [{ port: a.port, weight: 3 }, { port: b.port, weight: 1 }] })).toBe('version 4\n');
    const counts = tally(await sequential(port, 400));
    expect(Object.keys(counts).sort()).toEqual(['a', 'b']);
    expect(counts.a).toBeGreaterThanOrEqual(270);
    expect(counts.a).toBeLessThanOrEqual(330);
    expect(counts.b).toBe(400 - counts.a!);
  });

  it('ip_hash over a, b, c: every request of one client (127.0.0.1) goes to one server', async () => {
    expect(await route({ version: 5, balance: 'ip_hash', upstreams: [{ port: a.port }, { port: b.port }, { port: c.port }] })).toBe('version 5\n');
    const counts = tally(await sequential(port, 50));
    expect(Object.values(counts)).toEqual([50]);
    expect(['a', 'b', 'c']).toContain(Object.keys(counts)[0]);
  });

  /** The module's in-flight counters (least_conn), from the test-only debug server. */
  async function inflight(): Promise<Record<string, number>> {
    const { body } = await get(port, DEBUG_HOST, '/');
    return Object.fromEntries(body.split('\n').filter(Boolean).map((line) => {
      const [key, value] = line.split('=');
      return [key!, Number(value)];
    }));
  }

  it('least_conn over a (slow, 300 ms) and b: with 20 concurrent requests b gets most', async () => {
    expect(await route({ version: 6, balance: 'least_conn', upstreams: [{ port: a.port }, { port: b.port }] })).toBe('version 6\n');
    a.delayMs = 300;
    try {
      // 20 requests, one every 10 ms: all in flight together with a's first (slow) answer. Sent
      // in the very same instant they would split 10/10 (least_conn counts connections, and no
      // answer of b would be back yet); spaced, b's quick answers free it for the next ones.
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => sleep(i * 10).then(() => get(port, APP_HOST))));
      const counts = tally(replies);
      expect(replies.every((reply) => reply.status === 200)).toBe(true);
      expect(counts.b).toBeGreaterThan(10);
      // Every request's count was taken back when it was done (log_by_lua).
      expect(await inflight()).toEqual({ [`inflight:shop:${a.port}`]: 0, [`inflight:shop:${b.port}`]: 0 });
    } finally {
      a.delayMs = 0;
    }
  });

  it('round_robin with a peer that is down and a live one: every request is retried on the live one', async () => {
    const down = await freePort();
    expect(await route({ version: 7, balance: 'round_robin', upstreams: [{ port: down }, { port: b.port }] })).toBe('version 7\n');
    const replies = await sequential(port, 100);
    expect(tally(replies)).toEqual({ b: 100 });
  });

  // A retry never goes back to a peer this request already tried (ngx.ctx.paas_tried), whatever
  // the strategy: smooth-weight ties, an idle dead peer under least_conn, a shared round-robin position.
  it('weighted with a heavy peer that is down (3) and a live one (1): every request is retried on the live one', async () => {
    const down = await freePort();
    expect(await route({ version: 8, balance: 'weighted', upstreams: [{ port: down, weight: 3 }, { port: b.port, weight: 1 }] })).toBe('version 8\n');
    const counts = tally(await sequential(port, 100));
    expect(counts).toEqual({ b: 100 });
  });

  // least_conn [down, b busy]: the down peer fails at once, so it always has the fewest requests
  // in flight; without the tried set, the first pick and the retry both chose it (18 of 20 requests got 502).
  it('least_conn with a peer that is down and a live one that is busy: every request is retried on the live one', async () => {
    const down = await freePort();
    expect(await route({ version: 9, balance: 'least_conn', upstreams: [{ port: down }, { port: b.port }] })).toBe('version 9\n');
    b.delayMs = 100;
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => sleep(i * 10).then(() => get(port, APP_HOST))));
      const counts = tally(replies);
      expect(counts).toEqual({ b: 20 });
    } finally {
      b.delayMs = 0;
    }
  });

  // round_robin [c answers 503 after 50 ms, b], 40 at once: the position is per worker and shared
  // by all its requests, so without the tried set the retry took whatever came next, often c again (10-11 of
  // 40 requests got 503). (Sequential requests happen to alternate, see the test above.)
  it('round_robin with a peer that answers 503 slowly and a live one, concurrent requests: every request is retried on the live one', async () => {
    c.status = 503;
    c.delayMs = 50;
    try {
      expect(await route({ version: 10, balance: 'round_robin', upstreams: [{ port: c.port }, { port: b.port }] })).toBe('version 10\n');
      const counts = tally(await concurrent(port, 40));
      expect(counts).toEqual({ b: 40 });
    } finally {
      c.status = 200;
      c.delayMs = 0;
    }
  });

  it('zero upstreams (scaled to 0): 502 again', async () => {
    expect(await route({ version: 11, balance: 'round_robin', upstreams: [] })).toBe('version 11\n');
    expect((await sequential(port, 3)).map((reply) => reply.status)).toEqual([502, 502, 502]);
  });

  it('a host name no app has: 404 with its text body, for any path (the backends never see it)', async () => {
    expect(await route({ version: 12, balance: 'round_robin', upstreams: [{ port: a.port }] })).toBe('version 12\n');
    expect(tally(await sequential(port, 4))).toEqual({ a: 4 });
    for (const [host, urlPath] of [['nobody.localhost', '/'], ['localhost', '/x?y=1'], ['shop.localhost.example.com', '/'], ['127.0.0.1', '/']] as const) {
      const reply = await request(port, host, urlPath);
      expect({ status: reply.status, body: reply.body }).toEqual(NO_APP);
      expect(reply.headers['content-type']).toBe('text/plain');
      expect(reply.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('the Host in upper case, with a trailing dot or a port routes to the app', async () => {
    expect(tally(await sequential(port, 2, 'SHOP.LOCALHOST'))).toEqual({ a: 2 });
    expect(tally(await sequential(port, 2, 'Shop.Localhost.'))).toEqual({ a: 2 });
    expect(tally(await sequential(port, 2, `${APP_HOST}:${port}`))).toEqual({ a: 2 });
  });

  it('the probe answers which app a name is (from loopback, as every request here is); unknown names 404', async () => {
    expect(await get(port, APP_HOST, PROBE_PATH)).toEqual({ status: 200, body: 'paas app shop\n' });
    expect(await get(port, 'SHOP.localhost', PROBE_PATH)).toEqual({ status: 200, body: 'paas app shop\n' });
    expect((await get(port, 'nobody.localhost', PROBE_PATH)).status).toBe(404);
  });

  it('a second app and a domain: rewriting the table and GET /sites routes them, with the same master and workers', async () => {
    const workersBefore = await workerPids();
    expect(workersBefore).toEqual(workersAtStart);
    expect(await routeApp('blog', { version: 1, balance: 'round_robin', upstreams: [{ port: b.port }] })).toBe('version 1\n');
    // the route file alone does not make blog's names known
    expect(await get(port, 'blog.localhost')).toEqual(NO_APP);
    await sites([{ app: 'shop', serverNames: [APP_HOST, 'www.shop.test'] }, { app: 'blog', serverNames: ['blog.localhost'] }]);
    expect(tally(await sequential(port, 6, 'blog.localhost'))).toEqual({ b: 6 });
    expect(tally(await sequential(port, 6, 'www.shop.test'))).toEqual({ a: 6 });
    expect(tally(await sequential(port, 6))).toEqual({ a: 6 });
    expect(await get(port, 'www.shop.test', PROBE_PATH)).toEqual({ status: 200, body: 'paas app shop\n' });
    expect(await get(port, 'blog.localhost', PROBE_PATH)).toEqual({ status: 200, body: 'paas app blog\n' });
    expect(await workerPids()).toEqual(workersBefore);
    expect(Number((await fs.readFile(path.join(dir, 'nginx.pid'), 'utf8')).trim())).toBe(masterPid);
  });

  it('a sites table written but not loaded changes nothing until GET /sites', async () => {
    const generation = await writeSites([SHOP]);
    expect(tally(await sequential(port, 6, 'blog.localhost'))).toEqual({ b: 6 });
    expect(tally(await sequential(port, 6, 'www.shop.test'))).toEqual({ a: 6 });
    expect(await get(port, AGENT_HOST, '/sites')).toEqual({ status: 200, body: `generation ${generation}\n` });
    // every worker sees it at once: a run of requests over both workers, all refused
    expect(tally(await sequential(port, 6, 'blog.localhost'))).toEqual({ 404: 6 });
    expect(tally(await sequential(port, 6, 'www.shop.test'))).toEqual({ 404: 6 });
    expect(tally(await sequential(port, 6))).toEqual({ a: 6 });
  });

  it('an app removed from the table: its names 404 at once, its route file left alone does not matter', async () => {
    await sites([SHOP, { app: 'blog', serverNames: ['blog.localhost', 'blog.test'] }]);
    expect(tally(await sequential(port, 4, 'blog.test'))).toEqual({ b: 4 });
    await sites([SHOP]);
    expect(await get(port, 'blog.test')).toEqual(NO_APP);
    expect(tally(await sequential(port, 6, 'blog.localhost'))).toEqual({ 404: 6 });
    expect((await get(port, 'blog.localhost', PROBE_PATH)).status).toBe(404);
    expect(tally(await sequential(port, 4))).toEqual({ a: 4 });
    expect(await workerPids()).toEqual(workersAtStart);
  });

  it('a wildcard site *.wild.test routes a.wild.test, not wild.test nor a.b.wild.test; an exact name wins over it', async () => {
    expect(await routeApp('wild', { version: 1, balance: 'round_robin', upstreams: [{ port: c.port }] })).toBe('version 1\n');
    await sites([
      { app: 'shop', serverNames: [APP_HOST, 'exact.wild.test'] },
      { app: 'wild', serverNames: ['*.wild.test'] },
    ]);
    expect(tally(await sequential(port, 4, 'a.wild.test'))).toEqual({ c: 4 });
    expect(tally(await sequential(port, 2, 'Other-Name.WILD.test.'))).toEqual({ c: 2 });
    expect(await get(port, 'wild.test')).toEqual(NO_APP);
    expect(await get(port, 'a.b.wild.test')).toEqual(NO_APP);
    expect(await get(port, 'awild.test')).toEqual(NO_APP);
    expect(tally(await sequential(port, 4, 'exact.wild.test'))).toEqual({ a: 4 });
    expect(await get(port, 'a.wild.test', PROBE_PATH)).toEqual({ status: 200, body: 'paas app wild\n' });
    expect(await workerPids()).toEqual(workersAtStart);
  });

  it('the shared dict emptied (as at a fresh start): the table is read from its file again, the newest one', async () => {
    const generation = await writeSites([{ app: 'shop', serverNames: [APP_HOST, 'fresh.test'] }]);
    // not loaded: fresh.test is unknown
    expect(await get(port, 'fresh.test')).toEqual(NO_APP);
    // Test only: empty the dict's sites entries (what a fresh nginx has).
    expect(await get(port, DEBUG_HOST, '/flush')).toEqual({ status: 200, body: 'flushed\n' });
    expect(await dictGeneration()).toEqual({ status: 200, body: 'none\n' });
    expect(tally(await sequential(port, 6, 'fresh.test'))).toEqual({ a: 6 });
    expect(await dictGeneration()).toEqual({ status: 200, body: `${generation}\n` });
    expect(await workerPids()).toEqual(workersAtStart);
  });

  it('the agent server refuses app names the module would not read', async () => {
    expect((await get(port, AGENT_HOST, '/routes/Shop')).status).toBe(404);
    expect((await get(port, AGENT_HOST, '/routes/..%2Fshop')).status).toBe(404);
    expect((await get(port, AGENT_HOST, '/routes/')).status).toBe(404);
    expect((await get(port, AGENT_HOST, '/sites/x')).status).toBe(404);
  });

  it('the error log holds no Lua error', async () => {
    const log = await errorLog();
    expect(log).toContain('connect() failed'); // the log is the right one: the down peer is in it
    expect(log).not.toMatch(/lua entry thread aborted|runtime error|failed to run|paas: |attempt to|\[(alert|crit|emerg)\]/);
  });
});
