/**
 * host:info: what paas found on the host and what it will use (engine, image store, builder,
 * nginx, user, architecture, free disk), read without changing anything.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { buildxVersionArgv } from '../release/docker.js';
import { describeBuilder, describeImageStore } from '../release/host-report.js';
import { engineGet } from './engine.js';
import { docker, run } from './exec.js';
import type { HostReport } from './protocol.js';
import { ROOT } from './state.js';

interface EngineVersion { Version?: string; ApiVersion?: string }
interface EngineInfo { Driver?: string; DriverStatus?: [string, string][]; DockerRootDir?: string; OperatingSystem?: string }

async function freeBytes(dir: string): Promise<number | undefined> {
  const stat = await fs.statfs(dir).catch(() => undefined);
  return stat ? stat.bavail * stat.bsize : undefined;
}

export async function hostReport(): Promise<HostReport> {
  const [version, info, buildx, nginx, luaModule] = await Promise.all([
    engineGet<EngineVersion>('/version').catch(() => undefined),
    engineGet<EngineInfo>('/info').catch(() => undefined),
    docker(buildxVersionArgv(), { check: false, timeoutMs: 30_000 }).catch(() => undefined),
    run('nginx', ['-V'], { check: false, timeoutMs: 10_000 }).catch(() => undefined),
    fs.access('/usr/share/nginx/modules/ngx_http_lua_module.so').then(() => true, () => false),
  ]);
  const engineVersion = version?.status === 200 ? version.body?.Version : undefined;
  const engineInfo = info?.status === 200 ? info.body : undefined;
  const nginxVersion = nginx?.code === 0 ? /nginx version: nginx\/(\S+)/.exec(nginx.stderr)?.[1] : undefined;
  const sudoUser = process.env.SUDO_USER;
  const dockerRoot = engineInfo?.DockerRootDir ?? '/var/lib/docker';
  const [dockerFree, paasFree] = await Promise.all([freeBytes(dockerRoot), freeBytes(ROOT)]);
  const store = describeImageStore(engineInfo?.DriverStatus ?? []);
  return {
    user: sudoUser ?? os.userInfo().username,
    sudo: sudoUser !== undefined,
    arch: os.arch(),
    os: engineInfo?.OperatingSystem ?? os.type(),
    node: process.version,
    engine: {
      ...(engineVersion ? { version: engineVersion } : {}),
      ...(version?.body?.ApiVersion ? { api: version.body.ApiVersion } : {}),
      storageDriver: engineInfo?.Driver ?? 'unknown',
      containerdStore: store.containerd,
      imageStore: store.text,
    },
    builder: describeBuilder(engineVersion, buildx?.code === 0 ? buildx.stdout.trim() : undefined),
    nginx: {
      ...(nginxVersion ? { version: nginxVersion } : {}),
      lua: luaModule,
    },
    disk: { [dockerRoot]: dockerFree ?? null, [ROOT]: paasFree ?? null },
  };
}
