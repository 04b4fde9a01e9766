// s3rver does not check SigV4 signatures (its source: "Signature version 4 calculation is
// unimplemented"), so a wrong secret would pass. This gate sits in front of it on 127.0.0.1 and
// checks each request's signature as S3 does (the payload hash is taken from x-amz-content-sha256,
// the body itself is not hashed), answering 403 SignatureDoesNotMatch, then proxies to s3rver.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function expectedSignature(req: http.IncomingMessage, secrets: Map<string, string>): { ok: boolean; code?: string } {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, code: 'AccessDenied' };
  const [, accessKey, day, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets.get(accessKey!);
  if (secret === undefined) return { ok: false, code: 'InvalidAccessKeyId' };
  const url = new URL(req.url ?? '/', 'http://x');
  const query = [...url.searchParams.entries()].map(([k, v]) => [rfc3986(k), rfc3986(v)]).sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&');
  const names = signedHeaders!.split(';');
  const headers = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD')].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', String(req.headers['x-amz-date']), scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === signature ? { ok: true } : { ok: false, code: 'SignatureDoesNotMatch' };
}

/** A gate on 127.0.0.1 at a random port in front of `upstreamPort`; resolves its port and a close. */
export async function startSigV4Gate(upstreamPort: number, secrets: Map<string, string>): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const verdict = expectedSignature(req, secrets);
    if (!verdict.ok) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${verdict.code}</Code><Message>refused by the test's SigV4 gate</Message></Error>`);
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
