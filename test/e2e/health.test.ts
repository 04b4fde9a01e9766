import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { waitHealthy } from '../../src/agent/health.js';
import { runId } from './helpers.js';

// The agent's health check against this machine's own Docker Engine: what it says of a process
// that exits, and of one the engine has already restarted (State.ExitCode is 0 again by then).
const names: string[] = [];

async function started(restart: 'always' | 'no'): Promise<string> {
  const name = `paas-test-health-${runId}-${names.length}`;
  names.push(name);
  await execa('docker', ['run', '-d', '--name', name, '--restart', restart, 'debian:bookworm-slim', 'sh', '-c', 'sleep 1; exit 3']);
  return name;
}

async function refusal(name: string): Promise<string> {
  try {
    await waitHealthy(name, name, undefined, undefined, 20_000);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${name} was found healthy`);
}

afterAll(async () => {
  if (names.length) await execa('docker', ['rm', '-f', ...names], { reject: false });
});

describe('the health check of a process that exits', () => {
  it('says the code it exited with', async () => {
    const name = await started('no');
    await execa('docker', ['wait', name]);
    expect(await refusal(name)).toBe(`${name} exited with code 3 before it became healthy`);
  });

  it('says the code of the last exit when the engine has restarted it and it runs again', async () => {
    const name = await started('always');
    // Wait for the second run itself (not the back-off between runs, when the engine says
    // Running and Restarting and still has the old code).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { stdout } = await execa('docker', ['inspect', '--format', '{{.State.Running}} {{.State.Restarting}} {{.RestartCount}} {{.State.ExitCode}}', name]);
      const [running, restarting, restarts, exitCode] = stdout.trim().split(' ');
      if (running === 'true' && restarting === 'false' && Number(restarts) > 0) {
        expect(exitCode).toBe('0');
        break;
      }
      if (Date.now() > deadline) throw new Error(`${name} was not restarted within 20 s: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await refusal(name)).toBe(`${name} exited with code 3 and was restarted before it became healthy`);
  });
});
