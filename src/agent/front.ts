/**
 * The front balancer on a host (see src/cluster/front.ts): a dedicated paas host that serves no
 * apps, whose nginx answers port 80 by proxying to the cluster's nodes. Its server takes the
 * place of the server of every app (000-paas.conf); host:setup keeps it so.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';
import { FRONT_FILE_NAME, checkFrontOptions, parseFront, parseNodes, renderFront, nodeAddress, type FrontOptions } from '../cluster/front.js';
import { changeNginxConfig } from './nginx.js';
import { NGINX_DIR, listApps } from './state.js';
import type { Emit, FrontView } from './protocol.js';

export const FRONT_FILE = () => path.join(NGINX_DIR, FRONT_FILE_NAME);
export const APPS_SERVER_FILE = () => path.join(NGINX_DIR, '000-paas.conf');

/** Whether this host is a front (its nginx serves the front, not apps). */
export async function isFront(): Promise<boolean> {
  return fs.access(FRONT_FILE()).then(() => true, () => false);
}

/** A deploy to a front host is refused: its port 80 serves the front, not apps. */
export async function refuseAppsOnFront(): Promise<void> {
  if (!(await isFront())) return;
  throw new PaasError('usage', 'this host is a front balancer (cluster:front): it serves no apps', {
    where: FRONT_FILE(),
    hint: 'deploy to the cluster\'s nodes instead; nothing was changed',
  });
}

/** What the front of this host sends to now. */
export async function frontView(): Promise<FrontView> {
  const text = await fs.readFile(FRONT_FILE(), 'utf8').catch(() => undefined);
  const parsed = text === undefined ? undefined : parseFront(text);
  if (text !== undefined && !parsed) throw new PaasError('host', 'the front balancer\'s file is not paas\'s', { where: FRONT_FILE(), hint: 'run `paas cluster:front` again with the nodes: it rewrites the file' });
  return { front: parsed !== undefined, nodes: parsed?.nodes ?? [], ...(parsed ? { options: parsed.options } : {}), file: FRONT_FILE(), changed: false };
}

/**
 * Makes this host's nginx the front of `addresses`: refused on a host with apps (its port 80
 * serves them); the same nodes and options again change nothing and reload nothing. nginx -t
 * judges the new file; a rejected one is undone (changeNginxConfig).
 */
export async function applyFront(addresses: string[], given: Partial<FrontOptions>, emit: Emit): Promise<FrontView> {
  let text: string;
  let nodes: string[];
  let options: FrontOptions;
  try {
    nodes = parseNodes(addresses).map(nodeAddress);
    options = checkFrontOptions(given);
    text = renderFront(addresses, options);
  } catch (error) {
    throw new PaasError('usage', (error as Error).message, { hint: 'give each node as IP, [IPv6] or a DNS name, with an optional :PORT (default 80), e.g. --node 10.0.0.2 --node 10.0.0.3:8080' });
  }
  const apps = await listApps();
  if (apps.length) {
    throw new PaasError('usage', `this host serves apps (${apps.join(', ')}): a front balancer needs a dedicated host`, {
      hint: 'pick a paas host with no apps (set up with `paas host:setup`), or destroy its apps first; nothing was changed',
    });
  }
  const current = await fs.readFile(FRONT_FILE(), 'utf8').catch(() => undefined);
  const serverThere = await fs.access(APPS_SERVER_FILE()).then(() => true, () => false);
  if (current === text && !serverThere) {
    emit(`the front already sends to ${nodes.join(', ')}; nothing changed`, 'front');
    return { front: true, nodes, options, file: FRONT_FILE(), changed: false };
  }
  await changeNginxConfig({ [FRONT_FILE()]: text, [APPS_SERVER_FILE()]: null });
  emit(`nginx now sends port 80 to ${nodes.join(', ')} (tried in turn, ${nodes.length} tries)`, 'front');
  return { front: true, nodes, options, file: FRONT_FILE(), changed: true };
}
