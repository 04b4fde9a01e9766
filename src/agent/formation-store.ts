import path from 'node:path';
import { appDir, readJson, writeAtomic } from './state.js';

/**
 * The formation `ps:scale` set, kept on the host apart from the releases (apps/<app>/formation.json):
 * every later rollout of the app (deploy, rollback, scale) runs these replica counts for the types
 * it names, whatever paas.yml or the release says.
 */
export const formationFile = (app: string) => path.join(appDir(app), 'formation.json');

export async function readFormationOverride(app: string): Promise<Record<string, number> | undefined> {
  return readJson<Record<string, number>>(formationFile(app));
}

export async function writeFormationOverride(app: string, formation: Record<string, number>): Promise<void> {
  await writeAtomic(formationFile(app), `${JSON.stringify(formation, null, 2)}\n`);
}
