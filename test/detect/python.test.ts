import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/detect/index.js';
import { makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

const DJANGO = {
  'manage.py': '#!/usr/bin/env python\n',
  'mysite/__init__.py': '',
  'mysite/settings.py': '',
  'mysite/wsgi.py': 'application = get_wsgi_application()\n',
  'polls/views.py': '',
};

describe('python stack', () => {
  it('plans a Django app served by gunicorn', async () => {
    const dir = await makeTree({ ...DJANGO, 'requirements.txt': 'Django==5.0.1\ngunicorn==21.2.0  # server\n', 'runtime.txt': 'python-3.12.1\n' });
    expect(await detect(dir)).toEqual({
      stack: 'python',
      reasons: [
        'requirements.txt found: python',
        'requirements.txt: package manager pip',
        'Django project mysite (manage.py, mysite/wsgi.py): web runs gunicorn',
      ],
      warnings: ['runtime.txt asks for Python 3.12, which paas has no image for: using Python 3.11, the nearest'],
      packageManager: 'pip',
      baseImage: 'python:3.11-slim-bookworm',
      manifests: ['requirements.txt'],
      install: ['pip install --no-cache-dir -r requirements.txt'],
      build: [],
      processes: { web: 'gunicorn mysite.wsgi --bind 0.0.0.0:$PORT' },
      processSource: 'Django project mysite (manage.py, mysite/wsgi.py)',
      port: 8080,
    });
  });

  it("runs Django's development server without gunicorn, with a warning", async () => {
    const dir = await makeTree({ ...DJANGO, 'requirements.txt': 'django\n# gunicorn later\n' });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ web: 'python manage.py runserver 0.0.0.0:$PORT' });
    expect(plan.warnings).toEqual(["Django's development server is not meant for production: add gunicorn to the dependencies"]);
  });

  it("runs Heroku's bin/pre_compile and bin/post_compile hooks as the first and last build steps", async () => {
    const dir = await makeTree({
      'requirements.txt': 'flask\ngunicorn\n', 'app.py': 'app = Flask(__name__)\n', 'setup.py': '',
      'bin/pre_compile': '#!/bin/sh\necho pre\n', 'bin/post_compile': '#!/bin/sh\necho post\n',
    });
    const plan = await detect(dir);
    expect(plan.build).toEqual(['chmod +x bin/pre_compile && bin/pre_compile', 'chmod +x bin/post_compile && bin/post_compile']);
    expect(plan.reasons).toContain("bin/pre_compile: run in the build (Heroku's python hook), after the dependencies are installed");
    expect(plan.reasons).toContain("bin/post_compile: run in the build (Heroku's python hook)");
  });

  it('serves a FastAPI app with uvicorn', async () => {
    const dir = await makeTree({
      'requirements.txt': 'fastapi>=0.110\nuvicorn[standard]==0.29\n',
      'app.py': 'def helper():\n    pass\n',
      'main.py': 'from fastapi import FastAPI\n\napi: FastAPI = FastAPI(title="x")\n',
    });
    const plan = await detect(dir);
    expect(plan).toMatchObject({
      processes: { web: 'uvicorn main:api --host 0.0.0.0 --port $PORT' },
      processSource: 'main.py api (ASGI app)',
      warnings: [],
    });
    expect(plan.reasons).toContain('main.py api (ASGI app): web runs uvicorn');
  });

  it('warns when a FastAPI app does not list uvicorn', async () => {
    const dir = await makeTree({ 'requirements.txt': 'fastapi\n', 'asgi.py': 'import starlette\nroutes = []\napp = Starlette(routes=routes)\n' });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ web: 'uvicorn asgi:app --host 0.0.0.0 --port $PORT' });
    expect(plan.warnings).toEqual(['uvicorn is not in the dependencies: add it (web runs uvicorn)']);
  });

  it('serves a Flask app with gunicorn', async () => {
    const dir = await makeTree({
      'requirements.txt': 'Flask==3.0\ngunicorn\n',
      'app.py': 'from flask import Flask\nserver = Flask(__name__)\n',
    });
    expect(await detect(dir)).toMatchObject({
      processes: { web: 'gunicorn app:server --bind 0.0.0.0:$PORT' },
      processSource: 'app.py server (WSGI app)',
    });
  });

  it('finds a WSGI `application` object', async () => {
    const dir = await makeTree({ 'requirements.txt': 'gunicorn\nfalcon\n', 'wsgi.py': 'import falcon\napplication = falcon.App()\n' });
    expect((await detect(dir)).processes).toEqual({ web: 'gunicorn wsgi:application --bind 0.0.0.0:$PORT' });
  });

  it('runs a script when no framework is recognised', async () => {
    const dir = await makeTree({ 'requirements.txt': 'requests\n', 'server.py': 'print("hi")\n', 'wsgi.py': '' });
    expect(await detect(dir)).toMatchObject({ processes: { web: 'python server.py' }, processSource: 'server.py' });
  });

  it('fails without a start command', async () => {
    const dir = await makeTree({ 'requirements.txt': 'requests\n', 'tool.py': '' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({ kind: 'detect', message: 'the python app has no start command', where: dir });
    expect(error.hint).toContain('Procfile');
  });

  it('takes web from the Procfile instead of the heuristics', async () => {
    const dir = await makeTree({
      ...DJANGO,
      'requirements.txt': 'django\ngunicorn\n',
      Procfile: 'web: gunicorn mysite.wsgi --workers 4 --log-file -\nrelease: python manage.py migrate\n',
    });
    expect(await detect(dir)).toMatchObject({
      processes: { web: 'gunicorn mysite.wsgi --workers 4 --log-file -', release: 'python manage.py migrate' },
      processSource: 'Procfile',
    });
  });

  describe('package managers', () => {
    it('plans pipenv, deploying the lock when there is one', async () => {
      const dir = await makeTree({ Pipfile: '[packages]\nflask = "*"\ngunicorn = "*"\n', 'Pipfile.lock': '{}', 'app.py': 'app = Flask(__name__)\n' });
      expect(await detect(dir)).toMatchObject({
        packageManager: 'pipenv',
        manifests: ['Pipfile', 'Pipfile.lock'],
        install: ['pip install --no-cache-dir pipenv', 'pipenv install --system --deploy'],
        build: [],
        processes: { web: 'gunicorn app:app --bind 0.0.0.0:$PORT' },
      });
      const unlocked = await makeTree({ Pipfile: '[packages]\n', 'main.py': '' });
      expect(await detect(unlocked)).toMatchObject({ manifests: ['Pipfile'], install: ['pip install --no-cache-dir pipenv', 'pipenv install --system'] });
    });

    it('plans poetry for [tool.poetry] or poetry.lock', async () => {
      const dir = await makeTree({ 'pyproject.toml': '[tool.poetry]\nname = "x"\n', 'poetry.lock': '', 'main.py': '' });
      expect(await detect(dir)).toMatchObject({
        packageManager: 'poetry',
        manifests: ['pyproject.toml', 'poetry.lock'],
        install: ['pip install --no-cache-dir poetry', 'poetry config virtualenvs.create false', 'poetry install --only main --no-root --no-interaction'],
        build: [],
      });
      const unlocked = await makeTree({ 'pyproject.toml': '[tool.poetry]\nname = "x"\n', 'main.py': '' });
      expect(await detect(unlocked)).toMatchObject({ packageManager: 'poetry', manifests: ['pyproject.toml'] });
    });

    it('plans uv when uv.lock is there', async () => {
      const dir = await makeTree({ 'pyproject.toml': '[project]\nname = "x"\ndependencies = ["fastapi", "uvicorn"]\n', 'uv.lock': '', 'main.py': 'app = FastAPI()\n' });
      expect(await detect(dir)).toMatchObject({
        packageManager: 'uv',
        manifests: ['pyproject.toml', 'uv.lock'],
        install: ['pip install --no-cache-dir uv', 'uv pip install --system -r pyproject.toml'],
        processes: { web: 'uvicorn main:app --host 0.0.0.0 --port $PORT' },
      });
    });

    it('installs a plain pyproject.toml or setup.py project with pip after copying the source', async () => {
      const pep517 = await makeTree({ 'pyproject.toml': '[project]\nname = "x"\n', 'app.py': '' });
      const setupPy = await makeTree({ 'setup.py': 'from setuptools import setup\nsetup()\n', 'app.py': '' });
      for (const dir of [pep517, setupPy]) {
        expect(await detect(dir)).toMatchObject({ packageManager: 'pip', manifests: [], install: [], build: ['pip install --no-cache-dir .'] });
      }
    });
  });

  describe('python version', () => {
    it.each([
      [{ '.python-version': '3.11\n' }, [], ['.python-version "3.11": Python 3.11']],
      [{ 'runtime.txt': 'python-3.11.7\n' }, [], ['runtime.txt "python-3.11.7": Python 3.11']],
      [{ '.python-version': '3.10\n' }, ['.python-version asks for Python 3.10, which paas has no image for: using Python 3.11, the nearest'], []],
      [{ '.python-version': '# pyenv\n3.13.0\n' }, ['.python-version asks for Python 3.13, which paas has no image for: using Python 3.11, the nearest'], []],
      [
        { 'runtime.txt': 'python-3.6.15', '.python-version': '3.12' },
        ['runtime.txt asks for Python 3.6, which paas has no image for: using Python 3.11, the nearest'],
        [],
      ],
      [{}, [], ['no runtime.txt or .python-version: Python 3.11']],
    ])('%o -> python:3.11, warnings %j', async (files, warnings, reasons) => {
      const dir = await makeTree({ 'requirements.txt': '', 'app.py': '', ...files });
      const plan = await detect(dir);
      expect(plan.baseImage).toBe('python:3.11-slim-bookworm');
      expect(plan.warnings).toEqual(warnings);
      for (const reason of reasons) expect(plan.reasons).toContain(reason);
    });

    it('refuses Python 2, naming the file', async () => {
      const dir = await makeTree({ 'requirements.txt': '', 'app.py': '', 'runtime.txt': 'python-2.7.18\n' });
      expect(await paasError(detect(dir))).toMatchObject({
        kind: 'config',
        message: 'runtime.txt asks for Python 2.7, and paas builds Python 3.11 only',
        where: `${dir}/runtime.txt`,
        hint: 'port the app to Python 3 and write python-3.11 in runtime.txt, or build it with a Dockerfile of its own',
      });
    });

    it('ignores a version it cannot read, with a warning', async () => {
      const dir = await makeTree({ 'requirements.txt': '', 'app.py': '', 'runtime.txt': 'pypy3.10\n' });
      const plan = await detect(dir);
      expect(plan.baseImage).toBe('python:3.11-slim-bookworm');
      expect(plan.warnings).toEqual(['runtime.txt "pypy3.10" is not a Python version like python-3.12.1: ignored']);
    });
  });
});

describe('python without a dependency manifest', () => {
  it('is detected from a Procfile running python3, and installs nothing', async () => {
    const dir = await makeTree({ 'web.py': 'import http.server\n', Procfile: 'web: python3 -u web.py\n' });
    expect(await detect(dir)).toEqual({
      stack: 'python',
      reasons: [
        'Procfile web: runs python3 (no marker file of any stack): python',
        'no requirements.txt, Pipfile, pyproject.toml or setup.py: nothing is installed (the standard library only)',
        'no runtime.txt or .python-version: Python 3.11',
        'Procfile: process types web',
      ],
      warnings: [],
      baseImage: 'python:3.11-slim-bookworm',
      manifests: [],
      install: [],
      build: [],
      processes: { web: 'python3 -u web.py' },
      processSource: 'Procfile',
      port: 8080,
    });
  });

  it.each([
    ['exec gunicorn app:app', 'gunicorn'],
    ['FOO=1 /usr/local/bin/uvicorn main:app', 'uvicorn'],
    ['python3.11 bot.py', 'python3.11'],
  ])('reads the program of %j', async (command, program) => {
    const dir = await makeTree({ Procfile: `worker: ${command}\n` });
    expect((await detect(dir)).reasons[0]).toBe(`Procfile worker: runs ${program} (no marker file of any stack): python`);
  });

  it('is detected from an entry point alone, web running it', async () => {
    const dir = await makeTree({ 'web.py': 'print("hi")\n' });
    expect(await detect(dir)).toMatchObject({ stack: 'python', processes: { web: 'python web.py' }, processSource: 'web.py' });
  });

  it.each(['setup.cfg', '.python-version', 'runtime.txt'])('is detected from %s, a marker file', async (file) => {
    const dir = await makeTree({ [file]: file === 'runtime.txt' ? 'python-3.11.9\n' : file === '.python-version' ? '3.11\n' : '[metadata]\n', 'main.py': '' });
    expect((await detect(dir)).reasons[0]).toBe(`${file} found: python`);
  });

  it('an entry point is weaker than another stack\'s marker file', async () => {
    const dir = await makeTree({ 'index.html': '', 'server.py': '' });
    expect((await detect(dir)).stack).toBe('static');
  });
});
