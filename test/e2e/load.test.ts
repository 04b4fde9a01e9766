import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { formatLoadReport, startLoad } from './load.js';

type Mode = 'ok' | '500' | 'destroy' | 'wrong-body' | 'hang';

/** A local server whose behaviour the test switches while load runs. */
function testServer(): { server: http.Server; url: () => string; state: { mode: Mode; connections: number; hosts: Set<string> } } {
  const state = { mode: 'ok' as Mode, connections: 0, hosts: new Set<string>() };
  const server = http.createServer((req, res) => {
    state.hosts.add(req.headers.host ?? '');
    if (state.mode === 'hang') return;
    if (state.mode === 'destroy') return req.socket.destroy();
    if (state.mode === '500') {
      res.writeHead(500).end('boom');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(state.mode === 'wrong-body' ? 'something else\n' : 'hello v1\n');
  });
  server.on('connection', () => state.connections++);
  return { server, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, state };
}

async function listen(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const servers: http.Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('load generator', () => {
  it('sends steady load over keep-alive and new connections with no failures against a healthy server', async () => {
    const { server, url, state } = testServer();
    servers.push(server);
    await listen(server);

    const load = startLoad({ url: url(), hostHeader: 'shop.localhost', expectBody: /hello v1/ });
    await sleep(750);
    expect(load.snapshot().sent).toBeGreaterThan(0);
    await sleep(750);
    const report = await load.stop();
    console.log(formatLoadReport(report));

    expect(report.sent).toBeGreaterThan(200);
    expect(report.failed).toBe(0);
    expect(report.ok).toBe(report.sent);
    expect(report.byStatus).toEqual({ '200': report.sent });
    expect(report.bodies).toEqual({ 'hello v1': report.sent });
    expect(report.keepAlive.sent).toBeGreaterThan(0);
    expect(report.newConnection.sent).toBeGreaterThan(0);
    expect(report.keepAlive.sent + report.newConnection.sent).toBe(report.sent);
    expect(state.hosts).toEqual(new Set(['shop.localhost']));
    // Keep-alive clients reuse their connection: one per keep-alive client, one per new-connection request.
    expect(state.connections).toBeLessThanOrEqual(report.newConnection.sent + 8);
    expect(formatLoadReport(report)).toMatch(/^load: \d+ requests in [\d.]+ s \(\d+\/s\), 0 failed; keep-alive \d+\/0, new-connection \d+\/0; bodies: "hello v1" ×\d+$/);
  });

  it('counts 500s, dropped connections, wrong bodies and timeouts as failures', async () => {
    const { server, url, state } = testServer();
    servers.push(server);
    await listen(server);

    const load = startLoad({ url: url(), expectBody: /hello v1/, requestTimeoutMs: 300 });
    await sleep(300);
    for (const mode of ['500', 'destroy', 'wrong-body', 'hang'] as const) {
      state.mode = mode;
      await sleep(mode === 'hang' ? 400 : 200);
    }
    state.mode = 'ok';
    const okAtRecovery = load.snapshot().ok;
    await sleep(500);
    const report = await load.stop();
    console.log(formatLoadReport(report));

    expect(report.failed).toBeGreaterThan(0);
    expect(report.byStatus['500']).toBeGreaterThan(0);
    expect(Object.keys(report.byStatus).some((kind) => kind.startsWith('error:'))).toBe(true);
    expect(report.byStatus['body-mismatch']).toBeGreaterThan(0);
    expect(report.byStatus['timeout']).toBeGreaterThan(0);
    expect(report.byStatus['200']).toBe(report.ok);
    expect(report.ok + report.failed).toBe(report.sent);
    expect(report.keepAlive.failed + report.newConnection.failed).toBe(report.failed);
    expect(report.failures.length).toBe(Math.min(50, report.failed));
    expect(report.failures[0]?.at).toBeGreaterThanOrEqual(250);
    expect(report.bodies['hello v1']).toBe(report.ok);
    // The clients carry on after the bad window (no client loop died with it).
    expect(report.ok).toBeGreaterThan(okAtRecovery + 100);
    expect(formatLoadReport(report)).toMatch(/[1-9]\d* failed;.*failures: .*500 ×\d+/);
  });

  it('stops by itself at maxRequests', async () => {
    const { server, url } = testServer();
    servers.push(server);
    await listen(server);

    const load = startLoad({ url: url().replace('127.0.0.1', '127.1'), maxRequests: 30 });
    await sleep(500);
    const before = load.snapshot();
    const report = await load.stop();
    expect(before.sent).toBe(30);
    expect(report.sent).toBe(30);
    expect(report.failed).toBe(0);
  });

  it('refuses a non-loopback URL before sending anything', () => {
    const request = vi.spyOn(http, 'request');
    try {
      for (const url of ['http://10.0.0.1/', 'http://example.com/', 'http://128.0.0.1/', 'http://[::2]/', 'http://localhost.example.com/', 'https://127.0.0.1/']) {
        expect(() => startLoad({ url, maxRequests: 1 }), url).toThrow(/load:/);
      }
      expect(request).not.toHaveBeenCalled();
    } finally {
      request.mockRestore();
    }
  });
});
