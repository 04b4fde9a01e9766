import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs build script without typings
import { generated } from '../../scripts/embed-config-keys.mjs';
import { KEY_DOCS, documentedKeyPaths, withKeyReference } from '../../src/config/keys.js';
import { configKeyPaths, parseConfig } from '../../src/config/parse.js';

const root = path.join(import.meta.dirname, '../..');

describe('src/config/keys.yml: every paas.yml key, described once', () => {
  it('src/config/keys.generated.ts matches keys.yml (run `node scripts/embed-config-keys.mjs`)', () => {
    expect(readFileSync(path.join(root, 'src/config/keys.generated.ts'), 'utf8')).toBe(generated);
  });

  it('describes exactly the keys parseConfig reads, in its order', () => {
    expect(documentedKeyPaths()).toEqual(configKeyPaths());
    expect(configKeyPaths()).toContain('processes.<type>.memory');
    expect(configKeyPaths()).toContain('build.timeout');
  });

  it('docs/paas-yml.md\'s key sections are rendered from it (run `npm run docs` when this fails)', () => {
    const doc = readFileSync(path.join(root, 'docs/paas-yml.md'), 'utf8');
    expect(withKeyReference(doc)).toBe(doc);
    for (const key of documentedKeyPaths().filter((k) => !k.includes('.') || k.startsWith('build.'))) {
      expect(doc).toMatch(new RegExp(`^#{2,3} ${key.replace('.', '\\.')}$`, 'm'));
    }
  });

  it.each(KEY_DOCS.filter((doc) => doc.example).map((doc) => [doc.key, doc.example!]))('the example of %s is a valid paas.yml', (_key, example) => {
    expect(() => parseConfig(example, 'paas.yml')).not.toThrow();
  });

  it.each(KEY_DOCS.filter((doc) => doc.init).map((doc) => [doc.key, doc.init!]))('what paas init writes for %s, uncommented, is valid', (key, line) => {
    const text = key.startsWith('build.') ? `build:\n  ${line}\n` : `${line}\n`;
    expect(() => parseConfig(text, 'paas.yml')).not.toThrow();
  });

  it('every key has a one-line summary', () => {
    for (const doc of KEY_DOCS) {
      expect(doc.summary, doc.key).toMatch(/^\S.*\S$/);
      expect(doc.summary, doc.key).not.toContain('\n');
      for (const sub of doc.keys ?? []) expect(sub.summary, `${doc.key}.${sub.key}`).toMatch(/^\S.*\S$/);
    }
  });
});
