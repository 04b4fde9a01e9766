/**
 * The host itself: what it has (facts), its setup (the state directory, the nginx wiring, the git
 * user), and the images on its engine (layers for a thin push, loading an archive).
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import { LUA_DIR, ROUTES_DIR, renderInclude, renderServer, type AppSite } from '../nginx/config.js';
import { PAAS_LUA } from '../nginx/lua.js';
import { chainIds } from '../push/layers.js';
import { imageIdsArgv, imageLayersArgv, loadArgv, serverVersionArgv } from '../release/docker.js';
import { docker, run } from './exec.js';
import { setupGit } from './git.js';
import { INTENTS_DIR } from './intents.js';
import { CHALLENGES_DIR } from '../acme/challenges.js';
import { siteFor } from '../release/settings.js';
import { changeNginxConfig, expectSites, nginxWorkerGroup, readSites, writeSitesFile, type NginxFiles } from './nginx.js';
import { AGENT_DIR, type HostAcme, type HostFacts, type HostInfo } from './protocol.js';
import { DIRECTORY_CA_FILE } from './acme.js';
import { parseListeners } from '../release/listeners.js';
import { CERTS_DIR, otherAppsNames, readSettings } from './settings.js';
import { isFront } from './front.js';
import { APPS_DIR, BUILDS_DIR, HOST_FILE, NGINX_DIR, ROOT, dockerArch, listApps, readJson, readState, writeAtomic } from './state.js';

const NGINX_INCLUDE = '/etc/nginx/conf.d/paas.conf';
const DEBIAN_DEFAULT_SITE = '/etc/nginx/sites-enabled/default';

/** What the host has: architecture, setup, with `engine` the Docker Engine's version; with an app, that app's state. */
export async function hostFacts(app: string | undefined, engine = true): Promise<HostFacts> {
  const host = await readJson<HostInfo>(HOST_FILE);
  const [version, state, others] = await Promise.all([
    engine ? docker(serverVersionArgv(), { check: false, timeoutMs: 30_000 }) : undefined,
    // A cluster's manager without the app's releases on its disk tells the cluster's (release numbers go on).
    app ? import('./swarm.js').then(({ readStateOrHistory }) => readStateOrHistory(app)) : undefined,
    // What the other apps answer to: the CLI refuses a paas.yml domain of theirs before it builds.
    app && host ? otherAppsNames(app, host.baseDomain) : undefined,
  ]);
  return {
    arch: dockerArch(), node: process.version, host, ...(state ? { state } : {}), ...(others ? { others } : {}),
    ...(version ? { docker: version.code === 0 ? version.stdout.trim() : undefined } : {}),
  };
}

/** host:setup's ACME settings; each one given replaces the host's, the others stay. */
export interface AcmeSetup {
  directoryUrl?: string;
  email?: string;
  resolver?: string;
  renewBeforeDays?: number;
  /** PEM roots for the CA's own HTTPS ('' to trust the system's again). */
  caPem?: unknown;
}

/** The host's ACME settings after `given`, checked; the roots file written or removed. */
async function acmeSettings(previous: HostAcme | undefined, given: AcmeSetup, did: string[]): Promise<HostAcme | undefined> {
  const next: HostAcme = { ...previous };
  const bad = (what: string, value: unknown, fix: string) => new PaasError('usage', `invalid ${what} ${JSON.stringify(value)}: ${fix}`);
  if (given.directoryUrl !== undefined) {
    let url: URL | undefined;
    try { url = new URL(given.directoryUrl); } catch { url = undefined; }
    if (!url || url.protocol !== 'https:' || given.directoryUrl.length > 500) throw bad('--acme-directory', given.directoryUrl, 'give the https:// URL of the CA\'s ACME directory');
    next.directoryUrl = url.href;
  }
  if (given.email !== undefined) {
    if (given.email === '') delete next.email;
    else if (!/^[^\s@<>()"',;:]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,}$/i.test(given.email)) throw bad('--acme-email', given.email, 'give an e-mail address such as ops@example.com');
    else next.email = given.email;
  }
  if (given.resolver !== undefined) {
    const [, ip, port] = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i.exec(given.resolver) ?? [];
    if (given.resolver === '') delete next.resolver;
    else if (!ip || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) throw bad('--acme-resolver', given.resolver, 'give a DNS server as IP or IP:PORT');
    else next.resolver = given.resolver;
  }
  if (given.renewBeforeDays !== undefined) {
    if (!Number.isInteger(given.renewBeforeDays) || given.renewBeforeDays < 1 || given.renewBeforeDays > 90) throw bad('--acme-renew-before', given.renewBeforeDays, 'give whole days from 1 to 90');
    next.renewBeforeDays = given.renewBeforeDays;
  }
  if (given.caPem !== undefined) {
    if (given.caPem === '') {
      await fs.rm(DIRECTORY_CA_FILE, { force: true });
      delete next.privateCa;
    } else {
      const pem = typeof given.caPem === 'string' && given.caPem.length < 256 * 1024 ? given.caPem : '';
      const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
      try {
        if (blocks.length === 0) throw new Error('no certificate in it');
        for (const block of blocks) new X509Certificate(block);
      } catch (error) {
        throw new PaasError('usage', `the --acme-ca file is not PEM certificates: ${(error as Error).message}`, { hint: 'give the PEM of the roots that sign the CA\'s HTTPS certificate' });
      }
      await fs.mkdir(path.dirname(DIRECTORY_CA_FILE), { recursive: true, mode: 0o711 });
      await writeAtomic(DIRECTORY_CA_FILE, `${blocks.join('\n')}\n`, 0o644);
      next.privateCa = true;
    }
  }
  if (JSON.stringify(next) !== JSON.stringify(previous ?? {})) did.push(`ACME: ${next.directoryUrl ?? 'Let\'s Encrypt'}${next.email ? `, contact ${next.email}` : ''}${next.privateCa ? ', its HTTPS trusted through the given roots' : ''}`);
  return Object.keys(next).length ? next : undefined;
}

/** Listens on ports 80 and 443 that are not nginx's: a clear refusal before host:setup changes anything. */
async function refuseTakenPorts(): Promise<void> {
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((file) => fs.readFile(file, 'utf8').catch(() => '')));
  const wanted = tables.flatMap(parseListeners).filter((l) => l.port === 80 || l.port === 443);
  if (wanted.length === 0) return;
  const owners = new Map<string, { pid: number; command: string }>();
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await fs.readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const inode = /^socket:\[(\d+)\]$/.exec(await fs.readlink(`/proc/${entry}/fd/${fd}`).catch(() => ''))?.[1];
      if (inode && wanted.some((l) => l.inode === inode) && !owners.has(inode)) {
        owners.set(inode, { pid: Number(entry), command: (await fs.readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '?')).trim() });
      }
    }
  }
  const taken = wanted.filter((l) => owners.has(l.inode) && owners.get(l.inode)!.command !== 'nginx');
  if (taken.length) {
    const ports = [...new Set(taken.map((l) => l.port))].sort((a, b) => a - b);
    throw new PaasError('host', `ports 80 and 443 must be nginx's, and another program listens on ${ports.join(' and ')}`, {
      details: [...new Set(taken.map((l) => `port ${l.port}: ${owners.get(l.inode)!.command} (pid ${owners.get(l.inode)!.pid})`))],
      hint: 'stop that program or move it to other ports (paas\'s nginx serves every app and can proxy to it), then run host:setup again; nothing was changed',
    });
  }
}

/** Creates the state directory and nginx wiring; idempotent. Returns what it did. */
export async function setupHost(baseDomain: string, publicPort: number, acme: AcmeSetup = {}): Promise<{ host: HostInfo; did: string[] }> {
  const did: string[] = [];
  const previous = await readJson<HostInfo>(HOST_FILE);
  // Checked before anything changes.
  await refuseTakenPorts();
  const acmeNext = await acmeSettings(previous?.acme, acme, did);
  // nginx's workers (www-data) read the route files and the Lua module: those directories are
  // readable, and the state root is traversable but not listable. App state stays 0700.
  // The agent's directory is traversable (not listable) so that a sudo user's sshd can reach the
  // standby socket given to that user (standby.ts).
  const dirs: [string, number][] = [[ROOT, 0o711], [AGENT_DIR, 0o711], [APPS_DIR, 0o700], [NGINX_DIR, 0o755], [LUA_DIR, 0o755], [ROUTES_DIR, 0o755], [path.dirname(CHALLENGES_DIR), 0o711], [CHALLENGES_DIR, 0o755], [BUILDS_DIR, 0o700], [INTENTS_DIR, 0o700]];
  for (const [dir, mode] of dirs) {
    const existed = await fs.stat(dir).then(() => true, () => false);
    await fs.mkdir(dir, { recursive: true, mode });
    await fs.chmod(dir, mode);
    if (!existed) did.push(`created ${dir}`);
  }
  const luaFile = path.join(LUA_DIR, 'paas.lua');
  if ((await fs.readFile(luaFile, 'utf8').catch(() => '')) !== PAAS_LUA) {
    await writeAtomic(luaFile, PAAS_LUA, 0o644);
    did.push(`wrote ${luaFile}`);
  }
  const include = renderInclude(NGINX_DIR);
  if ((await fs.readFile(NGINX_INCLUDE, 'utf8').catch(() => '')) !== include) {
    await writeAtomic(NGINX_INCLUDE, include, 0o644);
    did.push(`wrote ${NGINX_INCLUDE}`);
  }
  const site = await fs.lstat(DEBIAN_DEFAULT_SITE).catch(() => undefined);
  if (site?.isSymbolicLink()) {
    // Debian's welcome site also claims default_server on port 80.
    await fs.rm(DEBIAN_DEFAULT_SITE);
    did.push(`disabled ${DEBIAN_DEFAULT_SITE} (the file stays in sites-available)`);
  }
  await certificateAccess(did);
  // The table first: once the server below serves every app from it, the apps' old site files go.
  const generation = await writeSitesFile(await sitesOfApps(baseDomain));
  const files = await serverFiles(did);
  const fresh = files[SERVER_FILE] !== null && (await fs.readFile(SERVER_FILE, 'utf8').catch(() => '')) !== files[SERVER_FILE];
  // Applied every time: it also starts nginx when it is not running, and proves it serves.
  await changeNginxConfig(files);
  await expectSites(generation);
  if (fresh) did.push('installed the server of every app (routes, certificates and redirects from the sites table)');
  await setupGit(did);
  const host: HostInfo = { arch: dockerArch(), baseDomain, publicPort, setupAt: previous?.setupAt ?? new Date().toISOString(), ...(acmeNext ? { acme: acmeNext } : {}) };
  if (JSON.stringify(previous) !== JSON.stringify(host)) {
    await writeAtomic(HOST_FILE, `${JSON.stringify(host, null, 2)}\n`, 0o644);
    did.push(`recorded ${HOST_FILE}`);
  }
  return { host, did };
}

const SERVER_FILE = path.join(NGINX_DIR, '000-paas.conf');
const PLACEHOLDER_CERT = path.join(NGINX_DIR, 'placeholder.crt');
const PLACEHOLDER_KEY = path.join(NGINX_DIR, 'placeholder.key');
/** What earlier paas versions had in nginx's directory: one file per app, and catch-all servers. */
const LEGACY_FILE = /^(000-default|000-default-tls|app-[a-z][a-z0-9-]*)\.conf$/;

/**
 * nginx's files that serve every app: the server, and the legacy files to take out (null). A
 * placeholder certificate is made once (nginx needs one for `listen 443 ssl`; it is never sent).
 */
async function serverFiles(did: string[]): Promise<NginxFiles> {
  if (!(await fs.access(PLACEHOLDER_KEY).then(() => true, () => false)) || !(await fs.access(PLACEHOLDER_CERT).then(() => true, () => false))) {
    const { certPem, keyPem } = await placeholderCertificate();
    await writeAtomic(PLACEHOLDER_KEY, keyPem, 0o600);
    await writeAtomic(PLACEHOLDER_CERT, certPem, 0o644);
    did.push(`made the placeholder certificate ${PLACEHOLDER_CERT}`);
  }
  // A front balancer's host (cluster:front) serves the front on port 80, not apps.
  const files: NginxFiles = { [SERVER_FILE]: await isFront() ? null : renderServer({ placeholderCert: PLACEHOLDER_CERT, placeholderKey: PLACEHOLDER_KEY, challengesDir: CHALLENGES_DIR }) };
  for (const name of await fs.readdir(NGINX_DIR)) {
    if (LEGACY_FILE.test(name)) {
      files[path.join(NGINX_DIR, name)] = null;
      did.push(`removed ${name} (every app is served by the one server now)`);
    }
    // What a killed configuration change left (never loaded: nginx includes only *.conf).
    if (/\.conf\.(prev|removed|next)$/.test(name)) await fs.rm(path.join(NGINX_DIR, name), { force: true });
  }
  return files;
}

/** A self-signed ECDSA certificate for a name no client asks for, and its key (PEM). */
async function placeholderCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const [x509, { webcrypto }] = await Promise.all([import('@peculiar/x509'), import('node:crypto')]);
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=paas-placeholder.invalid', notBefore: new Date(), notAfter: new Date(Date.now() + 3650 * 86_400_000), keys, signingAlgorithm: algorithm,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
}

/**
 * The sites table as the apps' releases and settings say, for every app with a current release;
 * an app without one keeps the entry it has (a first deploy under way).
 */
async function sitesOfApps(baseDomain: string): Promise<AppSite[]> {
  const { sites: existing } = await readSites().catch(() => ({ sites: [] as AppSite[] }));
  const sites: AppSite[] = [];
  for (const app of await listApps()) {
    const state = await readState(app);
    const current = state.releases.find((r) => r.version === state.current);
    if (current) sites.push(siteFor(app, baseDomain, current.domains, await readSettings(app)));
    else {
      const entry = existing.find((site) => site.app === app);
      if (entry) sites.push(entry);
    }
  }
  return sites;
}

/** nginx's workers pick each handshake's certificate: the certificates are readable by their group (0640), nothing more. */
async function certificateAccess(did: string[]): Promise<void> {
  const gid = await nginxWorkerGroup();
  await fs.mkdir(CERTS_DIR, { recursive: true, mode: 0o750 });
  await fs.chmod(CERTS_DIR, 0o750);
  await fs.chown(CERTS_DIR, 0, gid);
  let changed = 0;
  for (const app of await fs.readdir(CERTS_DIR)) {
    const dir = path.join(CERTS_DIR, app);
    const stat = await fs.lstat(dir);
    if (!stat.isDirectory()) continue;
    if (stat.gid !== gid || (stat.mode & 0o777) !== 0o750) { await fs.chown(dir, 0, gid); await fs.chmod(dir, 0o750); changed++; }
    for (const name of await fs.readdir(dir)) {
      const file = path.join(dir, name);
      const fileStat = await fs.lstat(file);
      if (!fileStat.isFile()) continue;
      if (fileStat.gid !== gid || (fileStat.mode & 0o777) !== 0o640) { await fs.chown(file, 0, gid); await fs.chmod(file, 0o640); changed++; }
    }
  }
  if (changed) did.push(`made ${changed} certificate file(s) readable by nginx's workers (group ${gid})`);
}

/** Chain IDs of every layer of every image on this engine: what a thin push may leave out. */
export async function layerChainIds(): Promise<{ chainIds: string[] }> {
  const ids = (await docker(imageIdsArgv(), { timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return { chainIds: [] };
  // An image listed above may be pruned by now (a drain in the background): the others still print.
  const { stdout } = await docker(imageLayersArgv([...new Set(ids)]), { check: false, timeoutMs: 60_000 });
  const all = new Set<string>();
  for (const line of stdout.split('\n').filter(Boolean)) for (const id of chainIds(JSON.parse(line) as string[])) all.add(id);
  return { chainIds: [...all] };
}

/** `docker load` of an archive (a docker-save archive, gzip or not). */
export async function loadImages(archive: Readable): Promise<{ loaded: string[] }> {
  const result = await run('docker', loadArgv(), { stdin: archive, check: false });
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim();
    const full = /no space left on device/i.test(output);
    throw new PaasError('host', full ? 'docker load failed: the disk of the Docker Engine is full' : 'docker load refused the image archive', {
      details: output.split('\n').slice(-5),
      ...(full ? { hint: 'free space on the host (`df -h /var/lib/docker`; `docker system prune`), then deploy again' } : {}),
    });
  }
  return { loaded: result.stdout.split('\n').filter((l) => l.startsWith('Loaded image')).map((l) => l.replace(/^Loaded image( ID)?: /, '')) };
}
