import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MessageReader } from '../../src/agent/messages.js';
import { parseSessionRequest } from '../../src/agent/deploy-session.js';
import { END_FRAME, encodeFrame } from '../../src/agent/protocol.js';
import { DeploySession } from '../../src/host/deploy-session.js';
import type { HostAgent, CallOptions } from '../../src/host/agent.js';

/** A sink that keeps what it is written. */
function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, callback) { chunks.push(chunk); callback(); } });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

/** Feeds bytes to a stream in pieces of `size`, each on its own tick, then ends it (unless `end` is false). */
async function feed(stream: PassThrough, data: Buffer, size: number, end = true): Promise<void> {
  for (let at = 0; at < data.length; at += size) {
    stream.write(data.subarray(at, at + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (end) stream.end();
}

describe('MessageReader: a deploy session\'s stdin', () => {
  const archive = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  const session = Buffer.concat([
    Buffer.from('{"build":{"tag":"paas/a:1"}}\n'),
    ...encodeFrame(archive.subarray(0, 1000)), ...encodeFrame(archive.subarray(1000)), END_FRAME,
    Buffer.from('{"release":{"app":"a"}}\n'),
  ]);

  it.each([1, 3, 7, 4096])('reads lines and framed data however the bytes are cut (pieces of %i)', async (size) => {
    const stdin = new PassThrough();
    const reader = new MessageReader(stdin);
    const feeding = feed(stdin, session, size);
    expect(await reader.line()).toBe('{"build":{"tag":"paas/a:1"}}');
    const { sink, bytes } = collector();
    await reader.frames(sink);
    expect(bytes().equals(archive)).toBe(true);
    expect(await reader.line()).toBe('{"release":{"app":"a"}}');
    expect(await reader.line()).toBeUndefined();
    await feeding;
  });

  it('ends the data sink only at the end frame', async () => {
    const stdin = new PassThrough();
    const reader = new MessageReader(stdin);
    stdin.end(Buffer.concat([...encodeFrame(Buffer.from('abc')), END_FRAME, Buffer.from('next\n')]));
    const { sink, bytes } = collector();
    let finished = false;
    sink.on('finish', () => { finished = true; });
    await reader.frames(sink);
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(true);
    expect(bytes().toString()).toBe('abc');
    expect(await reader.line()).toBe('next');
  });

  it('a connection that drops in the middle of the data fails the sink and the read', async () => {
    const stdin = new PassThrough();
    const reader = new MessageReader(stdin);
    stdin.end(Buffer.concat([...encodeFrame(Buffer.from('abcdef'))]).subarray(0, 7));
    const { sink } = collector();
    const failed = new Promise((resolve) => sink.on('error', resolve));
    await expect(reader.frames(sink)).rejects.toThrow('the request ended in the middle of the data (the connection was lost?)');
    expect(String(await failed)).toContain('the connection was lost');
  });

  it('a connection that drops in the middle of a line fails the read; between messages it is the end', async () => {
    const cut = new PassThrough();
    const reader = new MessageReader(cut);
    cut.end('{"release"');
    await expect(reader.line()).rejects.toThrow('the request ended in the middle of a request line');
    const clean = new PassThrough();
    const between = new MessageReader(clean);
    clean.end('');
    expect(await between.line()).toBeUndefined();
  });

  it('refuses a frame longer than the limit', async () => {
    const stdin = new PassThrough();
    const reader = new MessageReader(stdin);
    const header = Buffer.alloc(4);
    header.writeUInt32BE((1 << 20) + 1);
    stdin.end(header);
    const { sink } = collector();
    sink.on('error', () => {}); // destroyed with the same error
    await expect(reader.frames(sink)).rejects.toThrow('a data frame of 1048577 bytes is larger than 1048576');
  });
});

describe('parseSessionRequest', () => {
  it('reads the two requests', () => {
    expect(parseSessionRequest('{"build":{"tag":"paas/a:1","requires":["paas/a:deps-1"],"dockerfile":".paas/Dockerfile","buildArgs":{}}}')).toEqual({
      build: { tag: 'paas/a:1', requires: ['paas/a:deps-1'], dockerfile: '.paas/Dockerfile', buildArgs: {} },
    });
    expect(parseSessionRequest('{"release":{"app":"a","version":3}}')).toEqual({ release: { app: 'a', version: 3 } });
  });

  it.each([
    ['not json', 'a deploy request is not JSON'],
    ['{}', 'a deploy request is neither {build} nor {release}'],
    ['{"build":{"tag":1}}', 'a deploy request is neither {build} nor {release}'],
    ['{"build":{"tag":"x","requires":"y","dockerfile":"D","buildArgs":{}}}', 'a deploy request is neither {build} nor {release}'],
    ['{"release":"v1"}', 'a deploy request is neither {build} nor {release}'],
    ['null', 'a deploy request is neither {build} nor {release}'],
  ])('refuses %s', (line, message) => {
    expect(() => parseSessionRequest(line)).toThrow(message);
  });
});

/** An agent whose `deploy` call is driven by the test: it sees stdin and sends events. */
function scriptedAgent() {
  let options: CallOptions | undefined;
  let finish: (value: unknown) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const stdin: Buffer[] = [];
  const agent = {
    label: 'root@test:22',
    call: (_verb: string, _args: string[], callOptions: CallOptions) => {
      options = callOptions;
      (callOptions.stdin as PassThrough).on('data', (chunk: Buffer) => stdin.push(chunk));
      return new Promise((resolve, reject) => { finish = resolve; fail = reject; });
    },
  } as unknown as HostAgent;
  return { agent, event: (message: string, step?: string) => options!.onEvent!(message, step), finish: (v: unknown) => finish(v), fail: (e: unknown) => fail(e), stdin: () => Buffer.concat(stdin).toString('latin1') };
}

describe('DeploySession: the CLI\'s end (event routing only; the real agent is in test/e2e)', () => {
  it('answers info and build from the agent\'s named events, and keeps progress until a step takes it', async () => {
    const host = scriptedAgent();
    const session = new DeploySession(host.agent, { app: 'a', by: 'me', command: 'deploy', waitMs: 0 });
    host.event('{"arch":"amd64"}', 'info');
    host.event('building paas/a:1 on the host', 'build');
    expect(await session.info()).toEqual({ arch: 'amd64' });
    const sent = { bytes: 0 };
    const built = session.build({ tag: 'paas/a:1', requires: [], dockerfile: 'D', buildArgs: {} }, PassThrough.from([Buffer.from('tar')]) as unknown as PassThrough, sent);
    await new Promise((resolve) => setImmediate(resolve));
    host.event('{"imageId":"sha256:1","ms":5}', 'built');
    expect(await built).toEqual({ imageId: 'sha256:1', ms: 5 });
    expect(sent.bytes).toBe(3);
    expect(host.stdin()).toBe(`{"build":{"tag":"paas/a:1","requires":[],"dockerfile":"D","buildArgs":{}}}\n\u0000\u0000\u0000\u0003tar\u0000\u0000\u0000\u0000`);
    const lines: string[] = [];
    session.report((line) => lines.push(line));
    host.event('started web.1', 'start');
    expect(lines).toEqual(['building paas/a:1 on the host', 'started web.1']);
  });

  it('an agent that fails rejects what waits for it, and what is asked later', async () => {
    const host = scriptedAgent();
    const session = new DeploySession(host.agent, { app: 'a', by: 'me', command: 'deploy', waitMs: 0 });
    const info = session.info();
    host.fail(new Error('a is locked by bob'));
    await expect(info).rejects.toThrow('a is locked by bob');
    await expect(session.info()).rejects.toThrow('a is locked by bob');
    await expect(session.release({} as never)).rejects.toThrow('a is locked by bob');
  });

  it('an agent that ends without answering rejects the waiting request', async () => {
    const host = scriptedAgent();
    const session = new DeploySession(host.agent, { app: 'a', by: 'me', command: 'deploy', waitMs: 0 });
    const info = session.info();
    host.finish({ app: 'a', released: true });
    await expect(info).rejects.toThrow('the agent ended the deploy session early');
  });
});

describe('the standby agent\'s socket', () => {
  it('is named after the agent build, and only an installed agent file has one', async () => {
    const { ownStandbySocket } = await import('../../src/agent/standby.js');
    expect(ownStandbySocket('/var/lib/paas/agent/agent-0123456789abcdef.mjs')).toBe('/var/lib/paas/agent/standby-0123456789abcdef.sock');
    for (const other of ['/var/lib/paas/agent/current.mjs', '/work/dist/agent.mjs', undefined, '/x/agent-XYZ.mjs', '/x/agent-12.mjs.bak']) {
      expect(ownStandbySocket(other), String(other)).toBeUndefined();
    }
  });
});
