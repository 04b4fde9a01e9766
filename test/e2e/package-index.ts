/**
 * A local package index for the e2e tests, as a user's package mirror: wheels (a PEP 503 simple
 * index) and gems (a `gem generate_index` index) made from Debian's packages by
 * test/support/package-index/, since these machines reach no Python or Ruby package index.
 *
 * The image is named after a hash of that directory, so it is built once (about a minute) and
 * found again in seconds. The server is a container of the test's own on the Engine's default
 * bridge: builds on this Engine reach it at its address there, as the sandbox hosts' builds do
 * through their NAT.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runId } from './helpers.js';

const recipeDir = path.join(repoRoot, 'test', 'support', 'package-index');
const PORT = 8000;

export interface PackageIndex {
  container: string;
  /** http://ADDRESS:8000/python/simple */
  pipIndexUrl: string;
  /** ADDRESS:8000, for PIP_TRUSTED_HOST (the index is plain HTTP). */
  pipTrustedHost: string;
  /** http://ADDRESS:8000/ruby, for BUNDLE_MIRROR__ALL. */
  gemMirror: string;
  /** paas.yml build.args that point an app's builds at this index. */
  buildArgs: Record<string, string>;
  stop: () => Promise<void>;
}

function recipeImage(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(recipeDir).sort()) hash.update(`${file}\0`).update(readFileSync(path.join(recipeDir, file))).update('\0');
  return `paas-test-index:${hash.digest('hex').slice(0, 12)}`;
}

/** The index image (built when missing), and a server of it started; `stop` removes the server. */
export async function startPackageIndex(): Promise<PackageIndex> {
  const image = recipeImage();
  const present = await execa('docker', ['image', 'inspect', image], { reject: false });
  if (present.exitCode !== 0) {
    const built = await execa('docker', ['build', '-q', '-t', image, recipeDir], { reject: false });
    if (built.exitCode !== 0) throw new Error(`building the package index ${image} failed:\n${String(built.stderr).slice(-3000)}`);
  }
  const container = `paas-index-${runId}`;
  await execa('docker', ['run', '-d', '--name', container, image]);
  const stop = async () => { await execa('docker', ['rm', '-f', container], { reject: false }); };
  try {
    const address = (await execa('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', container])).stdout.trim();
    if (!address) throw new Error(`the package index ${container} has no address on the default bridge`);
    // Ready when it serves its own simple index (asked from inside: no port is published).
    const probe = `import urllib.request; urllib.request.urlopen("http://127.0.0.1:${PORT}/python/simple/", timeout=2)`;
    for (let i = 0; ; i++) {
      if ((await execa('docker', ['exec', container, 'python3', '-c', probe], { reject: false })).exitCode === 0) break;
      if (i >= 40) throw new Error(`the package index ${container} does not answer`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const base = `http://${address}:${PORT}`;
    const index = {
      container,
      pipIndexUrl: `${base}/python/simple`,
      pipTrustedHost: `${address}:${PORT}`,
      gemMirror: `${base}/ruby`,
    };
    return {
      ...index,
      buildArgs: { PIP_INDEX_URL: index.pipIndexUrl, PIP_TRUSTED_HOST: index.pipTrustedHost, BUNDLE_MIRROR__ALL: index.gemMirror },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
