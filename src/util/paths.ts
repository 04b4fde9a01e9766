import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root (holds templates/ and package.json), from src/ in tests and dist/ when built. */
export const packageRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const templatesDir = path.join(packageRoot, 'templates');
