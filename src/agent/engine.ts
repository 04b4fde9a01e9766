import http from 'node:http';

/**
 * Reads from the host's Docker Engine API over its unix socket. Only for the reads on a deploy's
 * critical path that run many times (health polls, image checks): spawning the docker CLI costs
 * 30-50 ms a call on small hosts, a request here ~2 ms. The agent ships as one file without
 * node_modules, and dockerode would bring ssh2 and gRPC into it, so this is a plain GET.
 * Everything else, and every change, goes through the docker CLI with argv arrays (exec.ts).
 */
export function engineSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

/** GET a path of the Engine API; the status and the parsed JSON body (undefined when empty or not JSON). */
export function engineGet<T>(pathname: string): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath: engineSocket(), path: pathname, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        let body: T | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
        } catch {
          body = undefined;
        }
        resolve({ status: response.statusCode ?? 0, body });
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`the Docker Engine did not answer GET ${pathname} within 30 s`)));
    request.on('error', (error) => reject(new Error(`cannot reach the Docker Engine at ${engineSocket()}: ${error.message}`)));
  });
}

/** An image or container name in an API path (names are checked before they get here; this keeps '/' and ':'). */
export function apiName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

