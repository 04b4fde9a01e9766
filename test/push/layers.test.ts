import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainIds, layerDirOf, layerDirsOfSave, uniqueIndex } from '../../src/push/layers.js';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

describe('chainIds', () => {
  it('is the diff ID for the first layer, then sha256 of "<parent chain> <diff ID>"', () => {
    const diffs = [sha('a'), sha('b'), sha('c')];
    const second = sha(`${diffs[0]} ${diffs[1]}`);
    const third = sha(`${second} ${diffs[2]}`);
    expect(chainIds(diffs)).toEqual([diffs[0], second, third]);
  });

  it('matches the chains Docker Engine 20.10 stored for node:20-bookworm-slim', () => {
    // `docker image inspect node:20-bookworm-slim` RootFS.Layers, and the directory names of
    // /var/lib/docker/image/overlay2/layerdb/sha256/ whose `diff` files hold those diff IDs.
    const diffIds = [
      'sha256:346e9ba230cc1d131d28b2fdcd25583a45fa1daf9f3a31e3c7f48d59062856f0',
      'sha256:81128c1cb6d70e528f661fbebf8abae84451beb4967edc43450c4a3c177c0bcc',
      'sha256:386e5bf50424fc1cf4e3effde0beefe49ce8201158ebadc45b5fb367950e1b19',
      'sha256:6de25e12dd02933e90038d418812a78787c1c972e893f09757e563ff913c88c4',
      'sha256:b97034885e7b562abdf2e1ae7d59e1891f83c2c1ccb20921ad7d066939452579',
    ];
    expect(chainIds(diffIds)).toEqual([
      'sha256:346e9ba230cc1d131d28b2fdcd25583a45fa1daf9f3a31e3c7f48d59062856f0',
      'sha256:5fcecde6e1b185b23488ff4c4b86d507fac37fe9dd52dfac51655bcc6e166c40',
      'sha256:8c7d3676036e68d55abcee7d99082b67cb54363bb650e9c56dae69e216f937fe',
      'sha256:32b7ec035a4dcb7bb317b9fc4329e73f2f56e29cb21bf00defd5404973a19553',
      'sha256:d94c6972e67930d27f1cd4a76901c6c78d54be5c1cd1b8b32d807ab9a0c1dc98',
    ]);
  });

  it('is empty for an image without layers', () => {
    expect(chainIds([])).toEqual([]);
  });
});

describe('archive names', () => {
  it('finds the layer directory of <dir>/layer.tar only', () => {
    expect(layerDirOf('abc123/layer.tar')).toBe('abc123');
    expect(layerDirOf('abc123/json')).toBeUndefined();
    expect(layerDirOf('manifest.json')).toBeUndefined();
    expect(layerDirOf('a/b/layer.tar')).toBeUndefined();
  });

  it('gives a diff ID\'s position only when it occurs once', () => {
    expect(uniqueIndex(['x', 'y', 'z'], 'y')).toBe(1);
    expect(uniqueIndex(['x', 'y', 'x'], 'x')).toBeUndefined();
    expect(uniqueIndex(['x'], 'q')).toBeUndefined();
  });

  it('pairs manifest layers with the config\'s diff IDs', () => {
    expect(layerDirsOfSave(['d1/layer.tar', 'd2/layer.tar'], ['sha256:1', 'sha256:2'])).toEqual([['d1', 'sha256:1'], ['d2', 'sha256:2']]);
    expect(layerDirsOfSave(['d1/layer.tar'], ['sha256:1', 'sha256:2'])).toEqual([]);
  });
});
