// A real ACME test CA for the tests: Debian's pebble 2.4.0 (scripts/setup.sh installs it), with
// pebble-challtestsrv as its DNS. Each startPebble() is a pair of processes of its own, on
// random ports, with a temp dir; stop() ends both by their pid and removes the dir.
//
// For sandbox hosts (sandboxNetwork below): pebble listens on the gateway of the sandbox's Docker
// network, an address of this machine that the sandbox reaches, with a TLS certificate made here
// for that IP (directoryCaPem); the DNS answers the test names with the sandbox's own address on
// that network, so pebble's HTTP-01 request goes straight to the sandbox's nginx on port 80
// (not to the port published on 127.0.0.1).
//
// Issued certificates (measured with Debian's pebble 2.4.0+ds1-2+b4): notBefore is the second of
// issue, notAfter = notBefore + 157766399 s (1826 days - 1 s), e.g. 2026-12-02T00:48:35Z to
// 2031-12-02T00:48:34Z. The Debian build honours the config's certificateValidityPeriod (seconds;
// PebbleOptions.validitySeconds): with 3600, notAfter = notBefore + 3599 s.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toolsRequired } from '../nginx/harness.js';

export const PEBBLE = '/usr/bin/pebble';
export const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';
export const hasPebble = existsSync(PEBBLE) && existsSync(CHALLTESTSRV);
export const pebbleMissing = `${PEBBLE} or ${CHALLTESTSRV} is missing (scripts/setup.sh installs Debian's pebble)`;
/** Skip the pebble tests only where they may be skipped (see toolsRequired): startPebble throws otherwise. */
export const skipWithoutPebble = !hasPebble && !toolsRequired;

/** A name pebble's policy refuses (its domainBlocklist), for "the CA refuses the name". */
export const BLOCKED_DOMAIN = 'blocked.test';

export interface PebbleOptions {
  /** The address pebble's ACME directory and the DNS listen on, and the IP its TLS certificate is for. */
  listenIp: string;
  /** What every name resolves to unless setAddress says otherwise; none (no A record) when left out. */
  defaultIPv4?: string;
  /** The port pebble validates HTTP-01 on (default 80). */
  httpPort?: number;
  /** The port pebble would validate TLS-ALPN-01 on (default 443; paas does not use it). */
  tlsPort?: number;
  /** pebble's certificateValidityPeriod, in seconds (pebble's own default when left out: 5 years). */
  validitySeconds?: number;
}

export interface Pebble {
  /** https://<listenIp>:<port>/dir */
  directoryUrl: string;
  /** The self-signed certificate of the directory's TLS (SAN IP:<listenIp>): the CA bundle to trust it. */
  directoryCaPem: string;
  /** The DNS (challtestsrv) pebble asks, as ip:port (UDP and TCP), for a resolver that should agree with it. */
  dnsServer: string;
  /** pebble's issuing root: what the certificates it issues chain to (for curl --cacert). */
  rootPem(): Promise<string>;
  /** Name resolves to ip (and only that) from now on. */
  setAddress(name: string, ip: string): Promise<void>;
  /** Name resolves to the default again (or nowhere, without defaultIPv4). */
  clearAddress(name: string): Promise<void>;
  /** The default for names without an address of their own; '' for none. */
  setDefaultIPv4(ip: string): Promise<void>;
  /** The last lines pebble and challtestsrv wrote (for failure messages). */
  logs(): string;
  /** Stops both processes (by pid) and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

/** A port free on host now (the kernel's pick for port 0, released again). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 2000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) { resolve(); return; }
    const kill = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 5000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    process.kill(child.pid, 'SIGTERM');
  });
}

/** A self-signed certificate and key for ip, for the directory's TLS. */
function makeTlsCertificate(dir: string, ip: string): { certPath: string; keyPath: string } {
  const certPath = path.join(dir, 'tls-cert.pem');
  const keyPath = path.join(dir, 'tls-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=pebble ${ip}`,
    '-addext', `subjectAltName=IP:${ip}`, '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  return { certPath, keyPath };
}

/**
 * Starts challtestsrv (DNS only: pebble's challenges are answered by the host under test) and
 * pebble on listenIp, and waits until the directory and the management API answer.
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  if (!hasPebble) throw new Error(`cannot start the test ACME CA: ${pebbleMissing}`);
  const { listenIp } = options;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'paas-pebble-'));
  const children: ChildProcess[] = [];
  const lines: string[] = [];
  let stopped = false;

  const start = (bin: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const keep = (data: Buffer) => {
      lines.push(...data.toString().split('\n').filter((line) => line !== '').map((line) => `${path.basename(bin)}: ${line}`));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (error) => lines.push(`${path.basename(bin)}: ${error.message}`));
    children.push(child);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map(stopChild));
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    const { certPath, keyPath } = makeTlsCertificate(dir, listenIp);
    const directoryCaPem = await fs.readFile(certPath, 'utf8');
    const [acmePort, mgmtPort, dnsPort, challMgmtPort] = await Promise.all([freePort(listenIp), freePort(listenIp), freePort(listenIp), freePort('127.0.0.1')]);
    const dnsServer = `${listenIp}:${dnsPort}`;

    start(CHALLTESTSRV, ['-dns01', dnsServer, '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', `127.0.0.1:${challMgmtPort}`, '-defaultIPv4', options.defaultIPv4 ?? '', '-defaultIPv6', '']);
    await fs.writeFile(path.join(dir, 'pebble.json'), JSON.stringify({
      pebble: {
        listenAddress: `${listenIp}:${acmePort}`,
        managementListenAddress: `${listenIp}:${mgmtPort}`,
        certificate: certPath,
        privateKey: keyPath,
        httpPort: options.httpPort ?? 80,
        tlsPort: options.tlsPort ?? 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        domainBlocklist: [BLOCKED_DOMAIN],
        ...(options.validitySeconds !== undefined ? { certificateValidityPeriod: options.validitySeconds } : {}),
      },
    }));
    start(PEBBLE, ['-config', path.join(dir, 'pebble.json'), '-dnsserver', dnsServer], {
      PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0',
    });

    const directoryUrl = `https://${listenIp}:${acmePort}/dir`;
    const mgmtUrl = `https://${listenIp}:${mgmtPort}`;
    const challMgmtUrl = `http://127.0.0.1:${challMgmtPort}`;
    const logs = () => lines.join('\n');
    const waitUntil = async (what: string, ready: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await ready().catch(() => false))) {
        const exited = children.find((child) => child.exitCode !== null || child.signalCode !== null);
        if (exited) throw new Error(`${exited.spawnfile} exited (${exited.exitCode ?? exited.signalCode}) before ${what} answered:\n${logs()}`);
        if (Date.now() > deadline) throw new Error(`${what} did not answer within ${ms} ms:\n${logs()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const mgmtGet = (pathname: string) => httpsGet(`${mgmtUrl}${pathname}`, directoryCaPem);
    const challtestsrv = async (endpoint: string, body: unknown) => {
      const response = await fetch(`${challMgmtUrl}${endpoint}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
      if (response.status !== 200) throw new Error(`challtestsrv ${endpoint} ${JSON.stringify(body)}: HTTP ${response.status} ${await response.text()}`);
    };

    await waitUntil(directoryUrl, async () => (await httpsGet(directoryUrl, directoryCaPem)).status === 200, 15_000);
    await waitUntil(`${mgmtUrl}/roots/0`, async () => (await mgmtGet('/roots/0')).status === 200, 5000);
    await waitUntil(challMgmtUrl, async () => { await challtestsrv('/clear-a', { host: 'ready.test' }); return true; }, 5000);

    return {
      directoryUrl,
      directoryCaPem,
      dnsServer,
      async rootPem() {
        const { status, body } = await mgmtGet('/roots/0');
        if (status !== 200) throw new Error(`pebble's /roots/0 answered HTTP ${status}: ${body}`);
        return body;
      },
      setAddress: (name, ip) => challtestsrv('/add-a', { host: name, addresses: [ip] }),
      clearAddress: (name) => challtestsrv('/clear-a', { host: name }),
      setDefaultIPv4: (ip) => challtestsrv('/set-default-ipv4', { ip }),
      logs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Where a sandbox (or any container) is on its Docker network: its address and the network's gateway. */
export interface ContainerNetwork {
  network: string;
  /** The container's address: what the DNS should answer for names served by it. */
  ip: string;
  /** This machine's address on that network: where pebble listens for the sandbox. */
  gateway: string;
}

export function sandboxNetwork(container: string): ContainerNetwork {
  const out = execFileSync('docker', ['inspect', '--format', '{{json .NetworkSettings.Networks}}', container], { encoding: 'utf8' });
  const networks = JSON.parse(out) as Record<string, { IPAddress?: string; Gateway?: string }>;
  const found = Object.entries(networks).find(([, n]) => n.IPAddress && n.Gateway);
  if (!found) throw new Error(`container ${container} has no IPv4 address on a Docker network with a gateway: ${out}`);
  return { network: found[0], ip: found[1].IPAddress!, gateway: found[1].Gateway! };
}

export interface SandboxPebble extends Pebble {
  sandbox: ContainerNetwork;
}

/** Pebble for one sandbox (TestHost.container): on its network's gateway, every name resolving to the sandbox. */
export async function startPebbleFor(container: string, options: Omit<PebbleOptions, 'listenIp'> = {}): Promise<SandboxPebble> {
  const sandbox = sandboxNetwork(container);
  const pebble = await startPebble({ defaultIPv4: sandbox.ip, ...options, listenIp: sandbox.gateway });
  return { ...pebble, sandbox };
}
