import type Docker from 'dockerode';
import { PaasError } from '../errors.js';

/** Where dockerode will connect: DOCKER_HOST if set, else the local socket. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** A client of the local Docker Engine, checked to answer; a clear error says how to start it. */
export async function connectEngine(): Promise<Docker> {
  // Loaded on first use: dockerode (with docker-modem) takes ~200 ms to import, and commands
  // that never touch the local engine (rollback, releases, ...) should not pay for it.
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient();
  try {
    await docker.ping();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PaasError('docker', `Docker Engine is not running (cannot reach ${engineAddress()}: ${reason})`, {
      hint: 'start it: `sudo systemctl start docker`, or on a machine without systemd `bash scripts/engine.sh` from the paas checkout (installs docker.io from Debian when missing); set DOCKER_HOST to use another engine',
      cause: error,
    });
  }
  return docker;
}

export async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

export interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Resolves with every event of a Docker JSON progress stream once it ends; calls onEvent for each. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: ProgressEvent[]) => (error ? reject(error) : resolve(events)),
      onEvent,
    );
  });
}

/** Makes sure an image is present: already there, or pulled; a clear error when neither works. */
export async function ensureImage(docker: Docker, name: string, neededFor: string): Promise<'present' | 'pulled'> {
  if (await imageExists(docker, name)) return 'present';
  try {
    const stream = await docker.pull(name);
    const events = await followProgress(docker, stream, () => {});
    const failure = events.find((e) => e.error);
    if (failure) throw new Error(failure.error);
    return 'pulled';
  } catch (error) {
    throw new PaasError('build', `base image ${name} (needed for ${neededFor}) is not on this Docker Engine and could not be pulled: ${(error as Error).message.split('\n')[0]}`, {
      hint: `make it available: \`docker pull ${name}\` where a registry answers, or \`bash scripts/base-images.sh ${name}\` from the paas checkout to build it from Debian packages (air-gapped machines), or \`docker load\` it`,
      cause: error,
    });
  }
}
