// The paas Lua balancer (PAAS_LUA) inside a real nginx: routes switch without a reload, and each
// strategy spreads requests as it says. Skipped where nginx or its Lua module is not installed
// (scripts/setup.sh installs nginx-light and libnginx-mod-http-lua on CI).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_HOST, ROUTES_DIR, renderAgentServer, renderAppConfig, renderRoutes, type AppRoutes } from '../../src/nginx/config.js';
import { PAAS_LUA } from '../../src/nginx/lua.js';
import {
  freePort,
  get,
  loadModuleLines,
  NGINX,
  skipWithoutNginxLua,
  sleep,
  startBackend,
  tally,
  tempPathLines,
  type Backend,
  type Reply,
} from './harness.js';

const APP_HOST = 'shop.localhost';
const TOKEN = '1700000000000-lua1';
/** A test-only server (not paas's) that shows the module's shared dict. */
const DEBUG_HOST = 'paas-test.invalid';

/** Sends `count` requests one after the other. */
async function sequential(port: number, count: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) replies.push(await get(port, APP_HOST));
  return replies;
}

/** Sends `count` requests at once. */
function concurrent(port: number, count: number): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => get(port, APP_HOST)));
}

describe.skipIf(skipWithoutNginxLua)('the paas Lua balancer in a real nginx', () => {
  let dir = '';
  let routesDir = '';
  let port = 0;
  let nginx: ResultPromise | undefined;
  let masterPid = 0;
  let workersAtStart: number[] = [];
  let a: Backend;
  let b: Backend;
  let c: Backend;
  const backends: Backend[] = [];

  async function workerPids(): Promise<number[]> {
    const { stdout } = await execa('ps', ['-o', 'pid=', '--ppid', String(masterPid)], { reject: false });
    return stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0).sort((x, y) => x - y);
  }

  /** Files the nginx workers (an unprivileged user when the tests run as root) must read. */
  async function writeReadable(file: string, text: string): Promise<void> {
    await fs.writeFile(file, text);
    await fs.chmod(file, 0o644);
  }

  /** Writes the app's route file (as the agent does) and asks nginx to load it; answers the body. */
  async function route(routes: AppRoutes): Promise<string> {
    await writeReadable(path.join(routesDir, 'shop'), renderRoutes(routes));
    const reply = await get(port, AGENT_HOST, '/routes/shop');
    expect(reply.status).toBe(200);
    return reply.body;
  }

  async function errorLog(): Promise<string> {
    return fs.readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-lua-'));
    await fs.chmod(dir, 0o755);
    routesDir = path.join(dir, 'routes');
    for (const sub of ['lua', 'routes', 'conf.d']) {
      await fs.mkdir(path.join(dir, sub));
      await fs.chmod(path.join(dir, sub), 0o755);
    }
    // Test only: the module reads route files from a hard-coded directory; point it at the temp dir.
    expect(PAAS_LUA.split(`"${ROUTES_DIR}/"`)).toHaveLength(2);
    await writeReadable(path.join(dir, 'lua', 'paas.lua'), PAAS_LUA.replace(`"${ROUTES_DIR}/"`, `"${routesDir}/"`));

    port = await freePort();
    const listen = (text: string) => {
      expect(text).toContain('    listen 80;\n');
      return text.replace('    listen 80;\n', `    listen 127.0.0.1:${port};\n`);
    };
    await writeReadable(path.join(dir, 'conf.d', 'app-shop.conf'), listen(renderAppConfig({ app: 'shop', serverNames: [APP_HOST] })));
    await writeReadable(path.join(dir, 'conf.d', 'agent.conf'), listen(renderAgentServer(TOKEN)));
    // Test only, not a paas file: a server that lists the module's in-flight counters.
    await writeReadable(path.join(dir, 'conf.d', 'debug.conf'), [
      'server {',
      `    listen 127.0.0.1:${port};`,
      `    server_name ${DEBUG_HOST};`,
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
    await writeReadable(path.join(dir, 'nginx.conf'), [
      ...loadModuleLines(),
      'daemon off;',
      'master_process on;',
      'worker_processes 2;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events {}',
      'http {',
      '    lua_shared_dict paas_routes 4m;',
      `    lua_package_path "${dir}/lua/?.lua;;";`,
      '    access_log off;',
      ...tempPathLines(dir).map((line) => `    ${line}`),
      `    include ${dir}/conf.d/*.conf;`,
      '}',
      '',
    ].join('\n'));

    a = await startBackend('a');
    b = await startBackend('b');
    c = await startBackend('c');
    backends.push(a, b, c);

    nginx = execa(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { reject: false, all: true });
    masterPid = nginx.pid ?? 0;
    expect(masterPid).toBeGreaterThan(0);
    let exited = false;
    void nginx.then(() => (exited = true));
    for (let i = 0; ; i++) {
      if (exited) throw new Error(`nginx exited: ${(await nginx).all}\n${await errorLog()}`);
      const reply = await get(port, AGENT_HOST, '/generation', 500).catch(() => undefined);
      if (reply?.status === 200) break;
      if (i > 100) throw new Error(`nginx did not answer within 5 s\n${await errorLog()}`);
      await sleep(50);
    }
    for (let i = 0; (workersAtStart = await workerPids()).length < 2 && i < 40; i++) await sleep(50);
  }, 15_000);

  afterAll(async () => {
    if (nginx && masterPid > 0) {
      const workers = await workerPids();
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
    await Promise.all(backends.map((backend) => backend.close()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 15_000);

  it('runs one master and two workers, and answers the generation token from loopback', async () => {
    expect(workersAtStart).toHaveLength(2);
    expect(Number((await fs.readFile(path.join(dir, 'nginx.pid'), 'utf8')).trim())).toBe(masterPid);
    expect(await get(port, AGENT_HOST, '/generation')).toEqual({ status: 200, body: TOKEN });
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

  it('the agent server refuses app names the module would not read', async () => {
    expect((await get(port, AGENT_HOST, '/routes/Shop')).status).toBe(404);
    expect((await get(port, AGENT_HOST, '/routes/..%2Fshop')).status).toBe(404);
    expect((await get(port, AGENT_HOST, '/routes/')).status).toBe(404);
  });

  it('the error log holds no Lua error', async () => {
    const log = await errorLog();
    expect(log).toContain('connect() failed'); // the log is the right one: the down peer is in it
    expect(log).not.toMatch(/lua entry thread aborted|runtime error|failed to run|paas: |\[(alert|crit|emerg)\]/);
  });
});
