import http from 'node:http';
import { PaasError } from '../errors.js';
import type { ContainerCreate, NetworkCreate } from '../release/containers.js';

/**
 * The host's Docker Engine API over its unix socket. Containers are created here, not with
 * `docker run`: their environment (config vars) travels in the request body, so it never
 * becomes the environment or argv of a process the agent runs as root. Reads on a deploy's
 * critical path come here too: spawning the docker CLI costs 30-50 ms a call on small hosts, a
 * request ~2 ms. The agent ships as one file without node_modules, and dockerode would bring
 * ssh2 and gRPC into it, so this is plain HTTP with node:http. The socket is fixed: nothing from
 * the environment redirects the agent to another engine.
 */
export const ENGINE_SOCKET = '/var/run/docker.sock';

/** The largest answer read from the engine (a list of every container of a busy host fits many times). */
const MAX_BODY = 64 * 1024 * 1024;

export interface EngineAnswer<T> { status: number; body: T | undefined }

/** One Engine API request; the status and the parsed JSON body (undefined when empty or not JSON). */
export async function engineRequest<T>(method: 'GET' | 'POST' | 'DELETE', pathname: string, body?: unknown, timeoutMs = 30_000): Promise<EngineAnswer<T>> {
  const answer = await engineRequestText(method, pathname, body, timeoutMs);
  let parsed: T | undefined;
  try {
    parsed = JSON.parse(answer.text) as T;
  } catch {
    parsed = undefined;
  }
  return { status: answer.status, body: parsed };
}

/** One Engine API request; the status and the body as text. */
function engineRequestText(method: 'GET' | 'POST' | 'DELETE', pathname: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = http.request({
      socketPath: ENGINE_SOCKET, path: pathname, method, timeout: timeoutMs,
      headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
    }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) return void request.destroy(new Error(`the Docker Engine's answer to ${method} ${pathname} is larger than ${MAX_BODY} bytes`));
        chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`the Docker Engine did not answer ${method} ${pathname} within ${timeoutMs / 1000} s`)));
    request.on('error', (error) => reject(new PaasError('host', `cannot reach the Docker Engine at ${ENGINE_SOCKET}: ${error.message}`, { hint: 'check that the Docker Engine runs on the host (`docker info`)' })));
    request.end(payload);
  });
}

/** GET a path of the Engine API. */
export function engineGet<T>(pathname: string): Promise<EngineAnswer<T>> {
  return engineRequest<T>('GET', pathname);
}

/** An event of the engine's log (GET /events): what happened to which object. */
export interface EngineEvent { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; time?: number }

/**
 * The engine's events from `sinceSeconds` until now that match `filters` (GET /events answers one
 * JSON object a line, and ends at `until`). Lines that are not JSON are skipped.
 */
export async function engineEvents(filters: Record<string, string[]>, sinceSeconds: number): Promise<EngineEvent[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const query = new URLSearchParams({ since: String(Math.floor(sinceSeconds)), until: String(until), filters: JSON.stringify(filters) });
  const { status, text } = await engineRequestText('GET', `/events?${query}`, undefined, 10_000);
  if (status !== 200) return [];
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as EngineEvent] : [];
    } catch {
      return [];
    }
  });
}

/** An image or container name in an API path (names are checked before they get here; this keeps '/' and ':'). */
export function apiName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function engineFailure(what: string, answer: EngineAnswer<{ message?: string }>): PaasError {
  const message = answer.body?.message ?? `status ${answer.status}`;
  const full = /no space left on device/i.test(message);
  return new PaasError('host', `the Docker Engine refused to ${what}: ${message}`, {
    hint: full ? 'the disk of the Docker Engine is full: free space on the host (`df -h /var/lib/docker`; `docker system prune`)' : 'check the Docker Engine on the host (`docker info`, its log)',
  });
}

/** Creates a container (not started); its ID. */
export async function createContainer(name: string, create: ContainerCreate): Promise<string> {
  const answer = await engineRequest<{ Id?: string; message?: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, create);
  if (answer.status !== 201 || !answer.body?.Id) throw engineFailure(`create the container ${name}`, answer);
  return answer.body.Id;
}

export async function startContainer(id: string, name = id): Promise<void> {
  const answer = await engineRequest<{ message?: string }>('POST', `/containers/${encodeURIComponent(id)}/start`);
  if (answer.status === 204 || answer.status === 304) return;
  const message = answer.body?.message ?? '';
  // The app's own command cannot start (not found on its PATH, not executable): the app's fault.
  const process = /exec: [^:]*: (executable file not found[^:]*|no such file or directory|permission denied)/.exec(message);
  if (process) {
    throw new PaasError('healthcheck', `${name} cannot start its command: ${process[0].replace(/^exec: /, '')}`, {
      where: name,
      hint: 'check the process command (Procfile, paas.yml processes) and the PATH the app sets (config vars)',
    });
  }
  throw engineFailure(`start the container ${name}`, answer);
}

/** Removes a container by its ID (force: a running one too). A container already gone is fine. */
export async function removeContainer(id: string): Promise<void> {
  const answer = await engineRequest<{ message?: string }>('DELETE', `/containers/${encodeURIComponent(id)}?force=1&v=0`);
  if (answer.status !== 204 && answer.status !== 404 && answer.status !== 409) throw engineFailure(`remove the container ${id}`, answer);
}

/** SIGTERM, up to `seconds` to exit, then SIGKILL; then removed. */
export async function stopAndRemoveContainer(id: string, seconds: number): Promise<void> {
  await engineRequest('POST', `/containers/${encodeURIComponent(id)}/stop?t=${seconds}`, undefined, (seconds + 30) * 1000).catch(() => undefined);
  await removeContainer(id);
}

/** Creates the network unless it exists (two agents at once: the second sees it exists). */
export async function ensureNetwork(network: NetworkCreate): Promise<void> {
  if ((await engineGet(`/networks/${encodeURIComponent(network.Name)}`)).status === 200) return;
  const answer = await engineRequest<{ message?: string }>('POST', '/networks/create', network);
  if (answer.status === 201 || answer.status === 409) return;
  if ((await engineGet(`/networks/${encodeURIComponent(network.Name)}`)).status === 200) return;
  throw engineFailure(`create the network ${network.Name}`, answer);
}

export async function removeNetwork(name: string): Promise<void> {
  await engineRequest('DELETE', `/networks/${encodeURIComponent(name)}`).catch(() => undefined);
}

/** Creates a volume (an existing one of the same name is left as it is: the engine answers 201 for both). */
export async function createVolume(volume: { Name: string; Driver: 'local'; Labels: Record<string, string> }): Promise<void> {
  const answer = await engineRequest<{ message?: string }>('POST', '/volumes/create', volume);
  if (answer.status !== 201 && answer.status !== 200) throw engineFailure(`create the volume ${volume.Name}`, answer);
}

export interface EngineVolume { Name: string; Labels: Record<string, string> | null; Mountpoint: string; CreatedAt?: string }

/** Volumes with every one of these labels (key=value). */
export async function volumesLabelled(labels: string[]): Promise<EngineVolume[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const { status, body } = await engineGet<{ Volumes: EngineVolume[] | null }>(`/volumes?filters=${filters}`);
  if (status !== 200 || !body) throw new PaasError('host', `the Docker Engine did not list its volumes (${status})`);
  return body.Volumes ?? [];
}

/** Removes a volume; one that is gone already is fine, one still in use is an error naming it. */
export async function removeVolume(name: string): Promise<void> {
  const answer = await engineRequest<{ message?: string }>('DELETE', `/volumes/${encodeURIComponent(name)}`);
  if (answer.status === 204 || answer.status === 404) return;
  throw engineFailure(`remove the volume ${name}`, answer);
}

export interface EngineContainer {
  Id: string;
  Names: string[];
  Labels: Record<string, string> | null;
  State?: string;
}

/** Containers (running or not) with every one of these labels (key=value). */
export async function containersLabelled(labels: string[]): Promise<EngineContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const { status, body } = await engineGet<EngineContainer[]>(`/containers/json?all=1&filters=${filters}`);
  if (status !== 200 || !body) throw new PaasError('host', `the Docker Engine did not list its containers (${status})`);
  return body;
}
