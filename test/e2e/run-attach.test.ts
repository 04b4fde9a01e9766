import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, copyExample } from './helpers.js';
import { testWorld, type TestHost } from './hosts.js';

const world = testWorld('runhead');
const app = 'runhead';
const example = copyExample('node');
let host: TestHost;

const hostExec = (...args: string[]) => execa('docker', ['exec', host.container, ...args], { reject: false });

/** `paas run` with no TTY, its stdout as bytes. */
async function runBytes(...argv: string[]) {
  const result = await execa(process.execPath, [cliPath, 'run', '--app', app, ...world.at(host), '--', ...argv], {
    env: { ...world.env, NO_COLOR: '1' }, reject: false, stdin: 'ignore', encoding: 'buffer', stripFinalNewline: false, timeout: 60_000,
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr).toString('utf8') };
}

beforeAll(async () => {
  host = await world.addHost('a');
  const deployed = await world.cli(['deploy', example.dir, '--app', app, ...world.at(host)]);
  expect(deployed.exitCode, deployed.stderr.slice(-3000)).toBe(0);
});
afterAll(async () => {
  await world.cleanup();
  example.cleanup();
});

describe('paas run on a host that prints something first', () => {
  it('attaches after lines on stdout that are not the agent\'s, and passes the command\'s bytes on exactly', async () => {
    // sshd runs ~/.ssh/rc before every command, its stdout going to the session: as a chatty
    // login script or a sudo warning would, it speaks before the agent does.
    const rc = 'echo "Welcome to the sandbox"; echo; echo "sudo: unable to resolve host sandbox: Név ✓ 日本"; echo "[not the agent]"\n';
    expect((await hostExec('sh', '-c', 'printf %s "$1" > /root/.ssh/rc', 'sh', rc)).exitCode).toBe(0);
    try {
      const text = await runBytes('sh', '-c', 'echo hi; exit 3');
      expect(text.timedOut, text.stderr).toBe(false);
      expect(text.stdout.toString('utf8'), text.stderr).toBe('hi\n');
      expect(text.exitCode).toBe(3);
      // Binary output, invalid UTF-8 and a multibyte character, byte for byte.
      const binary = await runBytes('printf', '\\000\\377\\376\\r\\n\\342\\202\\254x\\303(');
      expect(binary.exitCode, binary.stderr).toBe(0);
      expect(binary.stdout).toEqual(Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0xe2, 0x82, 0xac, 0x78, 0xc3, 0x28]));
    } finally {
      await hostExec('rm', '-f', '/root/.ssh/rc');
    }
  });
});
