import { PaasError } from '../errors.js';
import type { SshConnection } from '../ssh/client.js';
import { HostAgent, asRoot } from './agent.js';

export interface HostSetupReport {
  host: string;
  os: string;
  arch: string;
  /** Tool -> version found before anything was installed (null: missing). */
  found: Record<'docker' | 'nginx' | 'nginxLua' | 'node' | 'git' | 'sudo', string | null>;
  installed: string[];
  agent: { path: string; uploaded: boolean };
  did: string[];
  baseDomain: string;
  publicPort: number;
  /** With --images: the base images sent (those the host lacked). */
  imagesSent?: string[];
}

const MIN_NODE_MAJOR = 18;
const PACKAGES = { docker: 'docker.io', nginx: 'nginx', nginxLua: 'libnginx-mod-http-lua', node: 'nodejs', git: 'git', sudo: 'sudo' } as const;
/** nginx's Lua module, compiled in (OpenResty) or loaded (Debian's libnginx-mod-http-lua). */
const HAS_NGINX_LUA = 'nginx -V 2>&1 | grep -q lua-nginx-module || grep -qs ngx_http_lua_module /etc/nginx/modules-enabled/*.conf';

async function probe(ssh: SshConnection): Promise<HostSetupReport['found']> {
  const docker = await ssh.exec(asRoot(ssh, ['docker', 'version', '--format', '{{.Server.Version}}']));
  // As root: nginx lives in /usr/sbin, which is not on an ordinary user's PATH on Debian.
  const nginx = await ssh.exec(asRoot(ssh, ['nginx', '-v']));
  const node = await ssh.exec(['node', '--version']);
  const lua = await ssh.exec(asRoot(ssh, ['sh', '-c', HAS_NGINX_LUA]));
  // git serves `git push paas main`; sudo lets the git user run the paas git shell as root.
  const git = await ssh.exec(['git', '--version']);
  const sudo = await ssh.exec(asRoot(ssh, ['visudo', '--version']));
  const nodeVersion = node.code === 0 ? node.stdout.trim() : null;
  const nodeMajor = nodeVersion ? Number(/^v(\d+)/.exec(nodeVersion)?.[1] ?? 0) : 0;
  return {
    docker: docker.code === 0 ? docker.stdout.trim() : null,
    nginx: nginx.code === 0 ? (/nginx\/(\S+)/.exec(nginx.stderr + nginx.stdout)?.[1] ?? 'unknown') : null,
    nginxLua: nginx.code === 0 && lua.code === 0 ? 'lua-nginx-module' : null,
    node: nodeMajor >= MIN_NODE_MAJOR ? nodeVersion : null,
    git: git.code === 0 ? (/git version (\S+)/.exec(git.stdout)?.[1] ?? 'unknown') : null,
    sudo: sudo.code === 0 ? (/version (\S+)/i.exec(sudo.stdout)?.[1] ?? 'unknown') : null,
  };
}

function parseOsRelease(text: string): { id: string; like: string; pretty: string } {
  const field = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
  return { id: field('ID'), like: field('ID_LIKE'), pretty: field('PRETTY_NAME') || field('ID') || 'unknown' };
}

/**
 * Makes a host ready for paas, safe to run again: checks Docker Engine, nginx and Node.js >= 18,
 * installs what is missing on Debian/Ubuntu, uploads the agent, and has it create the state
 * directory, the nginx include and the default server.
 */
/** Let's Encrypt's staging directory (host:setup --acme-staging). */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** host:setup's --acme-* settings, as the setup verb takes them (the CA roots' PEM goes on stdin). */
export interface AcmeFlags { 'acme-directory'?: string; 'acme-email'?: string; 'acme-resolver'?: string; 'acme-renew-before'?: number; caPem?: string }

export async function setupHost(ssh: SshConnection, label: string, options: { baseDomain: string; publicPort: number; acme?: AcmeFlags; onEvent?: (line: string) => void }): Promise<HostSetupReport> {
  const say = options.onEvent ?? (() => {});
  const os = parseOsRelease((await ssh.exec(['cat', '/etc/os-release'])).stdout);
  const arch = (await ssh.exec(['uname', '-m'])).stdout.trim();
  const found = await probe(ssh);
  say(`${os.pretty} ${arch}: docker ${found.docker ?? 'missing'}, nginx ${found.nginx ?? 'missing'}${found.nginxLua ? ' with Lua' : ' (no Lua module)'}, node ${found.node ?? `missing or < ${MIN_NODE_MAJOR}`}, git ${found.git ?? 'missing'}, sudo ${found.sudo ?? 'missing'}`);
  const missing = (Object.keys(found) as (keyof typeof found)[]).filter((tool) => found[tool] === null);
  const installed: string[] = [];
  if (missing.length) {
    const debian = [os.id, ...os.like.split(' ')].some((id) => id === 'debian' || id === 'ubuntu');
    if (!debian) {
      throw new PaasError('host', `${label} lacks ${missing.join(', ')} and paas installs them only on Debian or Ubuntu (this is ${os.pretty})`, {
        hint: `install ${missing.map((m) => (m === 'node' ? `Node.js >= ${MIN_NODE_MAJOR}` : m === 'nginxLua' ? 'the nginx Lua module (lua-nginx-module, or OpenResty)' : m)).join(', ')} on the host, then run host:setup again`,
      });
    }
    const packages = missing.map((tool) => PACKAGES[tool]);
    say(`installing ${packages.join(' ')} with apt-get`);
    const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
    for (const argv of [[...env, 'apt-get', 'update', '-q'], [...env, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages]]) {
      const result = await ssh.exec(asRoot(ssh, argv));
      if (result.code !== 0) {
        throw new PaasError('host', `${argv.slice(2, 4).join(' ')} failed on ${label}`, { details: result.stderr.trim().split('\n').slice(-8), hint: 'fix the package sources on the host, or install the packages yourself' });
      }
    }
    installed.push(...packages);
    const after = await probe(ssh);
    const stillMissing = missing.filter((tool) => after[tool] === null);
    if (stillMissing.length) {
      throw new PaasError('host', `${stillMissing.join(', ')} still not usable on ${label} after installing`, {
        hint: stillMissing.includes('docker') ? 'start the Docker Engine (systemctl enable --now docker) and run host:setup again' : 'check the installation on the host',
      });
    }
  }
  const agent = new HostAgent(ssh, label);
  const uploaded = await agent.install();
  say(uploaded ? `uploaded the agent to ${agent.path}` : `agent ${agent.path} already there`);
  const { caPem, ...acme } = options.acme ?? {};
  const result = await agent.call('setup', { 'base-domain': options.baseDomain, 'public-port': options.publicPort, ...acme, ...(caPem !== undefined ? { 'acme-ca': true } : {}) },
    caPem !== undefined ? { stdin: JSON.stringify({ ca: caPem }) } : undefined);
  for (const line of result.did) say(line);
  return { host: label, os: os.pretty, arch, found, installed, agent: { path: agent.path, uploaded }, did: result.did, baseDomain: options.baseDomain, publicPort: options.publicPort };
}

/**
 * Sends the host the base images the app in `dir` builds FROM, when it lacks them: a host that
 * cannot pull (no registry, air-gapped) can then build pushed revisions itself.
 */
export async function sendBaseImages(dir: string, agent: HostAgent, report: (line: string) => void): Promise<string[]> {
  const { resolveApp } = await import('../app.js');
  const { plan } = await resolveApp(dir);
  const refs = [...new Set([plan.baseImage, plan.runtimeImage].filter((r): r is string => !!r))];
  const missing = await sendImages(agent, refs, `the ${plan.stack} app's build`, report);
  if (missing.length === 0) report(`the host has the base images: ${refs.join(', ')}`);
  return missing;
}

/** Sends the host the images of `refs` it lacks, from the local engine (pulled there first where a registry answers); the ones sent. */
export async function sendImages(agent: HostAgent, refs: string[], why: string, report: (line: string) => void): Promise<string[]> {
  const { connectEngine, ensureImage } = await import('../docker/engine.js');
  const { pushImage } = await import('../push/thin.js');
  const { agentReceiver } = await import('../deploy/index.js');
  const { missing } = await agent.call('images', { ref: refs });
  if (missing.length === 0) return [];
  const docker = await connectEngine();
  for (const ref of missing) {
    await ensureImage(docker, ref, why);
    report(`sending ${ref}`);
    await pushImage(docker, ref, agentReceiver(agent), { onProgress: report });
  }
  return missing;
}
