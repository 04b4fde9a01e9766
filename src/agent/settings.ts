import path from 'node:path';
import { PaasError } from '../errors.js';
import { appNames, checkSettings, EMPTY_SETTINGS, type AppSettings } from '../release/settings.js';
import { APPS_DIR, ROOT, appDir, listApps, readJson, readState, writeAtomic } from './state.js';

export const CERTS_DIR = path.join(ROOT, 'certs');

const settingsFile = (app: string) => path.join(appDir(app), 'settings.json');

/** The app's settings on this host ({ domains: [] } when it has none); refused when the file was tampered with. */
export async function readSettings(app: string): Promise<AppSettings> {
  const file = settingsFile(app);
  const settings = { ...EMPTY_SETTINGS, ...(await readJson<AppSettings>(file)) };
  const problems = checkSettings(settings);
  if (problems.length) throw new PaasError('host', 'the app\'s settings file is invalid', { where: file, details: problems, hint: 'fix or remove the file' });
  return settings;
}

export async function writeSettings(app: string, settings: AppSettings): Promise<void> {
  const problems = checkSettings(settings);
  if (problems.length) throw new PaasError('usage', 'invalid settings', { details: problems });
  await writeAtomic(settingsFile(app), `${JSON.stringify(settings, null, 2)}\n`);
}

/** Every name each other app of this host answers to (its default name, paas.yml's and added domains). */
export async function otherAppsNames(app: string, baseDomain: string): Promise<{ app: string; names: string[] }[]> {
  const others = (await listApps()).filter((other) => other !== app);
  return Promise.all(others.map(async (other) => {
    const state = await readState(other);
    const current = state.releases.find((r) => r.version === state.current);
    const settings = await readSettings(other).catch(() => EMPTY_SETTINGS);
    return { app: other, names: appNames(other, baseDomain, current?.domains ?? [], settings) };
  }));
}

export const certsDir = (app: string) => path.join(CERTS_DIR, path.basename(appDir(app)));
export const appStateDir = (app: string) => path.join(APPS_DIR, path.basename(appDir(app)));
