import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs build script without typings
import { generated } from '../../scripts/embed-templates.mjs';

describe('embedded templates', () => {
  it('src/build/templates.generated.ts matches templates/ (run `node scripts/embed-templates.mjs`)', () => {
    expect(readFileSync(path.join(import.meta.dirname, '../../src/build/templates.generated.ts'), 'utf8')).toBe(generated);
  });
});
