// Rewrites the key sections of docs/paas-yml.md from src/config/keys.yml (run by `npm run docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withKeyReference } from '../src/config/keys.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'paas-yml.md');
writeFileSync(file, withKeyReference(readFileSync(file, 'utf8')));
