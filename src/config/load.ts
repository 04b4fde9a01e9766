import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { readAppFile } from '../util/fs.js';
import { parseConfig } from './parse.js';
import type { AppConfig } from './types.js';

/** Looked for in the app directory, in this order, when no file is named. */
export const CONFIG_FILE_NAMES = ['paas.yml', 'paas.yaml'] as const;

/**
 * Reads and validates the app's paas.yml. `options.file` (relative to `dir`, or absolute) must
 * exist; otherwise paas.yml then paas.yaml are tried, and an app without either gets `{}`.
 */
export async function loadConfig(dir: string, options: { file?: string } = {}): Promise<AppConfig> {
  if (options.file !== undefined) {
    const file = path.resolve(dir, options.file);
    const config = await readConfigFile(file);
    if (!config) {
      throw new PaasError('config', `config file ${options.file} does not exist`, {
        where: file,
        hint: 'check the path, or run "paas init" to create a paas.yml',
      });
    }
    return config;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const config = await readConfigFile(path.resolve(dir, name));
    if (config) return config;
  }
  return {};
}

/**
 * The largest paas.yml read. Real ones are a few KB; the YAML parser's duplicate-key check is
 * quadratic in the keys of a map, so a file of megabytes of keys would take minutes (on a host,
 * for a git push: under the app's lock).
 */
export const MAX_CONFIG_BYTES = 64 * 1024;

async function readConfigFile(file: string): Promise<AppConfig | undefined> {
  const size = await fs.stat(file).then((stat) => (stat.isFile() ? stat.size : 0), () => 0);
  if (size > MAX_CONFIG_BYTES) {
    throw new PaasError('config', `${path.basename(file)} is ${size} bytes long, at most ${MAX_CONFIG_BYTES} are allowed`, {
      where: file,
      hint: 'keep paas.yml to settings (see docs/paas-yml.md): large data belongs in files of the app',
    });
  }
  const text = await readAppFile(file, 'config');
  return text === undefined ? undefined : { file, ...parseConfig(text, file) };
}
