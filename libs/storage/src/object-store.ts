import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`; `end` omitted means "to the end". */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface PutOptions {
  /** Stored with the object; when omitted, derived from the key's extension on read. */
  contentType?: string;
}

export interface GetOptions {
  range?: ByteRange;
}

export interface ObjectInfo {
  key: string;
  /** Size of the whole object in bytes. */
  size: number;
  contentType?: string;
  lastModified?: Date;
  etag?: string;
}

export interface GetResult {
  body: Readable;
  /** Size of the whole object in bytes. */
  size: number;
  /** Bytes in `body`: `size` for a full read, the range's length for a ranged one (HTTP Content-Length). */
  contentLength: number;
  contentType?: string;
  /** Set for ranged reads: `bytes 0-99/1234` (HTTP Content-Range of a 206). */
  contentRange?: string;
  lastModified?: Date;
  etag?: string;
}

/**
 * Where media and uploads live. Keys are `/`-separated relative paths (`media/<videoId>/720p/seg_1.m4s`), validated
 * by every adapter (InvalidKeyError). Errors: ObjectNotFoundError (get), RangeNotSatisfiableError (get with a range
 * starting at or past the end), InvalidKeyError.
 */
export interface ObjectStore {
  /** Writes the object whole or not at all (readers never see a partial object); replaces an existing one. */
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void>;
  get(key: string, options?: GetOptions): Promise<GetResult>;
  /** Metadata, or null when there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Deletes every object whose key starts with `prefix` (a plain string prefix: end it with `/` to mean "this
   * folder"). Returns how many were deleted. An empty prefix is refused.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Every object whose key starts with `prefix` (recursive, no delimiter), sorted by key. `''` lists everything. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Releases connections. */
  close(): Promise<void>;
}
