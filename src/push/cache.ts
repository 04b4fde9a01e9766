import { promises as fs } from 'node:fs';
import path from 'node:path';
import { paasHome } from '../util/home.js';
import { writeFileAtomic } from '../util/fs.js';

/** Entries kept; the oldest learned go first. At ~140 bytes each, the file stays under 1 MB. */
export const LAYER_DIR_CACHE_LIMIT = 5000;

export const defaultLayerDirCachePath = (): string => path.join(paasHome(), 'cache', 'layer-dirs.json');

interface CacheFile {
  version: 1;
  /** [layer directory in `docker save`, diff ID], oldest first. */
  dirs: [string, string][];
}

const isPair = (value: unknown): value is [string, string] =>
  Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string';

/**
 * What each layer directory of a `docker save` archive holds (its diff ID), remembered across
 * pushes. Directory names of lower layers depend only on the layer chain, so they repeat from
 * image to image: knowing one lets a push skip a layer without reading it.
 */
export class LayerDirCache {
  private constructor(readonly file: string, private readonly dirs: Map<string, string>, private readonly limit: number) {}

  /** Reads the cache file; a missing or corrupt file is an empty cache. */
  static async load(file = defaultLayerDirCachePath(), limit = LAYER_DIR_CACHE_LIMIT): Promise<LayerDirCache> {
    const dirs = new Map<string, string>();
    try {
      const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<CacheFile>;
      if (Array.isArray(parsed.dirs)) for (const pair of parsed.dirs) if (isPair(pair)) dirs.set(pair[0], pair[1]);
    } catch {
      // Missing or unreadable: start empty, the next save rewrites it.
    }
    const cache = new LayerDirCache(file, dirs, limit);
    cache.trim();
    return cache;
  }

  get size(): number {
    return this.dirs.size;
  }

  lookup(dir: string): string | undefined {
    return this.dirs.get(dir);
  }

  /** Remembers dir -> diffId as the newest entry, dropping the oldest beyond the limit. */
  learn(dir: string, diffId: string): void {
    this.dirs.delete(dir);
    this.dirs.set(dir, diffId);
    this.trim();
  }

  async save(): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const content: CacheFile = { version: 1, dirs: [...this.dirs] };
    await writeFileAtomic(this.file, `${JSON.stringify(content)}\n`);
  }

  private trim(): void {
    for (const dir of this.dirs.keys()) {
      if (this.dirs.size <= this.limit) break;
      this.dirs.delete(dir);
    }
  }
}
