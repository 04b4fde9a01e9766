import { promises as fs } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PaasError } from '../../src/errors.js';
import { connectHost, fetchHostKey, parseHost } from '../../src/ssh/connect.js';
import { newKey, tempDir, type TestKey } from './helpers.js';

describe('parseHost', () => {
  it('defaults the user to root and the port to 22', () => {
    expect(parseHost('example.com')).toEqual({ user: 'root', host: 'example.com', port: 22, label: 'root@example.com:22' });
    expect(parseHost('deploy@10.0.0.5')).toEqual({ user: 'deploy', host: '10.0.0.5', port: 22, label: 'deploy@10.0.0.5:22' });
    expect(parseHost('ssh://deploy@example.com:2222')).toEqual({ user: 'deploy', host: 'example.com', port: 2222, label: 'deploy@example.com:2222' });
    expect(parseHost('ssh://[::1]:2200')).toEqual({ user: 'root', host: '::1', port: 2200, label: 'root@[::1]:2200' });
  });

  it('refuses what is not a host', () => {
    for (const value of ['', 'example.com:22', 'http://example.com', 'a b', 'ssh://x@host:99999']) {
      const error = (() => { try { parseHost(value); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(PaasError);
      expect(error).toMatchObject({ kind: 'usage', message: `"${value}" is not an SSH host`, hint: 'write it as ssh://user@host:port, user@host or host' });
    }
  });
});

/** An in-process SSH server with the given host key that lets `client` log in as root and answers every exec with "ok". */
async function startServer(hostKey: TestKey, client: TestKey): Promise<number> {
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (connection) => {
    connection.on('error', () => {});
    connection.on('authentication', (ctx) => {
      const allowed = ctx.method === 'publickey' && ctx.username === 'root' && ctx.key.data.equals(client.blob);
      if (allowed) ctx.accept(); else ctx.reject(['publickey']);
    });
    connection.on('session', (accept) => {
      accept().once('exec', (acceptExec) => {
        const channel = acceptExec();
        channel.write('ok\n');
        channel.exit(0);
        channel.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe('connectHost against an SSH server', () => {
  const hostKey = newKey();
  const clientKey = newKey();
  const identity = { privateKey: Buffer.from(clientKey.private), source: 'test key' };

  it('refuses an unknown host, trusts it on request, then knows it', async () => {
    const port = await startServer(hostKey, clientKey);
    const dir = await tempDir();
    const knownHosts = path.join(dir, 'known_hosts');
    const env = { PAAS_KNOWN_HOSTS: `${knownHosts}${path.delimiter}${path.join(dir, 'other')}` };
    const address = parseHost(`ssh://root@127.0.0.1:${port}`);

    await expect(connectHost(address, { identity, env })).rejects.toMatchObject({ kind: 'hostKey', message: `the host key of [127.0.0.1]:${port} is not known` });
    await expect(fs.access(knownHosts)).rejects.toThrow();

    const trusted: string[] = [];
    const first = await connectHost(address, { identity, env, trustHostKey: true, onHostKeyTrusted: (line) => trusted.push(line) });
    expect(await first.exec(['echo'])).toMatchObject({ code: 0, stdout: 'ok\n' });
    first.close();
    const line = `[127.0.0.1]:${port} ssh-ed25519 ${hostKey.base64}`;
    expect(trusted).toEqual([line]);
    expect(await fs.readFile(knownHosts, 'utf8')).toBe(`${line}\n`);

    const again = await connectHost(address, { identity, env });
    again.close();
    expect(await fs.readFile(knownHosts, 'utf8')).toBe(`${line}\n`);
  });

  it('refuses a changed host key even with trustHostKey', async () => {
    const port = await startServer(hostKey, clientKey);
    const dir = await tempDir();
    const knownHosts = path.join(dir, 'known_hosts');
    await fs.writeFile(knownHosts, `[127.0.0.1]:${port} ssh-ed25519 ${newKey().base64}\n`);
    const address = parseHost(`ssh://root@127.0.0.1:${port}`);
    await expect(connectHost(address, { identity, env: { PAAS_KNOWN_HOSTS: knownHosts }, trustHostKey: true }))
      .rejects.toMatchObject({ kind: 'hostKey', message: `THE HOST KEY OF [127.0.0.1]:${port} HAS CHANGED` });
  });

  it('reports a key the host does not accept as an SSH error', async () => {
    const port = await startServer(hostKey, clientKey);
    const dir = await tempDir();
    const knownHosts = path.join(dir, 'known_hosts');
    await fs.writeFile(knownHosts, `[127.0.0.1]:${port} ssh-ed25519 ${hostKey.base64}\n`);
    const stranger = { privateKey: Buffer.from(newKey().private), source: 'stranger' };
    await expect(connectHost(parseHost(`ssh://root@127.0.0.1:${port}`), { identity: stranger, env: { PAAS_KNOWN_HOSTS: knownHosts } }))
      .rejects.toMatchObject({ kind: 'ssh', message: 'the host refused every key offered for root' });
  });

  it('fetches the host key without logging in', async () => {
    const port = await startServer(hostKey, clientKey);
    expect(await fetchHostKey(parseHost(`ssh://nobody@127.0.0.1:${port}`))).toEqual(hostKey.blob);
  });

  it('says when there is no server to fetch a key from', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expect(fetchHostKey(parseHost(`ssh://root@127.0.0.1:${port}`), 2000)).rejects.toMatchObject({ kind: 'ssh' });
  });
});
