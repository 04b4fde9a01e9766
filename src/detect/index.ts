import path from 'node:path';
import { PaasError } from '../errors.js';
import { AppDir, openAppDir } from './appdir.js';
import { loadAppJson } from './appjson.js';
import { dockerfileDetector } from './dockerfile.js';
import { GO_DEFAULT_IMAGE, GO_RUNTIME_IMAGE, goDetector } from './go.js';
import { NODE_DEFAULT_IMAGE, nodeDetector } from './node.js';
import { loadProcfile, runningTypes, type Procfile } from './procfile.js';
import { PYTHON_DEFAULT_IMAGE, pythonDetector } from './python.js';
import { RUBY_DEFAULT_IMAGE, rubyDetector } from './ruby.js';
import type { Notes, StackDetector, StackPlan } from './stack.js';
import { STATIC_IMAGE, staticDetector } from './static.js';
import type { BuildPlan, Stack } from './types.js';

export { parseProcfile } from './procfile.js';

/** The images the stacks use by default; scripts/base-images.sh provides them (a test keeps the two in step). */
export const BASE_IMAGES_DEFAULT: string[] = [
  GO_RUNTIME_IMAGE,
  NODE_DEFAULT_IMAGE,
  PYTHON_DEFAULT_IMAGE,
  GO_DEFAULT_IMAGE,
  RUBY_DEFAULT_IMAGE,
  STATIC_IMAGE,
];

export interface DetectOptions {
  /** The app's Dockerfile, relative to its directory (implies the dockerfile stack). */
  dockerfile?: string;
  /** Use this stack instead of detecting one; its marker files must exist. */
  stack?: Stack;
}

/** In order of precedence: the first whose marker file exists wins. */
const DETECTORS: readonly StackDetector[] = [dockerfileDetector(), nodeDetector, pythonDetector, goDetector, rubyDetector, staticDetector];

/** Where monorepos keep their apps, besides the top level. */
const APP_FOLDERS = ['apps', 'packages', 'services'];

interface Choice {
  detector: StackDetector;
  /** The marker file that selected it, or what its evidence found. */
  marker: string;
  byEvidence?: boolean;
  /** Chosen by an option rather than detected. */
  forced: boolean;
}

/**
 * Decides how to build the app in `dir`: its stack, dependency and build steps, process types,
 * port and base image, with the reasons. Reads files only.
 */
export async function detect(dir: string, options: DetectOptions = {}): Promise<BuildPlan> {
  const app = await openAppDir(dir);
  const procfile = await loadProcfile(app);
  const choice = await chooseDetector(app, dir, options, procfile);
  const notes: Notes = { reasons: [choiceReason(choice)], warnings: [] };
  await noteUnusedMarkers(app, choice, notes);
  const appJson = await loadAppJson(app);
  const { start, ...stackPlan } = await choice.detector.plan(app, notes, procfile);
  const processes = await resolveProcesses(procfile, start, notes);
  notes.reasons.push(...appJson.reasons);
  notes.warnings.push(...appJson.warnings);
  return {
    stack: choice.detector.stack,
    reasons: notes.reasons,
    warnings: notes.warnings,
    ...stackPlan,
    ...processes,
    ...(appJson.healthcheck ? { healthcheck: appJson.healthcheck } : {}),
    ...(appJson.formation ? { formation: appJson.formation } : {}),
    ...(appJson.cron ? { cron: appJson.cron } : {}),
    ...(appJson.scripts ? { scripts: appJson.scripts } : {}),
    ...(appJson.env ? { env: appJson.env } : {}),
  };
}

async function chooseDetector(app: AppDir, dir: string, options: DetectOptions, procfile: Procfile | undefined): Promise<Choice> {
  if (options.dockerfile !== undefined) return chooseDockerfile(app, options);
  if (options.stack !== undefined) return chooseStack(app, dir, options.stack, procfile);
  const found = (await firstMatch(app)) ?? (await firstEvidence(app, procfile));
  if (!found) throw await nothingRecognisable(app, dir);
  return { ...found, forced: false };
}

/** Without any marker file: the first stack, in order of precedence, whose evidence is found. */
async function firstEvidence(app: AppDir, procfile: Procfile | undefined): Promise<Omit<Choice, 'forced'> | undefined> {
  for (const detector of DETECTORS) {
    const found = await detector.evidence?.find(app, procfile);
    if (found) return { detector, marker: found, byEvidence: true };
  }
  return undefined;
}

async function chooseDockerfile(app: AppDir, options: DetectOptions): Promise<Choice> {
  const file = path.posix.normalize((options.dockerfile ?? '').replace(/\\/g, '/'));
  if (options.stack !== undefined && options.stack !== 'dockerfile') {
    throw new PaasError('detect', `a Dockerfile (${file}) and the ${options.stack} stack are both requested`, {
      hint: 'set either the Dockerfile or the stack, not both',
    });
  }
  if (path.posix.isAbsolute(file) || file === '..' || file.startsWith('../')) {
    throw new PaasError('detect', `the Dockerfile ${options.dockerfile} is outside the app directory`, {
      where: app.root,
      hint: 'give the Dockerfile as a path inside the app directory, e.g. docker/Dockerfile',
    });
  }
  if (!(await app.exists(file))) {
    throw new PaasError('detect', `the Dockerfile ${file} does not exist`, {
      where: app.path(file),
      hint: 'fix the Dockerfile path (relative to the app directory) or remove the setting to detect the stack',
    });
  }
  return { detector: dockerfileDetector(file), marker: file, forced: true };
}

async function chooseStack(app: AppDir, dir: string, stack: Stack, procfile: Procfile | undefined): Promise<Choice> {
  const detector = DETECTORS.find((candidate) => candidate.stack === stack);
  if (!detector) {
    throw new PaasError('detect', `unknown stack "${String(stack)}"`, { hint: `use one of ${DETECTORS.map((d) => d.stack).join(', ')}` });
  }
  const marker = await app.firstExisting(detector.markers);
  if (marker) return { detector, marker, forced: true };
  const found = await detector.evidence?.find(app, procfile);
  if (found) return { detector, marker: found, forced: true };
  const lookedFor = lookedForText(detector);
  throw new PaasError('detect', `the ${stack} stack is requested but ${dir} has none of its files (${lookedFor})`, {
    where: app.root,
    hint: `add one of ${detector.markers.join(', ')}, or remove the stack setting to detect the stack`,
  });
}

async function firstMatch(app: AppDir): Promise<Omit<Choice, 'forced'> | undefined> {
  for (const detector of DETECTORS) {
    const marker = await app.firstExisting(detector.markers);
    if (marker) return { detector, marker };
  }
  return undefined;
}

function choiceReason({ detector, marker, forced, byEvidence }: Choice): string {
  if (byEvidence) return `${marker} (no marker file of any stack): ${detector.stack}`;
  if (detector.stack === 'dockerfile') return `${marker} ${forced ? 'requested' : 'found'}: built as is`;
  return forced ? `stack ${detector.stack} requested: ${marker} found` : `${marker} found: ${detector.stack}`;
}

/** Names the other stacks' files, so that a Dockerfile silently winning over package.json is not a surprise. */
async function noteUnusedMarkers(app: AppDir, { detector, forced }: Choice, notes: Notes): Promise<void> {
  const precedence = forced ? 'the stack was requested' : detector.stack === 'dockerfile' ? 'the Dockerfile takes precedence' : `${detector.stack} takes precedence`;
  for (const other of DETECTORS) {
    if (other.stack === detector.stack) continue;
    const marker = await app.firstExisting(other.markers);
    if (marker) notes.reasons.push(`${marker} (${other.stack}) not used: ${precedence}`);
  }
}

/**
 * Procfile types win; the stack's start command fills in `web` when the Procfile has none
 * (as Heroku's default process types do). A Procfile of workers only, for an app with no start
 * command, is a worker-only app: no web process, nothing routed.
 */
async function resolveProcesses(
  procfile: Procfile | undefined,
  start: StackPlan['start'],
  notes: Notes,
): Promise<Pick<BuildPlan, 'processes' | 'processSource'>> {
  const types = Object.keys(procfile ?? {});
  if (procfile && types.length === 0) notes.warnings.push('Procfile defines no process types: ignored');
  if (types.length > 0) notes.reasons.push(`Procfile: process types ${types.join(', ')}`);
  if (procfile && Object.hasOwn(procfile, 'web')) return { processes: { ...procfile }, processSource: 'Procfile' };
  const web = await start(notes).catch((error: unknown) => {
    if (!(error instanceof PaasError) || error.kind !== 'detect' || !procfile || runningTypes(procfile).length === 0) throw error;
    notes.reasons.push(`Procfile has no web type and ${error.message}: no web process, nothing is routed (web=0)`);
    return undefined;
  });
  if (!web) return { processes: { ...procfile }, processSource: 'Procfile' };
  if (types.length === 0) return { processes: { web: web.command }, processSource: web.source };
  return { processes: { web: web.command, ...procfile }, processSource: `Procfile, web from ${web.source}` };
}

/** A stack's marker files, then what its evidence is, e.g. "go.mod, ..., .go files at the top". */
function lookedForText(detector: StackDetector): string {
  return [...detector.markers, ...(detector.evidence ? [detector.evidence.description] : [])].join(', ');
}

async function nothingRecognisable(app: AppDir, dir: string): Promise<PaasError> {
  const nested = await nestedApps(app);
  return new PaasError('detect', `no recognisable app in ${dir}`, {
    details: DETECTORS.map((detector) => `${detector.stack}: ${lookedForText(detector)}`),
    hint: nestedAppsHint(nested, dir) ?? 'add one of these files, or a Dockerfile',
  });
}

/** Apps one level down, or in apps/, packages/ or services/: `dir` is probably a monorepo's root. */
async function nestedApps(app: AppDir): Promise<{ dir: string; stack: Stack }[]> {
  const candidates = (await app.subdirectories()).filter((name) => name !== 'node_modules');
  for (const folder of APP_FOLDERS) candidates.push(...(await app.subdirectories(folder)).map((name) => `${folder}/${name}`));
  const found: { dir: string; stack: Stack }[] = [];
  for (const candidate of candidates) {
    const match = await firstMatch(new AppDir(app.path(candidate)));
    if (match) found.push({ dir: candidate, stack: match.detector.stack });
  }
  return found;
}

function nestedAppsHint(nested: { dir: string; stack: Stack }[], dir: string): string | undefined {
  const command = (nestedDir: string) => `"paas detect ${path.join(dir, nestedDir)}"`;
  const [first] = nested;
  if (!first) return undefined;
  if (nested.length === 1) return `found a ${first.stack} app in ${first.dir}: run ${command(first.dir)}`;
  const list = nested.map((n) => `${n.dir} (${n.stack})`).join(', ');
  return `found apps in ${list}: run ${command('<dir>')} for one of them, e.g. ${command(first.dir)}`;
}
