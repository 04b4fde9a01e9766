import http from 'node:http';
import { PaasError } from '../errors.js';
import type { Healthcheck } from '../detect/types.js';
import { logsArgv } from '../release/docker.js';
import { docker, sleep } from './exec.js';
import { apiName, engineEvents, engineGet } from './engine.js';

export interface Probe {
  ok: boolean;
  detail: string;
}

function httpProbe(port: number, check: Healthcheck): Promise<Probe> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: check.path, timeout: check.timeoutMs, agent: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      const ok = check.status !== undefined ? status === check.status : status >= 200 && status < 400;
      resolve({ ok, detail: `GET ${check.path} answered ${status}${ok ? '' : check.status !== undefined ? ` (expected ${check.status})` : ' (expected 2xx or 3xx)'}` });
    });
    request.on('timeout', () => { request.destroy(); resolve({ ok: false, detail: `GET ${check.path} got no answer within ${check.timeoutMs} ms` }); });
    request.on('error', (error) => resolve({ ok: false, detail: `GET ${check.path} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}` }));
  });
}

/**
 * Without a configured check: the app answers HTTP on its port, whatever the status. A TCP
 * connect would prove nothing: Docker's userland proxy accepts on a published port before the
 * app inside listens (and resets the connection then).
 */
function answersProbe(port: number, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve({ ok: true, detail: `GET / answered ${response.statusCode}` });
    });
    request.on('timeout', () => { request.destroy(); resolve({ ok: false, detail: `GET / got no answer within ${timeoutMs} ms` }); });
    request.on('error', (error) => resolve({ ok: false, detail: `the app does not answer HTTP on its port (${(error as NodeJS.ErrnoException).code ?? error.message})` }));
  });
}

export async function containerState(id: string, name = id): Promise<{ running: boolean; exitCode: number; restarts: number; created: string }> {
  const { status, body } = await engineGet<{ State: { Running: boolean; ExitCode: number }; RestartCount: number; Created: string }>(`/containers/${apiName(id)}/json`);
  if (status !== 200 || !body) throw new PaasError('healthcheck', `the container ${name} is gone (the engine answered ${status})`, { where: name });
  return { running: body.State.Running, exitCode: body.State.ExitCode, restarts: body.RestartCount, created: body.Created };
}

/**
 * The code the container last exited with. Once the engine has restarted it, State.ExitCode is
 * 0 again (the process runs), so the code comes from its last "die" event.
 */
async function lastExitCode(id: string, state: { running: boolean; exitCode: number; created: string }): Promise<number | undefined> {
  if (!state.running) return state.exitCode;
  const since = Date.parse(state.created) / 1000;
  const events = await engineEvents({ container: [id], event: ['die'] }, Number.isFinite(since) ? since : Date.now() / 1000 - 3600).catch(() => []);
  const code = Number(events.at(-1)?.Actor?.Attributes?.exitCode);
  return Number.isInteger(code) ? code : undefined;
}

export async function containerLogTail(id: string, lines = 30): Promise<string[]> {
  const { stdout, stderr } = await docker(logsArgv(id, lines), { check: false, timeoutMs: 30_000 });
  return `${stdout}${stderr}`.split('\n').filter((l) => l.trim()).slice(-lines);
}

async function exitedError(id: string, name: string, state: Awaited<ReturnType<typeof containerState>>): Promise<PaasError> {
  const code = await lastExitCode(id, state);
  return new PaasError('healthcheck', `${name} exited${code === undefined ? '' : ` with code ${code}`}${state.running ? ' and was restarted' : ''} before it became healthy`, {
    where: name,
    details: await containerLogTail(id),
    hint: 'the lines above are the end of its log; fix the app so it starts and stays up',
  });
}

/** A process without a port (a worker): healthy once it has run for `stayUpMs` without exiting or being restarted. */
export async function waitStaysUp(id: string, name: string, stayUpMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const state = await containerState(id, name);
    if (!state.running || state.restarts > 0) throw await exitedError(id, name, state);
    const left = stayUpMs - (Date.now() - started);
    if (left <= 0) return;
    await sleep(Math.min(100, left));
  }
}

/**
 * Without a configured check: the app answers HTTP and the process stays up. Probes come every
 * 25 ms until the first answer (a probe is one Engine API read and one HTTP request), and the
 * second answer must come 50 ms later from the same, still running process.
 */
const PORT_CHECK = { pollMs: 25, intervalMs: 50, successes: 2, timeoutMs: 2000 };

/**
 * Waits until the container passes its health check `successes` times in a row. Fails at once
 * if the process exits or restarts, or when the deadline passes.
 */
export async function waitHealthy(id: string, name: string, port: number | undefined, check: Healthcheck | undefined, deadlineMs: number): Promise<void> {
  const started = Date.now();
  const successesNeeded = check?.successes ?? PORT_CHECK.successes;
  const intervalMs = check?.intervalMs ?? PORT_CHECK.intervalMs;
  let streak = 0;
  let last: Probe = { ok: false, detail: 'not checked yet' };
  for (;;) {
    const state = await containerState(id, name);
    if (!state.running || state.restarts > 0) throw await exitedError(id, name, state);
    if (port === undefined) {
      last = { ok: true, detail: 'running' };
    } else {
      last = check ? await httpProbe(port, check) : await answersProbe(port, PORT_CHECK.timeoutMs);
    }
    streak = last.ok ? streak + 1 : 0;
    if (streak >= successesNeeded) return;
    if (Date.now() - started > deadlineMs) {
      throw new PaasError('healthcheck', `${name} did not pass its health check within ${Math.round(deadlineMs / 1000)} s: ${last.detail}`, {
        where: name,
        details: await containerLogTail(id),
        hint: check ? `make ${check.path} answer ${check.status ?? '2xx'} (paas.yml healthcheck), or fix the app` : 'the web process must answer HTTP on the port in $PORT',
      });
    }
    await sleep(streak === 0 && !check ? PORT_CHECK.pollMs : intervalMs);
  }
}
