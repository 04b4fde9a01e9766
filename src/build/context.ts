import path from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import tar from 'tar-fs';

// CommonJS module whose typings declare a default export it does not have.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;

export interface ContextOptions {
  /** .dockerignore patterns (Docker's syntax), applied to the app's files. */
  dockerignore: string;
  /** Files added to the archive after the app's own (path inside the context -> content). */
  extraFiles?: Record<string, string>;
}

export function ignoredBy(dockerignore: string): (relativePath: string) => boolean {
  const rules = ignore().add(dockerignore.split(/\r?\n/));
  return (relativePath) => relativePath !== '' && rules.ignores(relativePath);
}

/**
 * The build context as a tar stream: the app directory minus what .dockerignore excludes
 * (the client filters; the legacy builder only drops the Dockerfile itself), plus extraFiles.
 */
export function createBuildContext(dir: string, options: ContextOptions): Readable {
  const root = path.resolve(dir);
  const isIgnored = ignoredBy(options.dockerignore);
  const extras = Object.entries(options.extraFiles ?? {});
  // `sort` (deterministic order) is a tar-fs 3 option its typings lack.
  const packOptions: tar.PackOptions & { sort: boolean } = {
    sort: true,
    ignore: (name) => isIgnored(path.relative(root, name).split(path.sep).join('/')),
    map: (header) => ({ ...header, uid: 0, gid: 0, uname: '', gname: '' }),
    finalize: extras.length === 0,
    finish: (pack) => {
      if (extras.length === 0) return;
      for (const [name, content] of extras) pack.entry({ name, mode: 0o644 }, content);
      pack.finalize();
    },
  };
  return tar.pack(root, packOptions) as unknown as Readable;
}
