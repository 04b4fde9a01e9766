import { describe, expect, it } from 'vitest';
import { DEFAULT_PIDS_LIMIT } from '../../src/release/containers.js';
import {
  checkedKind, checkedServiceName, checkedVersion, checkServiceName, linkVariable, planServiceClient, planServiceContainer, readinessArgv,
  serviceContainer, serviceNetwork, serviceUrl, serviceVolume,
} from '../../src/release/services.js';

const db = { name: 'shop-db', kind: 'postgres' as const, image: 'postgres:15-bookworm' };
const cache = { name: 'cache', kind: 'redis' as const, image: 'redis:7-bookworm' };

describe('service names, kinds and versions', () => {
  it('accepts names like app names and refuses the rest', () => {
    expect(checkServiceName('shop-db')).toBeUndefined();
    for (const bad of ['Shop', '1db', 'db-', 'a.b', '', 'x'.repeat(31), 'db;rm']) expect(checkServiceName(bad)).toContain('is not a valid service name');
    expect(() => checkedServiceName('../etc')).toThrow('is not a valid service name');
  });

  it('knows postgres and redis, and the versions it runs', () => {
    expect(checkedKind('postgres')).toBe('postgres');
    expect(() => checkedKind('mysql')).toThrow('"mysql" is not a kind of service paas runs');
    expect(checkedVersion('postgres', undefined)).toBe('15');
    expect(checkedVersion('redis', undefined)).toBe('7');
    expect(checkedVersion('postgres', '16')).toBe('16');
    expect(() => checkedVersion('postgres', '9.6')).toThrow('postgres "9.6" is not a version paas runs');
    expect(() => checkedVersion('redis', '7; rm')).toThrow('is not a version');
  });

  it('names the config var of a link', () => {
    expect(linkVariable('postgres', undefined)).toBe('DATABASE_URL');
    expect(linkVariable('redis', undefined)).toBe('REDIS_URL');
    expect(linkVariable('postgres', 'REPORTS_DATABASE_URL')).toBe('REPORTS_DATABASE_URL');
    expect(() => linkVariable('postgres', 'reports_url')).toThrow('expected an upper-case name ending in _URL');
    expect(() => linkVariable('postgres', 'PATH')).toThrow('ending in _URL');
    expect(() => linkVariable('postgres', 'A-B_URL')).toThrow('is not a valid variable name');
  });
});

describe('a service on the host', () => {
  it('has its own container, network and volume names, apart from any app\'s', () => {
    expect([serviceContainer('shop-db'), serviceNetwork('shop-db'), serviceVolume('shop-db')]).toEqual(['paas-svc-shop-db', 'paas-svc.shop-db', 'paas-svc.shop-db.data']);
  });

  it('gives apps a URL with the password encoded and the container as host', () => {
    expect(serviceUrl(db, 'p/w+x')).toBe('postgres://postgres:p%2Fw%2Bx@paas-svc-shop-db:5432/shop_db');
    expect(serviceUrl(cache, 'secret')).toBe('redis://:secret@paas-svc-cache:6379');
  });

  it('runs postgres with the password in Env only, its data in the volume, no published port', () => {
    expect(planServiceContainer(db, 'pw')).toEqual({
      Image: 'postgres:15-bookworm',
      Env: ['POSTGRES_PASSWORD=pw', 'POSTGRES_USER=postgres', 'POSTGRES_DB=shop_db', 'PGDATA=/var/lib/postgresql/data'],
      Labels: { 'paas.service': 'shop-db', 'paas.service-kind': 'postgres' },
      HostConfig: {
        NetworkMode: 'paas-svc.shop-db',
        RestartPolicy: { Name: 'unless-stopped' },
        LogConfig: { Type: '', Config: { 'max-size': '10m', 'max-file': '3' } },
        Mounts: [{ Type: 'volume', Source: 'paas-svc.shop-db.data', Target: '/var/lib/postgresql/data' }],
        PidsLimit: DEFAULT_PIDS_LIMIT,
      },
    });
  });

  it('runs redis with the password from a variable, not in its argv', () => {
    const create = planServiceContainer(cache, 'pw');
    expect(create.Cmd).toEqual(['sh', '-c', 'exec docker-entrypoint.sh redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --appendfsync everysec']);
    expect(create.Cmd!.join(' ')).not.toContain('pw');
    expect(create.Env).toEqual(['REDIS_PASSWORD=pw']);
    expect(create.HostConfig.Mounts).toEqual([{ Type: 'volume', Source: 'paas-svc.cache.data', Target: '/data' }]);
    expect(create.HostConfig).not.toHaveProperty('PortBindings');
  });

  it('connects a client in a one-off container of its network, the password in Env', () => {
    expect(planServiceClient(db, 'pw', true)).toEqual({
      Image: 'postgres:15-bookworm',
      Cmd: ['psql', '--host', 'paas-svc-shop-db', '--username', 'postgres', '--dbname', 'shop_db'],
      Env: ['PGPASSWORD=pw'],
      Labels: { 'paas.service-oneoff': 'shop-db' },
      OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true,
      HostConfig: { NetworkMode: 'paas-svc.shop-db', LogConfig: { Type: 'none', Config: {} }, PidsLimit: DEFAULT_PIDS_LIMIT },
    });
    const redis = planServiceClient(cache, 'pw', false);
    expect([redis.Cmd, redis.Env, redis.Tty]).toEqual([['redis-cli', '-h', 'paas-svc-cache', '-p', '6379'], ['REDISCLI_AUTH=pw'], undefined]);
  });

  it('checks readiness over TCP (postgres) and with PING (redis)', () => {
    expect(readinessArgv(db)).toEqual(['pg_isready', '--quiet', '--host', '127.0.0.1', '--username', 'postgres', '--dbname', 'shop_db']);
    expect(readinessArgv(cache)).toEqual(['sh', '-c', 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -qx PONG']);
  });
});
