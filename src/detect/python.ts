import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import type { Procfile } from './procfile.js';
import { findAsync } from '../util/async.js';
import type { Notes, StackDetector, StackPlan, StartCommand } from './stack.js';
import type { PackageManager } from './types.js';
import { DEFAULT_PORT } from './types.js';
import { nearestMinor, SUPPORTED_VERSIONS } from './versions.js';

const DEFAULT_PYTHON = SUPPORTED_VERSIONS.python[0];
export const PYTHON_DEFAULT_IMAGE = pythonImage(DEFAULT_PYTHON);

/** Files that may list dependencies; their words feed the start-command heuristics. */
const DEPENDENCY_FILES = ['requirements.txt', 'Pipfile', 'pyproject.toml', 'setup.py'];
/** Python project files without dependencies (Heroku's python buildpack detects these too). */
const PROJECT_FILES = ['setup.cfg', '.python-version', 'runtime.txt'];
/** Scripts an app of the standard library alone starts from, as Heroku's python buildpack knows them. */
const ENTRY_POINTS = ['app.py', 'main.py', 'manage.py', 'wsgi.py', 'server.py', 'web.py'];
/** Scripts run as `python <script>` when nothing else names the web command, in this order. */
const SCRIPTS = ['app.py', 'main.py', 'server.py', 'wsgi.py', 'web.py'];
/** Programs whose Procfile command makes an app python: the interpreter and the usual servers. */
const PYTHON_PROGRAM = /^(?:python(?:3(?:\.\d+)?)?|gunicorn|uvicorn)$/;

interface Installer {
  packageManager?: PackageManager;
  manifests: string[];
  install: string[];
  build: string[];
}

/** A module-level variable holding the app object, e.g. `app = FastAPI()` in main.py. */
interface AppObject {
  module: string;
  variable: string;
}

export const pythonDetector: StackDetector = {
  stack: 'python',
  markers: [...DEPENDENCY_FILES, ...PROJECT_FILES],
  evidence: {
    description: `a Procfile command running python, python3, gunicorn or uvicorn, ${ENTRY_POINTS.join(', ')}`,
    find: pythonEvidence,
  },
  plan: planPython,
};

async function pythonEvidence(app: AppDir, procfile: Procfile | undefined): Promise<string | undefined> {
  for (const [type, command] of Object.entries(procfile ?? {})) {
    const program = programOf(command);
    if (program && PYTHON_PROGRAM.test(program)) return `Procfile ${type}: runs ${program}`;
  }
  return app.firstExisting(ENTRY_POINTS);
}

/** The program a shell command line starts with, past `exec` and `NAME=value` assignments, without its directory. */
function programOf(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  const first = words.find((word) => word !== 'exec' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word));
  return first?.split('/').at(-1);
}

/**
 * Heroku's python buildpack hooks, bin/pre_compile and bin/post_compile: run as the first and
 * the last build steps, with the whole source there. Unlike the buildpack, pre_compile runs
 * after the dependencies are installed (they are a layer of their own, built from the manifests
 * alone, so that a code change does not reinstall them).
 */
async function compileHooks(app: AppDir, notes: Notes): Promise<{ before: string[]; after: string[] }> {
  const hook = async (name: string) => {
    if (!(await app.exists(`bin/${name}`))) return [];
    notes.reasons.push(`bin/${name}: run in the build (Heroku's python hook)${name === 'pre_compile' ? ', after the dependencies are installed' : ''}`);
    return [`chmod +x bin/${name} && bin/${name}`];
  };
  return { before: await hook('pre_compile'), after: await hook('post_compile') };
}

async function planPython(app: AppDir, notes: Notes): Promise<StackPlan> {
  const installer = await chooseInstaller(app, notes);
  const hooks = await compileHooks(app, notes);
  return {
    ...installer,
    build: [...hooks.before, ...installer.build, ...hooks.after],
    baseImage: pythonImage(await pythonVersion(app, notes)),
    port: DEFAULT_PORT,
    start: async (startNotes) => startCommand(app, await dependencyNames(app), startNotes),
  };
}

function pythonImage(version: string): string {
  return `python:${version}-slim-bookworm`;
}

async function chooseInstaller(app: AppDir, notes: Notes): Promise<Installer> {
  const has = (file: string) => app.exists(file);
  if (await has('requirements.txt')) {
    notes.reasons.push('requirements.txt: package manager pip');
    return { packageManager: 'pip', manifests: ['requirements.txt'], install: ['pip install --no-cache-dir -r requirements.txt'], build: [] };
  }
  if (await has('Pipfile')) {
    const locked = await has('Pipfile.lock');
    notes.reasons.push(`Pipfile${locked ? ' and Pipfile.lock' : ''}: package manager pipenv`);
    return {
      packageManager: 'pipenv',
      manifests: locked ? ['Pipfile', 'Pipfile.lock'] : ['Pipfile'],
      install: ['pip install --no-cache-dir pipenv', `pipenv install --system${locked ? ' --deploy' : ''}`],
      build: [],
    };
  }
  if (await has('pyproject.toml')) return pyprojectInstaller(app, notes);
  if (await has('setup.py')) {
    notes.reasons.push('setup.py: the app is installed with pip');
    return { packageManager: 'pip', manifests: [], install: [], build: ['pip install --no-cache-dir .'] };
  }
  notes.reasons.push('no requirements.txt, Pipfile, pyproject.toml or setup.py: nothing is installed (the standard library only)');
  return { manifests: [], install: [], build: [] };
}

async function pyprojectInstaller(app: AppDir, notes: Notes): Promise<Installer> {
  const pyproject = (await app.read('pyproject.toml')) ?? '';
  const poetryLock = await app.exists('poetry.lock');
  if (poetryLock || /^\[tool\.poetry\]/m.test(pyproject)) {
    notes.reasons.push(`pyproject.toml ${poetryLock ? 'and poetry.lock' : 'with [tool.poetry]'}: package manager poetry`);
    return {
      packageManager: 'poetry',
      manifests: poetryLock ? ['pyproject.toml', 'poetry.lock'] : ['pyproject.toml'],
      install: ['pip install --no-cache-dir poetry', 'poetry config virtualenvs.create false', 'poetry install --only main --no-root --no-interaction'],
      build: [],
    };
  }
  if (await app.exists('uv.lock')) {
    notes.reasons.push('pyproject.toml and uv.lock: package manager uv');
    return {
      packageManager: 'uv',
      manifests: ['pyproject.toml', 'uv.lock'],
      install: ['pip install --no-cache-dir uv', 'uv pip install --system -r pyproject.toml'],
      build: [],
    };
  }
  notes.reasons.push('pyproject.toml (no poetry or uv): the app is installed with pip (PEP 517)');
  return { packageManager: 'pip', manifests: [], install: [], build: ['pip install --no-cache-dir .'] };
}

/**
 * major.minor from runtime.txt ("python-3.12.1", Heroku) or .python-version ("3.12", pyenv): the
 * nearest that paas has an image for, with a warning when it is not the one asked for.
 */
async function pythonVersion(app: AppDir, notes: Notes): Promise<string> {
  const sources = [
    { file: 'runtime.txt', pattern: /^python-(\d+\.\d+)(?:\.\d+)?$/ },
    { file: '.python-version', pattern: /^(\d+\.\d+)(?:\.\d+)?$/ },
  ];
  for (const { file, pattern } of sources) {
    const text = await app.read(file);
    if (text === undefined) continue;
    const written = firstMeaningfulLine(text);
    const requested = pattern.exec(written)?.[1];
    if (!requested) {
      notes.warnings.push(`${file} "${written}" is not a Python version like ${file === 'runtime.txt' ? 'python-3.12.1' : '3.12'}: ignored`);
      continue;
    }
    const version = nearestMinor(requested, SUPPORTED_VERSIONS.python);
    if (version === undefined) {
      throw new PaasError('config', `${file} asks for Python ${requested}, and paas builds Python ${SUPPORTED_VERSIONS.python.join(', ')} only`, {
        where: app.path(file),
        hint: `port the app to Python 3 and write ${file === 'runtime.txt' ? `python-${DEFAULT_PYTHON}` : DEFAULT_PYTHON} in ${file}, or build it with a Dockerfile of its own`,
      });
    }
    if (version === requested) {
      notes.reasons.push(`${file} "${written}": Python ${version}`);
    } else {
      notes.warnings.push(`${file} asks for Python ${requested}, which paas has no image for: using Python ${version}, the nearest`);
    }
    return version;
  }
  notes.reasons.push(`no runtime.txt or .python-version: Python ${DEFAULT_PYTHON}`);
  return DEFAULT_PYTHON;
}

function firstMeaningfulLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '' && !line.startsWith('#')) ?? '';
}

/**
 * Lowercased words of the dependency files, comments removed, `_` read as `-` (pip's name
 * normalisation). Crude, but enough to tell whether gunicorn, uvicorn or fastapi is listed.
 */
async function dependencyNames(app: AppDir): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of DEPENDENCY_FILES) {
    const text = (await app.read(file)) ?? '';
    for (const line of text.toLowerCase().split(/\r?\n/)) {
      for (const word of line.replace(/#.*/, '').match(/[a-z0-9][a-z0-9._-]*/g) ?? []) names.add(word.replace(/_/g, '-'));
    }
  }
  return names;
}

async function startCommand(app: AppDir, deps: Set<string>, notes: Notes): Promise<StartCommand> {
  const start = (await djangoStart(app, deps, notes)) ?? (await asgiStart(app, deps, notes)) ?? (await flaskStart(app, deps, notes));
  if (start) return start;
  const script = await app.firstExisting(SCRIPTS);
  if (script) return { command: `python ${script}`, source: script };
  throw new PaasError('detect', 'the python app has no start command', {
    where: app.root,
    details: [
      'looked for: a Django project (manage.py and <package>/wsgi.py)',
      'a FastAPI/Starlette app (uvicorn or fastapi listed) in main.py, app.py, server.py, api.py or asgi.py',
      'a Flask app (gunicorn listed) in app.py, main.py, wsgi.py or server.py',
      `a script: ${SCRIPTS.join(', ')}`,
    ],
    hint: 'add a Procfile with a web: line, e.g. "web: gunicorn app:app --bind 0.0.0.0:$PORT"',
  });
}

async function djangoStart(app: AppDir, deps: Set<string>, notes: Notes): Promise<StartCommand | undefined> {
  if (!(await app.exists('manage.py'))) return undefined;
  const project = await findAsync(await app.subdirectories(), (dir) => app.exists(`${dir}/wsgi.py`));
  if (!project) return undefined;
  const source = `Django project ${project} (manage.py, ${project}/wsgi.py)`;
  if (deps.has('gunicorn')) {
    notes.reasons.push(`${source}: web runs gunicorn`);
    return { command: `gunicorn ${project}.wsgi --bind 0.0.0.0:$PORT`, source };
  }
  notes.reasons.push(`${source}: web runs manage.py runserver (gunicorn is not listed)`);
  notes.warnings.push("Django's development server is not meant for production: add gunicorn to the dependencies");
  return { command: 'python manage.py runserver 0.0.0.0:$PORT', source };
}

async function asgiStart(app: AppDir, deps: Set<string>, notes: Notes): Promise<StartCommand | undefined> {
  if (!deps.has('uvicorn') && !deps.has('fastapi')) return undefined;
  const found = await findAppObject(app, ['main.py', 'app.py', 'server.py', 'api.py', 'asgi.py'], [
    /^(\w+)\s*(?::[^=\n]+)?=\s*(?:fastapi\.|starlette\.applications\.)?(?:FastAPI|Starlette)\(/m,
  ]);
  if (!found) return undefined;
  const source = `${found.module}.py ${found.variable} (ASGI app)`;
  notes.reasons.push(`${source}: web runs uvicorn`);
  if (!deps.has('uvicorn')) notes.warnings.push('uvicorn is not in the dependencies: add it (web runs uvicorn)');
  return { command: `uvicorn ${found.module}:${found.variable} --host 0.0.0.0 --port $PORT`, source };
}

async function flaskStart(app: AppDir, deps: Set<string>, notes: Notes): Promise<StartCommand | undefined> {
  if (!deps.has('gunicorn')) return undefined;
  const found = await findAppObject(app, ['app.py', 'main.py', 'wsgi.py', 'server.py'], [
    /^(\w+)\s*(?::[^=\n]+)?=\s*(?:flask\.)?Flask\(/m,
    /^(application)\s*=/m,
  ]);
  if (!found) return undefined;
  const source = `${found.module}.py ${found.variable} (WSGI app)`;
  notes.reasons.push(`${source}: web runs gunicorn`);
  return { command: `gunicorn ${found.module}:${found.variable} --bind 0.0.0.0:$PORT`, source };
}

/** The first file (in order) where one of the patterns (in order) captures the app variable. */
async function findAppObject(app: AppDir, files: string[], patterns: RegExp[]): Promise<AppObject | undefined> {
  for (const file of files) {
    const text = await app.readStart(file);
    if (text === undefined) continue;
    const variable = patterns.map((pattern) => pattern.exec(text)?.[1]).find(Boolean);
    if (variable) return { module: file.replace(/\.py$/, ''), variable };
  }
  return undefined;
}
