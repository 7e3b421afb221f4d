import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { contentTypeFromKey } from './content-type.js';
import { compareKeys, validateKey, validatePrefix } from './key.js';
import type { GetOptions, GetResult, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { contentRange, resolveRange } from './range.js';
import { InvalidKeyError, ObjectNotFoundError, RangeNotSatisfiableError } from './storage.errors.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key (`kinora/` → objects at `kinora/media/...`); lets several deployments share a bucket. */
  prefix?: string;
  /** A ready client (tests, custom middleware). When given, `clientConfig` is ignored and close() leaves it open. */
  client?: S3Client;
  clientConfig?: S3ClientConfig;
  /** Multipart part size; objects larger than this are uploaded in parts. Default 8 MiB (S3 minimum is 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded in parallel per object. Default 4. */
  queueSize?: number;
}

/**
 * S3 (and S3-compatible: SeaweedFS, MinIO, Ceph RGW, R2) adapter. Puts stream through `@aws-sdk/lib-storage`'s
 * Upload: one PutObject for small bodies, a multipart upload (parts of `partSizeBytes`, `queueSize` in flight)
 * otherwise, so a multi-gigabyte upload never sits in memory. Gets stream the response body and pass ranges through.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ? options.prefix.replace(/^\/+/, '').replace(/\/*$/, '/') : '';
    if (this.prefix) validatePrefix(this.prefix);
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new S3Client({
        // S3-compatible servers often reject the CRC32 trailers newer SDKs send by default; send checksums only
        // where the API requires them.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...options.clientConfig,
      });
    this.partSize = Math.max(5 * 1024 * 1024, options.partSizeBytes ?? 8 * 1024 * 1024);
    this.queueSize = options.queueSize ?? 4;
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: body,
        ContentType: options.contentType ?? contentTypeFromKey(key),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    validateKey(key);
    const { range } = options;
    if (range) resolveRange(key, range, Number.MAX_SAFE_INTEGER); // argument checks only; the size is not known yet
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
    } catch (error) {
      if (isStatus(error, 404)) throw new ObjectNotFoundError(key);
      if (isStatus(error, 416)) {
        const info = await this.head(key);
        if (!info) throw new ObjectNotFoundError(key);
        throw new RangeNotSatisfiableError(key, info.size);
      }
      throw error;
    }
    const body = response.Body instanceof Readable ? response.Body : Readable.from([]);
    const contentLength = response.ContentLength ?? 0;
    const common = {
      body,
      contentLength,
      contentType: response.ContentType ?? contentTypeFromKey(key),
      lastModified: response.LastModified,
      etag: response.ETag,
    };
    if (!range) return { ...common, size: contentLength };
    const total = parseTotal(response.ContentRange);
    if (total === null) {
      // A server that ignored the Range header sent the whole object (200): cut the range out of it here.
      let resolved: { start: number; end: number };
      try {
        resolved = resolveRange(key, range, contentLength);
      } catch (error) {
        body.destroy();
        throw error;
      }
      const { start, end } = resolved;
      return {
        ...common,
        body: Readable.from(slice(body, start, end)),
        size: contentLength,
        contentLength: end - start + 1,
        contentRange: contentRange(start, end, contentLength),
      };
    }
    const start = range.start;
    const end = start + contentLength - 1;
    return { ...common, size: total, contentRange: contentRange(start, end, total) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return {
        key,
        size: response.ContentLength ?? 0,
        contentType: response.ContentType ?? contentTypeFromKey(key),
        lastModified: response.LastModified,
        etag: response.ETag,
      };
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '') throw new InvalidKeyError(prefix, 'deletePrefix needs a non-empty prefix');
    const objects = await this.list(prefix);
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      const response = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((o) => ({ Key: this.prefix + o.key })), Quiet: true },
        }),
      );
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(`could not delete ${failed.length} object(s), first ${failed[0]?.Key}: ${failed[0]?.Message}`);
      }
    }
    return objects.length;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    const objects: ObjectInfo[] = [];
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.prefix + prefix });
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue;
        objects.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, lastModified: o.LastModified, etag: o.ETag });
      }
    }
    return objects.sort((a, b) => compareKeys(a.key, b.key));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

function isStatus(error: unknown, status: number): boolean {
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode === status;
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === status;
}

/** Bytes start..end (inclusive) of a stream; destroys the source once the range is passed. */
async function* slice(source: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let offset = 0;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      const from = Math.max(0, start - offset);
      const to = Math.min(buf.length, end - offset + 1);
      if (to > from) yield buf.subarray(from, to);
      offset += buf.length;
      if (offset > end) break;
    }
  } finally {
    source.destroy();
  }
}

function parseTotal(contentRangeHeader: string | undefined): number | null {
  const match = contentRangeHeader?.match(/\/(\d+)$/);
  return match ? Number(match[1]) : null;
}
