import { createHash } from 'node:crypto';

/**
 * The ChainID of every layer of an image, from its diff IDs (in order): the first layer's chain
 * is its diff ID; each next one is sha256 of "<parent chain> <diff ID>". A host's engine holds a
 * layer exactly when it holds the layer's chain, which is what `docker load` checks.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const parent = chains.at(-1);
    chains.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return chains;
}

/** The layer directory of a `docker save` entry named `<dir>/layer.tar`, else undefined. */
export function layerDirOf(entryName: string): string | undefined {
  const match = /^([^/]+)\/layer\.tar$/.exec(entryName);
  return match?.[1];
}

/** The digest (sha256:<hex>) of an OCI-layout `docker save` entry named `blobs/sha256/<hex>`, else undefined. */
export function ociBlobDigestOf(entryName: string): string | undefined {
  const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(entryName);
  return match ? `sha256:${match[1]}` : undefined;
}

/** The one position of diffId in the image's layers; undefined when absent or repeated (ambiguous). */
export function uniqueIndex(diffIds: readonly string[], diffId: string): number | undefined {
  const first = diffIds.indexOf(diffId);
  return first >= 0 && diffIds.lastIndexOf(diffId) === first ? first : undefined;
}

/** The layer directories of a saved image, each with its diff ID: manifest.json's Layers paired with the config's rootfs.diff_ids. */
export function layerDirsOfSave(manifestLayers: readonly string[], diffIds: readonly string[]): [string, string][] {
  if (manifestLayers.length !== diffIds.length) return [];
  const pairs: [string, string][] = [];
  manifestLayers.forEach((layerPath, i) => {
    const dir = layerDirOf(layerPath);
    if (dir) pairs.push([dir, diffIds[i]!]);
  });
  return pairs;
}
