import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { exists, isDirectory } from '../util/fs.js';
import { parseJson, parseYaml } from './parse.js';
import { findAsync } from '../util/async.js';

/** The largest app file detection reads whole (manifests, Procfile, app.json, ...). */
export const MAX_APP_FILE_BYTES = 1024 * 1024;
/** How much of a source file is read to look for a declaration (package main, app = Flask()). */
export const SOURCE_HEAD_BYTES = 256 * 1024;

/** The app directory being detected; every path taken here is relative to it. */
export class AppDir {
  private realRoot?: Promise<string>;

  constructor(readonly root: string) {}

  path(relative: string): string {
    return path.join(this.root, relative);
  }

  /**
   * The file's text, or undefined when it does not exist. The tree is untrusted: a file larger
   * than MAX_APP_FILE_BYTES or a link that leads out of the app directory is refused.
   */
  read(relative: string): Promise<string | undefined> {
    return this.readBounded(relative, MAX_APP_FILE_BYTES, 'refuse');
  }

  /** The first `bytes` of a file (a source file that may be large), or undefined when it does not exist. */
  readStart(relative: string, bytes = SOURCE_HEAD_BYTES): Promise<string | undefined> {
    return this.readBounded(relative, bytes, 'truncate');
  }

  exists(relative: string): Promise<boolean> {
    return exists(this.path(relative));
  }

  isDirectory(relative: string): Promise<boolean> {
    return isDirectory(this.path(relative));
  }

  firstExisting(candidates: readonly string[]): Promise<string | undefined> {
    return findAsync(candidates, (candidate) => this.exists(candidate));
  }

  /** Names of the visible subdirectories, sorted; [] when `relative` is not a directory. */
  async subdirectories(relative = '.'): Promise<string[]> {
    return (await this.entries(relative)).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  /** Names of the regular files, sorted; [] when `relative` is not a directory. */
  async files(relative = '.'): Promise<string[]> {
    return (await this.entries(relative)).filter((e) => e.isFile()).map((e) => e.name);
  }

  async readJson(relative: string): Promise<unknown> {
    const text = await this.read(relative);
    return text === undefined ? undefined : parseJson(text, this.path(relative));
  }

  async readYaml(relative: string): Promise<unknown> {
    const text = await this.read(relative);
    return text === undefined ? undefined : parseYaml(text, this.path(relative));
  }

  private async readBounded(relative: string, maxBytes: number, tooLarge: 'refuse' | 'truncate'): Promise<string | undefined> {
    const file = this.path(relative);
    const real = await fs.realpath(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw unreadable(file, error);
    });
    if (real === undefined) return undefined;
    this.realRoot ??= fs.realpath(this.root);
    const root = await this.realRoot;
    if (real !== root && !real.startsWith(`${root}${path.sep}`)) {
      throw new PaasError('config', `${relative} is a link that leads out of the app directory`, {
        where: file,
        hint: `replace the link ${relative} with the file itself`,
      });
    }
    const handle = await fs.open(real, 'r').catch((error: NodeJS.ErrnoException) => {
      throw unreadable(file, error);
    });
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) {
        throw new PaasError('config', `${path.basename(file)} is a directory, expected a file`, { where: file, hint: `remove or rename ${file}` });
      }
      // One byte more than allowed tells a file at the limit from one past it (even one still growing).
      const chunks: Buffer[] = [];
      let length = 0;
      while (length <= maxBytes) {
        const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - length));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, length);
        if (bytesRead === 0) break;
        chunks.push(chunk.subarray(0, bytesRead));
        length += bytesRead;
      }
      if (length > maxBytes && tooLarge === 'refuse') {
        throw new PaasError('config', `${relative} is larger than ${maxBytes} bytes, more than paas reads`, {
          where: file,
          hint: `keep ${relative} under ${maxBytes / 1024} KiB`,
        });
      }
      return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
    } finally {
      await handle.close();
    }
  }

  private async entries(relative: string): Promise<Dirent[]> {
    try {
      const entries = await fs.readdir(this.path(relative), { withFileTypes: true });
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return [];
    }
  }
}

function unreadable(file: string, error: NodeJS.ErrnoException): PaasError {
  return new PaasError('config', `cannot read ${path.basename(file)} (${error.code ?? String(error)})`, {
    where: file,
    hint: `check the file's permissions: chmod a+r ${file}`,
    cause: error,
  });
}

export async function openAppDir(dir: string): Promise<AppDir> {
  const root = path.resolve(dir);
  if (!(await isDirectory(root))) {
    const isFile = await exists(root);
    throw new PaasError('detect', `no such directory: ${dir}`, {
      hint: isFile
        ? `${dir} is a file: pass the directory that holds the app`
        : 'pass the directory that holds the app (its package.json, requirements.txt, Dockerfile, ...)',
    });
  }
  return new AppDir(root);
}
