import { describe, expect, it } from 'vitest';
import { splitDockerfile, type SplitDockerfile } from '../../src/build/split.js';
import { renderDockerfile } from '../../src/build/dockerfile.js';
import type { BuildPlan } from '../../src/detect/types.js';

function split(text: string): SplitDockerfile {
  const result = splitDockerfile(text);
  if (typeof result === 'string') throw new Error(result);
  return result;
}

describe('splitDockerfile', () => {
  it('cuts a one-stage file at the marker', () => {
    const result = split([
      'FROM node:20',
      'WORKDIR /app',
      'COPY package.json ./',
      'RUN npm ci',
      '# paas:source (comment)',
      'COPY . .',
      'CMD ["node", "server.js"]',
      '',
    ].join('\n'));
    expect(result.deps).toBe('FROM node:20\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\n');
    expect(result.baseImages).toEqual([]);
    expect(result.source('paas/shop:deps-0123456789ab')).toBe('FROM paas/shop:deps-0123456789ab\nCOPY . .\nCMD ["node", "server.js"]\n');
  });

  it('keeps the stage name, redeclares global and stage ARGs, and lists later base images', () => {
    const result = split([
      'ARG GO=1.22',
      'FROM golang:${GO} AS build',
      'ARG FLAGS="-s -w"',
      'RUN go mod download',
      '#paas:source',
      'COPY . .',
      'RUN go build -ldflags "$FLAGS" -o /out/app',
      '',
      'FROM debian:bookworm-slim',
      'COPY --from=build /out/app /app',
      'FROM debian:bookworm-slim AS again',
      'FROM scratch',
      'COPY --from=again /app /app',
    ].join('\n'));
    expect(result.baseImages).toEqual(['debian:bookworm-slim']);
    expect(result.source('deps:1')).toBe([
      'ARG GO=1.22',
      'FROM deps:1 AS build',
      'ARG FLAGS="-s -w"',
      'COPY . .',
      'RUN go build -ldflags "$FLAGS" -o /out/app',
      '',
      'FROM debian:bookworm-slim',
      'COPY --from=build /out/app /app',
      'FROM debian:bookworm-slim AS again',
      'FROM scratch',
      'COPY --from=again /app /app',
      '',
    ].join('\n'));
  });

  it.each([
    ['FROM a\nCOPY . .\n', 'it has no `# paas:source` line'],
    ['# paas:source\nFROM a\n', 'its `# paas:source` line comes before the first FROM'],
    ['FROM a AS tools\nFROM b\n# paas:source\nCOPY --from=tools /x /x\n', 'a line below `# paas:source` copies from tools, a stage above it'],
    ['FROM a AS tools\nFROM b\n# paas:source\nFROM tools\n', 'a stage below `# paas:source` starts FROM tools, a stage above it'],
    ['FROM a\n# paas:source\nFROM ${BASE}\n', 'a FROM below `# paas:source` uses a variable'],
  ])('refuses %j', (text, reason) => {
    expect(splitDockerfile(text)).toBe(reason);
  });

  it('handles continuation lines in the checks', () => {
    const result = split('FROM a AS one\nRUN x \\\n  && y\n# paas:source\nCOPY \\\n  --from=one /a /b\n');
    expect(result.source('d')).toBe('FROM d AS one\nCOPY \\\n  --from=one /a /b\n');
  });

  it('every stack template has exactly one marker, and the cut parts hold every line', () => {
    const plans: BuildPlan[] = (['node', 'python', 'ruby', 'go', 'static'] as const).map((stack) => ({
      stack, reasons: [], warnings: [], baseImage: `${stack}:base`, ...(stack === 'go' ? { runtimeImage: 'debian:slim' } : {}),
      manifests: ['m'], install: ['i'], build: [], processes: { web: 'run' }, processSource: 'test', port: 8080,
    }));
    for (const plan of plans) {
      const text = renderDockerfile(plan);
      const result = split(text);
      expect(result.baseImages).toEqual(plan.stack === 'go' ? ['debian:slim'] : []);
      // The source part declares the ARGs of the dependency stage again (python's and ruby's
      // package index), so that its build steps see the same build arguments.
      const stageArgs = result.deps.split('\n').filter((l) => l.startsWith('ARG '));
      const sourceLines = result.source('DEPS').split('\n').slice(1);
      expect(sourceLines.slice(0, stageArgs.length)).toEqual(stageArgs);
      const source = sourceLines.slice(stageArgs.length).join('\n');
      const marker = text.split('\n').find((l) => l.startsWith('# paas:source'))!;
      expect(`${result.deps}${marker}\n${source}`).toBe(text);
    }
  });
});
