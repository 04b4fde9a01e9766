import { describe, expect, it } from 'vitest';
import {
  execArgv, restoreRedisSnapshotArgv, startArgv, stopArgv,
  appContainerIdsArgv, appContainerTableArgv, buildArgv, classicBuildArgv, imageIdsArgv, imageLayersArgv, imageTagsArgv, inspectArgv,
  loadArgv, logsArgv, restartArgv, serverVersionArgv, serviceLogLinesArgv, serviceLogsArgv, startAttachedArgv, statsArgv,
} from '../../src/release/docker.js';

describe('docker argv builders', () => {
  const job = { dockerfile: '/var/lib/paas/builds/1-ab/Dockerfile', tag: 'paas/shop:1a2b', idFile: '/var/lib/paas/builds/1-ab/image-id', buildArgs: { A: '1', B: 'x y' }, context: '/var/lib/paas/builds/1-ab/tree' };

  it('build, with BuildKit and classic', () => {
    expect(buildArgv(job)).toEqual([
      'build', '--progress', 'plain', '--file', '/var/lib/paas/builds/1-ab/Dockerfile', '--tag', 'paas/shop:1a2b', '--iidfile', '/var/lib/paas/builds/1-ab/image-id',
      '--build-arg', 'A=1', '--build-arg', 'B=x y', '/var/lib/paas/builds/1-ab/tree',
    ]);
    expect(classicBuildArgv({ ...job, buildArgs: {} })).toEqual([
      'build', '--file', '/var/lib/paas/builds/1-ab/Dockerfile', '--tag', 'paas/shop:1a2b', '--iidfile', '/var/lib/paas/builds/1-ab/image-id', '/var/lib/paas/builds/1-ab/tree',
    ]);
  });

  it('images', () => {
    expect(imageTagsArgv('paas/shop')).toEqual(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'paas/shop']);
    expect(imageIdsArgv()).toEqual(['image', 'ls', '--quiet', '--no-trunc']);
    expect(imageLayersArgv(['sha256:a', 'sha256:b'])).toEqual(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'sha256:a', 'sha256:b']);
    expect(loadArgv()).toEqual(['load']);
    expect(serverVersionArgv()).toEqual(['version', '--format', '{{.Server.Version}}']);
  });

  it('logs', () => {
    expect(logsArgv('c1', 30)).toEqual(['logs', '--tail', '30', 'c1']);
    expect(logsArgv('c1', 100, { timestamps: true })).toEqual(['logs', '--timestamps', '--tail', '100', 'c1']);
    expect(logsArgv('c1', 'all', { timestamps: true, follow: true })).toEqual(['logs', '--timestamps', '--follow', '--tail', 'all', 'c1']);
  });

  it('ps, inspect, stats, restart, start', () => {
    expect(appContainerIdsArgv('paas.app=shop')).toEqual(['ps', '--all', '--quiet', '--filter', 'label=paas.app=shop']);
    expect(appContainerTableArgv('paas.app=shop')).toEqual(['ps', '--all', '--filter', 'label=paas.app=shop', '--format', '{{.Names}}\t{{.Status}}\t{{.Ports}}']);
    expect(inspectArgv('{{json .}}', ['a', 'b'])).toEqual(['inspect', '--format', '{{json .}}', 'a', 'b']);
    expect(statsArgv(['a'])).toEqual(['stats', '--no-stream', '--format', '{{json .}}', 'a']);
    expect(restartArgv(10, ['a', 'b'])).toEqual(['restart', '--time', '10', 'a', 'b']);
    expect(startAttachedArgv('c1')).toEqual(['start', '--attach', 'c1']);
    expect(startAttachedArgv('c1', true)).toEqual(['start', '--attach', '--interactive', 'c1']);
  });

  it('exec, stop, start, and the redis snapshot restore (services)', () => {
    expect(execArgv('paas-svc-db', ['pg_dump', '--format', 'custom'])).toEqual(['exec', 'paas-svc-db', 'pg_dump', '--format', 'custom']);
    expect(execArgv('paas-svc-db', ['pg_restore'], { interactive: true })).toEqual(['exec', '--interactive', 'paas-svc-db', 'pg_restore']);
    expect(stopArgv(30, 'paas-svc-cache')).toEqual(['stop', '--time', '30', 'paas-svc-cache']);
    expect(startArgv('paas-svc-cache')).toEqual(['start', 'paas-svc-cache']);
    const restore = restoreRedisSnapshotArgv('paas-svc.cache.data', 'redis:7-bookworm');
    expect(restore.slice(0, 11)).toEqual(['run', '--rm', '--interactive', '--network', 'none', '--volume', 'paas-svc.cache.data:/data', '--entrypoint', 'sh', 'redis:7-bookworm', '-c']);
    expect(restore).toHaveLength(12);
    // The script is constant: names and paths come only through the argv above.
    expect(restoreRedisSnapshotArgv('paas-svc.other.data', 'redis:6-bookworm')[11]).toBe(restore[11]);
    expect(restore[11]).toContain('config set appendonly yes');
  });

  it('service logs of a cluster app: raw tail, timestamped lines, and a follow', () => {
    expect(serviceLogsArgv('shop-web', 20)).toEqual(['service', 'logs', '--raw', '--no-trunc', '--tail', '20', 'shop-web']);
    expect(serviceLogLinesArgv('shop-web', 100)).toEqual(['service', 'logs', '--timestamps', '--no-trunc', '--tail', '100', 'shop-web']);
    expect(serviceLogLinesArgv('shop-worker', 0, { follow: true })).toEqual(['service', 'logs', '--timestamps', '--no-trunc', '--follow', '--tail', '0', 'shop-worker']);
    expect(() => serviceLogLinesArgv('--host=x', 1)).toThrow(/invalid service name/);
  });
});
