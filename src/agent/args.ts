import type { Readable } from 'node:stream';
import { PaasError } from '../errors.js';

/** Parses a request's JSON; text that is not JSON is refused as `what` (a usage error). */
export function parseJsonRequest(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PaasError('usage', `${what} is not JSON`);
  }
}

/** The most a verb reads of a request body on stdin (config vars, a certificate and its key, a public key). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** A whole request body, bounded. */
export function readBounded(stream: Readable, max = MAX_REQUEST_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        reject(new PaasError('usage', `the request on stdin is larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

