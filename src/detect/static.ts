import path from 'node:path';
import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import { isObject, stringField } from './parse.js';
import { findAsync } from '../util/async.js';
import type { Notes, StackDetector, StackPlan } from './stack.js';
import { DEFAULT_PORT } from './types.js';

export const STATIC_IMAGE = 'nginx:1.22';
const NGINX_COMMAND = "nginx -g 'daemon off;'";

/** Each marker and where it says the site's root is (as written, relative to the app directory). */
const SOURCES: ReadonlyArray<{ marker: string; root: (app: AppDir, notes: Notes) => Promise<string> }> = [
  { marker: 'Staticfile', root: staticfileRoot },
  { marker: 'static.json', root: staticJsonRoot },
  { marker: '.static', root: async () => '.' },
  { marker: 'index.html', root: async () => '.' },
  { marker: 'public/index.html', root: async () => 'public' },
];

export const staticDetector: StackDetector = {
  stack: 'static',
  markers: SOURCES.map((source) => source.marker),
  plan: planStatic,
};

async function planStatic(app: AppDir, notes: Notes): Promise<StackPlan> {
  const source = await findAsync(SOURCES, (candidate) => app.exists(candidate.marker));
  if (!source) throw new Error('static stack planned without a marker file');
  const staticRoot = await checkedRoot(app, await source.root(app, notes), source.marker);
  notes.reasons.push(`${source.marker}: serves ${staticRoot === '.' ? 'the app directory' : `${staticRoot}/`} with nginx`);
  return {
    baseImage: STATIC_IMAGE,
    manifests: [],
    install: [],
    build: [],
    port: DEFAULT_PORT,
    staticRoot,
    start: async () => ({ command: NGINX_COMMAND, source: 'static site (nginx)' }),
  };
}

/** Cloud Foundry's Staticfile: YAML, possibly empty, with an optional `root: public`. */
async function staticfileRoot(app: AppDir): Promise<string> {
  const settings = await app.readYaml('Staticfile');
  return rootSetting(isObject(settings) ? settings : undefined, app.path('Staticfile')) ?? '.';
}

/** Heroku's static buildpack: `{"root": "public/"}`, by default public_html/ (when there is one). */
async function staticJsonRoot(app: AppDir, notes: Notes): Promise<string> {
  const settings = await app.readJson('static.json');
  const root = rootSetting(isObject(settings) ? settings : undefined, app.path('static.json'));
  if (root !== undefined) return root;
  if (!(await app.isDirectory('public_html'))) return '.';
  notes.reasons.push('static.json has no root: public_html/, as with Heroku');
  return 'public_html';
}

function rootSetting(settings: Record<string, unknown> | undefined, file: string): string | undefined {
  if (settings?.root === undefined) return undefined;
  const root = stringField(settings, 'root');
  if (root === undefined) throw new PaasError('config', 'root must be a string', { where: file, hint: 'write root: public' });
  return root;
}

/** The root normalised ("public/" -> "public"), refused when it leaves the app directory or is missing. */
async function checkedRoot(app: AppDir, written: string, marker: string): Promise<string> {
  const root = path.posix.normalize(written.trim().replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
  const where = app.path(marker);
  if (path.posix.isAbsolute(root) || path.win32.isAbsolute(root) || root === '..' || root.startsWith('../')) {
    throw new PaasError('config', `root "${written}" is outside the app directory`, {
      where,
      hint: 'set root to a directory inside the app, e.g. public',
    });
  }
  if (!(await app.isDirectory(root))) {
    throw new PaasError('config', `root "${written}" is not a directory`, { where, hint: `create ${root}/ or fix root` });
  }
  return root;
}
