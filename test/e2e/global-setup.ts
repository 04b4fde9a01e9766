/**
 * Before any end-to-end file: the sandbox image of each flavour, built once here rather than by
 * two files at the same moment (the e2e files run two at a time).
 */
import { connectEngine } from '../../src/docker/engine.js';
import { SANDBOX_FLAVOURS, ensureSandboxImage, type SandboxFlavour } from '../../src/sandbox/index.js';

export default async function setup(): Promise<void> {
  const docker = await connectEngine();
  for (const flavour of Object.keys(SANDBOX_FLAVOURS) as SandboxFlavour[]) {
    await ensureSandboxImage(docker, flavour, (line) => { if (/^building /.test(line)) console.log(`[e2e setup] ${line}`); });
  }
}
