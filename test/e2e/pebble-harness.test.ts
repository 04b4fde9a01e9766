// The pebble harness (test/e2e/pebble.ts) with a real sandbox: its ACME directory is reachable
// from inside the sandbox over TLS trusted with directoryCaPem, its DNS sends names to the
// sandbox's address on its Docker network, and pebble's HTTP-01 request lands on the sandbox's
// nginx. Nothing here issues a certificate (test/e2e/https.test.ts does): the challenge asked for is never stored.
import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeError, createAccountKey, issueCertificate } from '../../src/acme/client.js';
import { type TestHost, testWorld } from './hosts.js';
import { BLOCKED_DOMAIN, hasPebble, pebbleMissing, skipWithoutPebble, startPebbleFor, type SandboxPebble } from './pebble.js';

const world = testWorld('pebble');
let host: TestHost;
let pebble: SandboxPebble | undefined;
const caInSandbox = '/var/tmp/paas-pebble-ca.pem';
const noChallengeAnswers = { set: async () => {}, remove: async () => {} };
const poll = { attempts: 20, minMs: 50, maxMs: 500 };

beforeAll(async () => {
  if (skipWithoutPebble) return;
  host = await world.addHost('a');
  pebble = await startPebbleFor(host.container);
});

afterAll(async () => {
  await pebble?.stop();
  await world.cleanup();
});

/** GET url from inside the sandbox with its node, trusting caFile (or the system's roots). */
async function getInSandbox(url: string, caFile?: string): Promise<{ status: number; body: string } | { error: string }> {
  const script = `
    const https = require('https'); const fs = require('fs');
    const ca = process.argv[2] ? fs.readFileSync(process.argv[2]) : undefined;
    https.get(process.argv[1], { ca, timeout: 5000 }, (res) => {
      let body = ''; res.on('data', (c) => { body += c; });
      res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
    }).on('error', (e) => console.log(JSON.stringify({ error: e.message })));`;
  const { stdout } = await execa('docker', ['exec', host.container, 'node', '-e', script, url, ...(caFile ? [caFile] : [])]);
  return JSON.parse(stdout) as { status: number; body: string } | { error: string };
}

function get(ip: string, port: number, hostHeader: string, pathname = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: ip, port, path: pathname, headers: { Host: hostHeader }, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

describe.skipIf(skipWithoutPebble)(`pebble for a sandbox${hasPebble ? '' : ` (skipped: ${pebbleMissing})`}`, () => {
  it('listens on the gateway of the sandbox\'s network; the sandbox has its own address there', () => {
    const { sandbox, directoryUrl, dnsServer } = pebble!;
    expect(sandbox.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(sandbox.gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(sandbox.ip).not.toBe(sandbox.gateway);
    expect(directoryUrl).toMatch(new RegExp(`^https://${sandbox.gateway.replaceAll('.', '\\.')}:\\d+/dir$`));
    expect(dnsServer.startsWith(`${sandbox.gateway}:`)).toBe(true);
  });

  it('the directory answers inside the sandbox, over TLS trusted with directoryCaPem (and only with it)', async () => {
    const local = path.join(world.dir, 'pebble-ca.pem');
    writeFileSync(local, pebble!.directoryCaPem);
    await execa('docker', ['cp', local, `${host.container}:${caInSandbox}`]);

    const answer = await getInSandbox(pebble!.directoryUrl, caInSandbox);
    expect(answer).toMatchObject({ status: 200 });
    const directory = JSON.parse((answer as { body: string }).body) as Record<string, unknown>;
    expect(directory.newOrder).toBe(pebble!.directoryUrl.replace(/\/dir$/, '/order-plz'));

    const untrusted = await getInSandbox(pebble!.directoryUrl);
    expect(untrusted).toMatchObject({ error: expect.stringMatching(/self[- ]signed/) });
  });

  it('names resolve to the sandbox by default, elsewhere after setAddress, back after clearAddress', async () => {
    const resolver = new Resolver();
    resolver.setServers([pebble!.dnsServer]);
    expect(await resolver.resolve4('app.test')).toEqual([pebble!.sandbox.ip]);
    await pebble!.setAddress('elsewhere.app.test', '192.0.2.44');
    expect(await resolver.resolve4('elsewhere.app.test')).toEqual(['192.0.2.44']);
    await pebble!.clearAddress('elsewhere.app.test');
    expect(await resolver.resolve4('elsewhere.app.test')).toEqual([pebble!.sandbox.ip]);
    await pebble!.setDefaultIPv4('');
    try {
      await expect(resolver.resolve4('app.test')).rejects.toMatchObject({ code: 'ENODATA' });
    } finally {
      await pebble!.setDefaultIPv4(pebble!.sandbox.ip);
    }
  });

  it('the sandbox\'s nginx answers on port 80 of its network address', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: pebble!.sandbox.ip, port: 80, timeout: 5000 }, () => { socket.end(); resolve(); });
      socket.on('timeout', () => socket.destroy(new Error('timeout')));
      socket.on('error', reject);
    });
    // No app has the name: paas's default server.
    expect((await get(pebble!.sandbox.ip, 80, 'app.test')).status).toBe(404);
  });

  it('pebble\'s HTTP-01 request reaches the sandbox\'s nginx (a 404: no answer was stored for it)', async () => {
    const error = await issueCertificate({
      directoryUrl: pebble!.directoryUrl, caBundle: pebble!.directoryCaPem, accountKeyPem: await createAccountKey(),
      names: ['reach.app.test'], challenge: noChallengeAnswers, poll,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeError);
    expect((error as AcmeError).problem).toBe('challenge');
    const token = /http:\/\/reach\.app\.test:80\/\.well-known\/acme-challenge\/([\w-]+) returned 404/.exec((error as AcmeError).message)?.[1];
    expect(token, (error as AcmeError).message).toBeTruthy();
    const { stdout: log } = await execa('docker', ['exec', host.container, 'sh', '-c', 'cat /var/log/nginx/*access.log']);
    expect(log).toMatch(new RegExp(`^${pebble!.sandbox.gateway.replaceAll('.', '\\.')} .*"GET /\\.well-known/acme-challenge/${token} HTTP/1\\.1" 404 .*Pebble`, 'm'));
  });

  it('refuses the blocked name; its root is a CA certificate', async () => {
    const error = await issueCertificate({
      directoryUrl: pebble!.directoryUrl, caBundle: pebble!.directoryCaPem, accountKeyPem: await createAccountKey(),
      names: [`app.${BLOCKED_DOMAIN}`], challenge: noChallengeAnswers, poll,
    }).catch((e: unknown) => e);
    expect((error as AcmeError).problem).toBe('refused');
    expect(new X509Certificate(await pebble!.rootPem()).ca).toBe(true);
  });
});
