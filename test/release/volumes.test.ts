import { describe, expect, it } from 'vitest';
import { DEFAULT_PIDS_LIMIT, planContainers, planCronRun, planOneOff } from '../../src/release/containers.js';
import { planRollout } from '../../src/release/plan.js';
import type { ReleaseSpec } from '../../src/release/types.js';
import { validateSpec } from '../../src/release/validate.js';
import {
  checkVolumeName, checkVolumePath, dockerVolumeName, mergeVolumes, mountsFor, parseVolumeArgument, volumeCreate, volumeProblems, volumeText, type VolumeMount,
} from '../../src/release/volumes.js';

const data: VolumeMount = { name: 'data', path: '/app/data', source: 'paas.yml' };
const uploads: VolumeMount = { name: 'uploads', path: '/app/public/uploads', processes: ['web'], source: 'volumes:add' };

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    app: 'shop', version: 3, image: 'paas/shop:v3', imageId: '', processes: { web: null, worker: 'node worker.js' }, formation: { web: 1, worker: 1 },
    port: 8080, domains: [], balance: 'round_robin', env: {}, description: 'Deploy', createdBy: 'ann@laptop', keepReleases: 5, drainMs: 1000, stopTimeoutSeconds: 10,
    ...overrides,
  };
}

describe('volume names and paths', () => {
  it('accepts plain names and absolute paths', () => {
    expect(checkVolumeName('data')).toBeUndefined();
    expect(checkVolumeName('pg-data2')).toBeUndefined();
    expect(checkVolumePath('/app/data')).toBeUndefined();
    expect(checkVolumePath('/srv/uploads@v1/x.y_z+1')).toBeUndefined();
  });

  it.each([
    ['Data', 'is not a valid volume name'], ['1data', 'is not a valid volume name'], ['a.b', 'is not a valid volume name'], ['', 'is not a valid volume name'],
    ['a'.repeat(31), 'is not a valid volume name'],
  ])('refuses the name %j', (name, problem) => {
    expect(checkVolumeName(name)).toContain(problem);
  });

  it.each([
    ['app/data', 'it must be absolute'],
    ['/app/../etc', 'without empty, "." or ".." parts'],
    ['/app//data', 'without empty'],
    ['/app/data/', 'without empty'],
    ['/app/./data', 'without empty'],
    ['/', 'system directory'],
    ['/etc', 'system directory'],
    ['/proc/self', 'system directory'],
    ['/app/da ta', 'only letters'],
    ['/app/data:ro', 'only letters'],
    ['/app/\ndata', 'only letters'],
    [`/${'a'.repeat(200)}`, 'at most 200'],
  ])('refuses the path %j', (path, problem) => {
    expect(checkVolumePath(path)).toContain(problem);
  });

  it('parses NAME:/path', () => {
    expect(parseVolumeArgument('data:/app/data')).toEqual({ name: 'data', path: '/app/data' });
    expect(() => parseVolumeArgument('data')).toThrow('is not NAME:/path');
    expect(() => parseVolumeArgument('Data:/x')).toThrow('is not a valid volume name');
    expect(() => parseVolumeArgument('data:/app/../x')).toThrow('is not a valid mount path');
  });

  it('names Docker volumes after the app', () => {
    expect(dockerVolumeName('shop', 'data')).toBe('paas-shop.data');
    expect(volumeCreate('shop', 'data')).toEqual({ Name: 'paas-shop.data', Driver: 'local', Labels: { 'paas.app': 'shop', 'paas.volume': 'data' } });
    expect(volumeText(uploads)).toBe('uploads:/app/public/uploads (web)');
  });
});

describe('volumeProblems', () => {
  it('accepts a valid list', () => {
    expect(volumeProblems([data, uploads])).toEqual([]);
  });

  it('names each bad entry', () => {
    expect(volumeProblems([data, { ...data, path: '/x' }, { ...uploads, name: 'up', path: '/app/data' }, { name: 'x', path: '/y', processes: [], source: 'elsewhere' }, 'nope'])).toEqual([
      'volumes[1].name: data is listed twice',
      'volumes[2].path: /app/data is mounted twice',
      'volumes[3].processes: expected a list of 1 to 20 process types',
      'volumes[3].source: expected paas.yml or volumes:add',
      'volumes[4]: expected { name, path, processes, source }',
    ]);
    expect(volumeProblems({})).toEqual(['volumes: expected a list of { name, path, processes, source }']);
    expect(volumeProblems(Array.from({ length: 21 }, (_, i) => ({ ...data, name: `v${i}`, path: `/v${i}` })))).toEqual(['volumes: 21 volumes, at most 20 are allowed']);
  });

  it('is checked by validateSpec (a hand-made spec is refused)', () => {
    expect(() => validateSpec(spec({ volumes: [{ ...data, path: '/etc' }] }))).toThrow('the release spec is invalid');
    expect(() => validateSpec(spec({ volumes: [data] }))).not.toThrow();
  });
});

describe('mergeVolumes', () => {
  it('keeps paas.yml volumes and adds the host ones', () => {
    expect(mergeVolumes([data], [uploads])).toEqual([data, uploads]);
  });

  it('replaces a release\'s volumes:add entries by the host\'s current ones', () => {
    const removedSince: VolumeMount = { name: 'old', path: '/old', source: 'volumes:add' };
    expect(mergeVolumes([data, removedSince], [uploads])).toEqual([data, uploads]);
    expect(mergeVolumes([data, removedSince], [])).toEqual([data]);
  });

  it('takes the same volume declared in both once', () => {
    expect(mergeVolumes([data], [{ ...data, source: 'volumes:add' }])).toEqual([data]);
  });

  it('refuses a name or a path declared differently', () => {
    expect(() => mergeVolumes([data], [{ name: 'data', path: '/srv/data', source: 'volumes:add' }])).toThrow('volume data (/app/data) in paas.yml clashes with data (/srv/data) added with volumes:add');
    expect(() => mergeVolumes([data], [{ name: 'other', path: '/app/data', source: 'volumes:add' }])).toThrow('clashes with other (/app/data)');
  });
});

describe('mounts in containers', () => {
  it('mounts a volume into the types it names, and every volume into one-off containers', () => {
    expect(mountsFor('shop', [data, uploads], 'web')).toEqual([
      { Type: 'volume', Source: 'paas-shop.data', Target: '/app/data' },
      { Type: 'volume', Source: 'paas-shop.uploads', Target: '/app/public/uploads' },
    ]);
    expect(mountsFor('shop', [data, uploads], 'worker')).toEqual([{ Type: 'volume', Source: 'paas-shop.data', Target: '/app/data' }]);
    expect(mountsFor('shop', [data, uploads])).toHaveLength(2);
    expect(mountsFor('shop', undefined, 'web')).toEqual([]);
  });

  it('puts them in the Engine API bodies', () => {
    const plans = planContainers(spec({ volumes: [data, uploads] }), [41000]);
    expect(plans.map((p) => [p.name, p.create.HostConfig.Mounts])).toEqual([
      ['paas-shop.web.1.v3', [{ Type: 'volume', Source: 'paas-shop.data', Target: '/app/data' }, { Type: 'volume', Source: 'paas-shop.uploads', Target: '/app/public/uploads' }]],
      ['paas-shop.worker.1.v3', [{ Type: 'volume', Source: 'paas-shop.data', Target: '/app/data' }]],
    ]);
    expect(planContainers(spec(), [41000])[0]!.create.HostConfig).not.toHaveProperty('Mounts');
    const oneOff = planOneOff(spec({ volumes: [uploads] }), {}, { kind: 'run', argv: ['sh'] });
    expect(oneOff.HostConfig).toEqual({
      NetworkMode: 'paas-shop', LogConfig: { Type: 'none', Config: {} },
      Mounts: [{ Type: 'volume', Source: 'paas-shop.uploads', Target: '/app/public/uploads' }], PidsLimit: DEFAULT_PIDS_LIMIT,
    });
    expect(planCronRun(spec({ volumes: [uploads] }), {}, { id: 'report', command: 'true' }, undefined).HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'paas-shop.uploads', Target: '/app/public/uploads' },
    ]);
  });

  it('records the merged mounts in the release a rollout plans', () => {
    const facts = { state: { app: 'shop', releases: [] }, config: {}, override: undefined, existing: [], settings: { domains: [] }, baseDomain: 'localhost', hostVolumes: [uploads] };
    const plan = planRollout(spec({ volumes: [data] }), facts, [41000], '2026-12-01T00:00:00.000Z');
    expect(plan.spec.volumes).toEqual([data, uploads]);
    expect(plan.active.releases[0]!.volumes).toEqual([data, uploads]);
    expect(plan.containers[0]!.create.HostConfig.Mounts).toHaveLength(2);
    expect(planRollout(spec(), { ...facts, hostVolumes: [] }, [41000], '2026-12-01T00:00:00.000Z').spec).not.toHaveProperty('volumes');
  });
});
