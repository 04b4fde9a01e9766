import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * A constant-load HTTP generator for the zero-downtime tests: closed-loop clients (no sleep) over
 * keep-alive connections and over a new connection per request, counting every failure honestly
 * (no retries). Load only goes to this machine: the URL must be a loopback address.
 */

export interface LoadOptions {
  /** e.g. http://127.0.0.1:32775/ — must be loopback (127.0.0.0/8, localhost or [::1]). */
  url: string;
  /** Host header to send (nginx routes by it), e.g. 'shop.localhost'. */
  hostHeader?: string;
  /** Default 8: each a closed loop reusing one keep-alive connection. */
  keepAliveClients?: number;
  /** Default 4: each a closed loop opening a new connection per request. */
  newConnectionClients?: number;
  /** Hard cap on total requests (default 200_000). */
  maxRequests?: number;
  /** Hard cap on duration (default 10 minutes). */
  maxDurationMs?: number;
  /** Default 5000: a request with no complete response by then is a failure. */
  requestTimeoutMs?: number;
  /** A 200 response whose body does not match counts as a failure. */
  expectBody?: RegExp;
  /** For https:// URLs: the only roots trusted, and the SNI name (the Host header by default). */
  tls?: { ca: string; servername?: string };
}

export interface LoadReport {
  /** Requests completed (answered or failed): always ok + failed. */
  sent: number;
  ok: number;
  failed: number;
  durationMs: number;
  requestsPerSecond: number;
  /** '200', '502', 'error:ECONNRESET', 'timeout', 'body-mismatch' → count. */
  byStatus: Record<string, number>;
  /** Distinct bodies of 200 responses (trimmed, first 80 chars) → count. */
  bodies: Record<string, number>;
  /** The first 50 failures; `at` is ms since start. */
  failures: { at: number; kind: string; detail: string }[];
  keepAlive: { sent: number; failed: number };
  newConnection: { sent: number; failed: number };
}

type ClientKind = 'keepAlive' | 'newConnection';
interface Outcome {
  kind: string; // '200' when ok, otherwise the failure kind
  ok: boolean;
  detail: string;
  body?: string;
}

const MAX_FAILURES_KEPT = 50;

/** Parses the URL and throws unless it is plain http to a loopback address. */
function loopbackUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`load: only http:// and https:// URLs are supported, got ${raw}`);
  const host = url.hostname; // WHATWG-normalised: 127.1 → 127.0.0.1, IPv6 in brackets
  const loopback =
    host === 'localhost' || host === '[::1]' || (net.isIPv4(host) && host.split('.')[0] === '127');
  if (!loopback) throw new Error(`load: refusing to send load to non-loopback address ${host} (${raw})`);
  return url;
}

export function startLoad(options: LoadOptions): { stop(): Promise<LoadReport>; snapshot(): LoadReport } {
  const url = loopbackUrl(options.url);
  const keepAliveClients = options.keepAliveClients ?? 8;
  const newConnectionClients = options.newConnectionClients ?? 4;
  const maxRequests = options.maxRequests ?? 200_000;
  const maxDurationMs = options.maxDurationMs ?? 10 * 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  // Without g/y flags, so test() keeps no state between responses.
  const expectBody = options.expectBody && new RegExp(options.expectBody.source, options.expectBody.flags.replace(/[gy]/g, ''));
  const baseHeaders: http.OutgoingHttpHeaders = options.hostHeader ? { host: options.hostHeader } : {};

  const startedAt = Date.now();
  let endedAt: number | undefined;
  let stopping = false;
  let started = 0;
  const counts = { sent: 0, ok: 0, failed: 0 };
  const byStatus: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  const failures: LoadReport['failures'] = [];
  const perKind = { keepAlive: { sent: 0, failed: 0 }, newConnection: { sent: 0, failed: 0 } };
  const agents: http.Agent[] = [];
  const secure = url.protocol === 'https:';
  if (secure && !options.tls) throw new Error('load: an https:// URL needs tls.ca');
  const tlsOptions = secure ? { ca: options.tls!.ca, servername: options.tls!.servername ?? options.hostHeader ?? url.hostname } : {};
  const newAgent = () => (secure ? new https.Agent({ keepAlive: true, maxSockets: 1, ...tlsOptions }) : new http.Agent({ keepAlive: true, maxSockets: 1 }));

  /** One request; resolves (never rejects) with its outcome, exactly once. */
  function requestOnce(agent: http.Agent | false): Promise<Outcome> {
    return new Promise((resolve) => {
      // A wall-clock deadline for the whole exchange (connect, headers and body).
      const timer = setTimeout(() => {
        settle({ kind: 'timeout', ok: false, detail: `no complete response within ${requestTimeoutMs} ms` });
        req.destroy();
      }, requestTimeoutMs);
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const fail = (err: Error): void => {
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
        settle({ kind: `error:${code}`, ok: false, detail: err.message });
      };
      const headers = agent === false ? { ...baseHeaders, connection: 'close' } : baseHeaders;
      const req = (secure ? https : http).request(url, { method: 'GET', agent, headers, ...tlsOptions }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(Object.assign(new Error('response closed before it was complete'), { code: 'ECONNRESET' }));
        });
        res.on('end', () => {
          const status = String(res.statusCode);
          const shown = body.trim().slice(0, 80);
          if (status !== '200') settle({ kind: status, ok: false, detail: `HTTP ${status}: ${shown}` });
          else if (expectBody && !expectBody.test(body))
            settle({ kind: 'body-mismatch', ok: false, detail: `body ${JSON.stringify(shown)} does not match ${expectBody}` });
          else settle({ kind: status, ok: true, detail: '', body: shown });
        });
      });
      req.on('error', fail);
      req.end();
    });
  }

  function record(client: ClientKind, outcome: Outcome): void {
    counts.sent++;
    perKind[client].sent++;
    byStatus[outcome.kind] = (byStatus[outcome.kind] ?? 0) + 1;
    if (outcome.ok) {
      counts.ok++;
      if (outcome.body !== undefined) bodies[outcome.body] = (bodies[outcome.body] ?? 0) + 1;
      return;
    }
    counts.failed++;
    perKind[client].failed++;
    if (failures.length < MAX_FAILURES_KEPT)
      failures.push({ at: Date.now() - startedAt, kind: outcome.kind, detail: outcome.detail });
  }

  /** A closed loop: request → record → next, until stopped or a cap is reached. */
  async function loop(client: ClientKind, agent: http.Agent | false): Promise<void> {
    while (!stopping && started < maxRequests && Date.now() - startedAt < maxDurationMs) {
      started++;
      record(client, await requestOnce(agent));
    }
  }

  const loops: Promise<void>[] = [];
  for (let i = 0; i < keepAliveClients; i++) {
    // One pooled socket per client; node drops sockets the server closes while idle from the pool,
    // so only a request actually written on a dying connection fails.
    const agent = newAgent();
    agents.push(agent);
    loops.push(loop('keepAlive', agent));
  }
  for (let i = 0; i < newConnectionClients; i++) loops.push(loop('newConnection', false));
  const finished = Promise.all(loops).then(() => {
    endedAt = Date.now();
  });

  function snapshot(): LoadReport {
    const durationMs = (endedAt ?? Date.now()) - startedAt;
    return {
      ...counts,
      durationMs,
      requestsPerSecond: durationMs > 0 ? Math.round((counts.sent / durationMs) * 10_000) / 10 : 0,
      byStatus: { ...byStatus },
      bodies: { ...bodies },
      failures: failures.map((f) => ({ ...f })),
      keepAlive: { ...perKind.keepAlive },
      newConnection: { ...perKind.newConnection },
    };
  }

  let stopped: Promise<LoadReport> | undefined;
  function stop(): Promise<LoadReport> {
    stopping = true;
    // In-flight requests settle within requestTimeoutMs (each has its own timer).
    stopped ??= finished.then(() => {
      for (const agent of agents) agent.destroy();
      return snapshot();
    });
    return stopped;
  }

  return { stop, snapshot };
}

/** One readable line for test output. */
export function formatLoadReport(report: LoadReport): string {
  const tally = (record: Record<string, number>, quote = false): string =>
    Object.entries(record)
      .sort((a, b) => b[1] - a[1])
      .map(([key, n]) => `${quote ? JSON.stringify(key) : key} ×${n}`)
      .join(', ') || 'none';
  const failedKinds = Object.fromEntries(Object.entries(report.byStatus).filter(([kind]) => kind !== '200'));
  let line =
    `load: ${report.sent} requests in ${(report.durationMs / 1000).toFixed(1)} s (${Math.round(report.requestsPerSecond)}/s), ` +
    `${report.failed} failed; keep-alive ${report.keepAlive.sent}/${report.keepAlive.failed}, ` +
    `new-connection ${report.newConnection.sent}/${report.newConnection.failed}; bodies: ${tally(report.bodies, true)}`;
  if (report.failed > 0) {
    const first = report.failures[0];
    line += `; failures: ${tally(failedKinds)}`;
    if (first) line += `; first at ${first.at} ms: ${first.kind} ${first.detail}`;
  }
  return line;
}
