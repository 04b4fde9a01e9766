import { randomBytes } from 'node:crypto';
import { constants, createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PaasError } from '../../errors.js';
import { DEFAULT_TIMEOUTS, REMOTE_SUFFIX, TargetError, checkRemoteId, type BackupTarget, type RemoteBackup } from './target.js';

/** An S3-compatible bucket (AWS, MinIO, Garage, R2, B2, ...). */
export interface S3TargetConfig {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000; AWS's default when absent. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** A key prefix, e.g. 'paas/host1/'; a trailing / is added. */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** bucket in the path (http://host/bucket/key), as MinIO and most self-hosted servers want. */
  forcePathStyle?: boolean;
  connectTimeoutMs?: number;
  /** The longest a request may stall. */
  idleTimeoutMs?: number;
  /** Multipart part size for large uploads (at least 5 MiB; default 16 MiB). */
  partSizeBytes?: number;
}

const MIB = 1024 * 1024;

export class S3Target implements BackupTarget {
  readonly label: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly config: S3TargetConfig) {
    for (const field of ['region', 'bucket', 'accessKeyId', 'secretAccessKey'] as const) {
      if (typeof config[field] !== 'string' || config[field] === '') throw new PaasError('usage', `the S3 target needs its ${field}`);
    }
    if (config.endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(config.endpoint)) {
      throw new PaasError('usage', `the S3 endpoint ${JSON.stringify(config.endpoint)} is not http(s)://host[:port]`);
    }
    const prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = prefix ? `${prefix}/` : '';
    this.label = `s3://${config.bucket}/${this.prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle ?? false,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      maxAttempts: 2,
      requestHandler: {
        connectionTimeout: config.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs,
        requestTimeout: config.idleTimeoutMs ?? DEFAULT_TIMEOUTS.idleMs,
      },
      // Checksums only where S3 requires them: self-hosted servers do not all know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(id: string): string {
    checkRemoteId(id);
    return `${this.prefix}${id}${REMOTE_SUFFIX}`;
  }

  async put(id: string, file: string): Promise<void> {
    const Key = this.key(id);
    const body = createReadStream(file);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.config.bucket, Key, Body: body, ContentType: 'application/octet-stream' },
        partSize: Math.max(5 * MIB, this.config.partSizeBytes ?? 16 * MIB),
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (error) {
      throw this.failure(error, `upload ${id}`, id);
    } finally {
      body.destroy();
    }
  }

  async list(): Promise<RemoteBackup[]> {
    const found: RemoteBackup[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(this.prefix.length) ?? '';
          if (name.includes('/') || !name.endsWith(REMOTE_SUFFIX)) continue;
          const id = name.slice(0, -REMOTE_SUFFIX.length);
          if (!/^[a-z0-9][a-z0-9-]{0,79}$/.test(id)) continue;
          found.push({ id, size: object.Size ?? 0, storedAt: (object.LastModified ?? new Date(0)).toISOString() });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.failure(error, 'list the backups');
    }
    return found.sort((a, b) => a.id.localeCompare(b.id));
  }

  async get(id: string, destFile: string): Promise<void> {
    const Key = this.key(id);
    const tmp = `${destFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
      const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await pipeline(object.Body as Readable, handle.createWriteStream());
      const sync = await fs.open(tmp, constants.O_RDONLY);
      await sync.sync().finally(() => sync.close());
      await fs.rename(tmp, destFile);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw this.failure(error, `download ${id}`, id, destFile);
    }
  }

  async remove(id: string): Promise<void> {
    const Key = this.key(id);
    try {
      // DeleteObject succeeds for a missing key: ask first, to say "not found".
      await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key }));
    } catch (error) {
      throw this.failure(error, `remove ${id}`, id);
    }
  }

  close(): void {
    this.client.destroy();
  }

  /** An SDK or network error as a TargetError; the secret never shows. */
  private failure(error: unknown, action: string, id?: string, localFile?: string): PaasError {
    if (error instanceof PaasError) return error;
    const e = error as { name?: string; code?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    const name = e.name ?? e.Code ?? 'Error';
    const code = e.code ?? (error as { cause?: { code?: string } }).cause?.code;
    const status = e.$metadata?.httpStatusCode;
    const where = this.label;
    const scrub = (text: string) => text.split(this.config.secretAccessKey).join('***');
    const cannot = `cannot ${action} at ${this.label}`;
    if (localFile && ['ENOSPC', 'EDQUOT', 'EACCES', 'EEXIST', 'ENOENT'].includes(code ?? '') && !e.$metadata) {
      return new PaasError('host', `${cannot}: ${localFile}: ${scrub(e.message ?? String(error))}`, { where: localFile, cause: error });
    }
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed', 'InvalidClientTokenId'].includes(name) || status === 403) {
      return new TargetError('auth', `${cannot}: the access key or secret key was refused (${name})`, {
        where,
        hint: 'check the access key, the secret key and that the key may read and write the bucket',
      });
    }
    if (name === 'NoSuchBucket') {
      return new TargetError('not-found', `${cannot}: the bucket ${this.config.bucket} does not exist`, { where, hint: 'create the bucket, or fix its name' });
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      return new TargetError('not-found', `${cannot}: there is no backup ${id ?? ''} there`.trimEnd(), { where });
    }
    if (name === 'TimeoutError' || code === 'ETIMEDOUT' || name === 'RequestTimeout' || code === 'ECONNABORTED') {
      return new TargetError('timeout', `${cannot}: no answer in time`, { where, hint: 'check that the endpoint is up and reachable from the host', cause: error });
    }
    if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code ?? '')) {
      return new TargetError('unreachable', `${cannot}: the endpoint is unreachable (${code})`, { where, hint: 'check the endpoint address and that the host reaches it', cause: error });
    }
    return new TargetError('failure', `${cannot}: ${name}: ${scrub(e.message ?? '').slice(0, 300)}`, { where });
  }
}
