import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PaasError } from '../errors.js';

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

export async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads a text file that the app provides, turning I/O failures into errors that say which
 * file and what to do. Returns undefined when the file does not exist.
 */
export async function readAppFile(file: string, kind: 'config' | 'detect' = 'detect'): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') {
      throw new PaasError(kind, `${path.basename(file)} is a directory, expected a file`, { where: file, hint: `remove or rename ${file}` });
    }
    throw new PaasError(kind, `cannot read ${path.basename(file)} (${code ?? String(error)})`, {
      where: file,
      hint: `check the file's permissions: chmod a+r ${file}`,
      cause: error,
    });
  }
}

/** Writes a file atomically: temp file in the same directory, then rename. */
export async function writeFileAtomic(file: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(tmp, content, { mode });
  try {
    await fs.rename(tmp, file);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
}
