import { afterAll, describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/detect/dockerfile.js';
import { detect } from '../../src/detect/index.js';
import { json, makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

describe('parseDockerfile', () => {
  it('reads a single-stage Dockerfile', () => {
    expect(parseDockerfile('FROM node:20-alpine\nEXPOSE 3000/tcp 9229\nCMD ["node", "server.js"]\n', 'Dockerfile')).toEqual({
      baseImage: 'node:20-alpine',
      expose: '3000/tcp',
    });
  });

  it('takes the final stage of a multi-stage build, ignoring EXPOSE in build stages', () => {
    const text = [
      'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
      'EXPOSE 9999',
      'RUN go build -o /server .',
      'from gcr.io/distroless/static AS runtime',
      'COPY --from=build /server /server',
      'expose 8000',
      'EXPOSE 8001',
    ].join('\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'gcr.io/distroless/static', expose: '8000' });
  });

  it('follows a final stage built FROM an earlier stage, inheriting its EXPOSE', () => {
    const text = ['FROM python:3.12-slim AS Base', 'EXPOSE 5000', 'FROM base AS final', 'CMD ["python", "app.py"]'].join('\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'python:3.12-slim', expose: '5000' });
  });

  it('joins continuation lines and skips comments, even inside a continuation', () => {
    const text = ['# syntax=docker/dockerfile:1', 'FROM \\', '  # the runtime', '  ruby:3.3 \\', '  AS app', 'EXPOSE \\', '  4000'].join('\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'ruby:3.3', expose: '4000' });
  });

  it('honours the escape parser directive', () => {
    const text = ['# escape=`', 'FROM mcr.microsoft.com/windows/servercore `', '  AS app', 'EXPOSE 80'].join('\r\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'mcr.microsoft.com/windows/servercore', expose: '80' });
  });

  it('does not read heredoc bodies as instructions', () => {
    const text = ['FROM debian:bookworm-slim', 'RUN <<EOF', 'FROM evil:latest', 'EXPOSE 1', 'EOF', 'EXPOSE 7000'].join('\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'debian:bookworm-slim', expose: '7000' });
  });

  it('keeps ARG references as written', () => {
    const text = ['ARG NODE_VERSION=20', 'FROM node:${NODE_VERSION}-slim', 'EXPOSE $PORT'].join('\n');
    expect(parseDockerfile(text, 'Dockerfile')).toEqual({ baseImage: 'node:${NODE_VERSION}-slim', expose: '$PORT' });
  });

  it('has no expose without EXPOSE', () => {
    expect(parseDockerfile('FROM nginx:1.25\n', 'Dockerfile')).toEqual({ baseImage: 'nginx:1.25' });
  });

  it('rejects a Dockerfile without FROM', () => {
    expect(() => parseDockerfile('# nothing\nRUN true\n', '/app/Dockerfile')).toThrow(
      expect.objectContaining({ kind: 'config', message: 'the Dockerfile has no FROM instruction', where: '/app/Dockerfile' }),
    );
  });
});

describe('dockerfile stack', () => {
  it('builds a Dockerfile as is, even when package.json is there too', async () => {
    const dir = await makeTree({
      Dockerfile: 'FROM node:20 AS deps\nEXPOSE 9229\nFROM node:20-slim\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
      'package.json': json({ scripts: { start: 'node server.js' } }),
    });
    expect(await detect(dir)).toEqual({
      stack: 'dockerfile',
      reasons: [
        'Dockerfile found: built as is',
        'package.json (node) not used: the Dockerfile takes precedence',
        'Dockerfile EXPOSE 3000: port 3000',
      ],
      warnings: [],
      baseImage: 'node:20-slim',
      manifests: [],
      install: [],
      build: [],
      port: 3000,
      dockerfile: 'Dockerfile',
      processes: { web: null },
      processSource: 'Dockerfile CMD',
    });
  });

  it('uses 8080 and warns when nothing is exposed', async () => {
    const dir = await makeTree({ Dockerfile: 'FROM alpine:3.19\nCMD ["./serve"]\n' });
    const plan = await detect(dir);
    expect(plan.port).toBe(8080);
    expect(plan.warnings).toEqual(['Dockerfile has no EXPOSE: the app must listen on $PORT (8080)']);
  });

  it('warns when EXPOSE is not a number', async () => {
    const dir = await makeTree({ Dockerfile: 'FROM alpine:3.19\nEXPOSE ${PORT}\n' });
    const plan = await detect(dir);
    expect(plan.port).toBe(8080);
    expect(plan.warnings).toEqual(['Dockerfile EXPOSE ${PORT} is not a port number: the app must listen on $PORT (8080)']);
  });

  it('takes process types from a Procfile; the image CMD stays web when it has none', async () => {
    const dir = await makeTree({ Dockerfile: 'FROM alpine:3.19\nEXPOSE 5000\n', Procfile: 'worker: ./work\nrelease: ./migrate\n' });
    const plan = await detect(dir);
    expect(plan.processes).toEqual({ web: null, worker: './work', release: './migrate' });
    expect(plan.processSource).toBe('Procfile, web from Dockerfile CMD');
  });

  it('uses the dockerfile option, relative to the app directory', async () => {
    const dir = await makeTree({ 'docker/app.Dockerfile': 'FROM python:3.12\nEXPOSE 8000\n', 'requirements.txt': 'flask\n' });
    const plan = await detect(dir, { dockerfile: './docker/app.Dockerfile' });
    expect(plan).toMatchObject({ stack: 'dockerfile', dockerfile: 'docker/app.Dockerfile', baseImage: 'python:3.12', port: 8000 });
    expect(plan.reasons.slice(0, 2)).toEqual([
      'docker/app.Dockerfile requested: built as is',
      'requirements.txt (python) not used: the stack was requested',
    ]);
  });

  it('rejects a dockerfile option naming a missing file', async () => {
    const dir = await makeTree({ 'package.json': json({}) });
    const error = await paasError(detect(dir, { dockerfile: 'Dockerfile.prod' }));
    expect(error).toMatchObject({ kind: 'detect', message: 'the Dockerfile Dockerfile.prod does not exist', where: `${dir}/Dockerfile.prod` });
  });

  it('rejects a dockerfile option outside the app directory', async () => {
    const dir = await makeTree({ Dockerfile: 'FROM alpine\n' });
    const error = await paasError(detect(dir, { dockerfile: '../Dockerfile' }));
    expect(error.message).toBe('the Dockerfile ../Dockerfile is outside the app directory');
  });

  it('rejects a dockerfile option together with another stack', async () => {
    const dir = await makeTree({ Dockerfile: 'FROM alpine\n', 'package.json': json({}) });
    const error = await paasError(detect(dir, { dockerfile: 'Dockerfile', stack: 'node' }));
    expect(error.message).toBe('a Dockerfile (Dockerfile) and the node stack are both requested');
  });
});
