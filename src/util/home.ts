import os from 'node:os';
import path from 'node:path';

/** paas's own state on this machine (sandbox keys, ...): $PAAS_HOME, else ~/.paas. */
export function paasHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.PAAS_HOME ? path.resolve(env.PAAS_HOME) : path.join(os.homedir(), '.paas');
}
