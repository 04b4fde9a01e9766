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

async function readConfigFile(file: string): Promise<AppConfig | undefined> {
  const text = await readAppFile(file, 'config');
  return text === undefined ? undefined : { file, ...parseConfig(text, file) };
}
