/**
 * A host whose nginx already serves another site: host:setup and deploys add paas's own files
 * only, and that site keeps answering byte for byte. A port 80 or 443 held by another program is
 * refused by host:setup before it changes anything.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from './helpers.js';
import { testWorld, viaNginx, type TestHost } from './hosts.js';

const world = testWorld('nginxsite');
const example = copyExample('static');
let host: TestHost;

const onHost = (...argv: string[]) => execa('docker', ['exec', host.container, ...argv], { reject: false });
const SITE_FILES = ['/etc/nginx/nginx.conf', '/etc/nginx/sites-available/other', '/etc/nginx/sites-enabled/other', '/var/www/other/index.html'];
const hashes = async () => (await onHost('sha256sum', ...SITE_FILES)).stdout;
const otherSite = async () => {
  const answer = await viaNginx(host, 'othersite');
  return `${answer.status} ${answer.body}`;
};

beforeAll(async () => {
  host = await world.addHost('a', [], { setup: false });
  const site = 'server {\n  listen 80;\n  listen [::]:80;\n  server_name othersite.localhost;\n  root /var/www/other;\n}\n';
  const script = [
    'mkdir -p /var/www/other',
    'printf "%s" "$1" > /etc/nginx/sites-available/other',
    'ln -s /etc/nginx/sites-available/other /etc/nginx/sites-enabled/other',
    'printf "<p>another site, not paas\'s</p>\\n" > /var/www/other/index.html',
    'nginx -t && nginx -s reload',
  ].join(' && ');
  const made = await onHost('sh', '-c', script, 'sh', site);
  expect(made.exitCode, made.stderr).toBe(0);
  // nginx -s reload returns before the new workers listen: wait until the site answers.
  for (let i = 0; i < 100 && !(await otherSite()).startsWith('200 '); i += 1) await new Promise((r) => setTimeout(r, 100));
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('an nginx that already serves another site', () => {
  it('host:setup refuses a port 443 held by another program, and changes nothing', async () => {
    // viaNginx asks for the Host given; the site answers before paas is there.
    const before = await otherSite();
    expect(before).toBe("200 <p>another site, not paas's</p>\n");
    const holder = execa('docker', ['exec', host.container, 'node', '-e', "require('net').createServer().listen(443, () => console.log(process.pid))"], { reject: false });
    let pid = '';
    try {
      pid = await new Promise<string>((resolve) => holder.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
      const setup = await world.cli(['host:setup', ...world.at(host), '--public-port', String(host.httpPort)]);
      expect(setup.exitCode).not.toBe(0);
      expect(setup.stderr).toMatch(/ports 80 and 443 must be nginx's, and another program listens on 443/);
      expect(setup.stderr).toContain(`port 443: node (pid ${pid})`);
      expect((await onHost('test', '-e', '/etc/nginx/conf.d/paas.conf')).exitCode).toBe(1);
      expect((await onHost('test', '-e', '/var/lib/paas/nginx')).exitCode).toBe(1);
      expect(await otherSite()).toBe(before);
    } finally {
      // Stopped by the pid it printed (a docker exec client's end does not end it).
      if (/^\d+$/.test(pid)) await onHost('kill', pid);
      await holder;
    }
  });

  it('after host:setup and two deploys, the other site answers byte-identical and its files are untouched', async () => {
    const before = { answer: await otherSite(), files: await hashes() };
    expect(before.files.split('\n').filter(Boolean)).toHaveLength(SITE_FILES.length);
    const setup = await world.cli(['host:setup', ...world.at(host), '--public-port', String(host.httpPort)]);
    expect(setup.exitCode, setup.stderr.slice(-2000)).toBe(0);
    for (const version of [1, 2]) {
      const deploy = await world.cli(['deploy', example.dir, '--app', 'site', ...world.at(host)]);
      expect(deploy.exitCode, deploy.stderr.slice(-2000)).toBe(0);
      expect((await viaNginx(host, 'site')).status, `deploy ${version}`).toBe(200);
      expect(await otherSite(), `after deploy ${version}`).toBe(before.answer);
      expect(await hashes(), `after deploy ${version}`).toBe(before.files);
    }
    expect((await onHost('nginx', '-t')).exitCode).toBe(0);
    // A name nobody serves is still refused by paas's catch-all.
    expect((await viaNginx(host, 'unknown')).status).not.toBe(200);
  });
});
