import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { exists, isDirectory, readAppFile } from '../util/fs.js';
import { parseJson, parseYaml } from './parse.js';
import { findAsync } from '../util/async.js';

/** The app directory being detected; every path taken here is relative to it. */
export class AppDir {
  constructor(readonly root: string) {}

  path(relative: string): string {
    return path.join(this.root, relative);
  }

  /** The file's text, or undefined when it does not exist. */
  read(relative: string): Promise<string | undefined> {
    return readAppFile(this.path(relative), 'config');
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

  private async entries(relative: string): Promise<Dirent[]> {
    try {
      const entries = await fs.readdir(this.path(relative), { withFileTypes: true });
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return [];
    }
  }
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
