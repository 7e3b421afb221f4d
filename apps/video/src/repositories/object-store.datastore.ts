import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DataStore, ERRORS, Upload } from '@tus/server';
import type { ObjectStore } from '@kinora/storage';
import type { UploadRepository } from './upload.repository.js';

export const uploadKey = (videoId: string): string => `uploads/${videoId}`;
export const partsPrefix = (videoId: string): string => `upload-parts/${videoId}/`;
/**
 * Zero-padded offset (key order is offset order) and a random suffix: two requests racing for the same offset never
 * write the same object, and only the one whose offset move wins is counted (`videos.upload_parts`).
 */
const partKey = (videoId: string, offset: number): string =>
  `${partsPrefix(videoId)}${String(offset).padStart(16, '0')}-${randomBytes(6).toString('hex')}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ObjectStoreDataStoreOptions {
  /** Bytes buffered before a part is stored (default 8 MiB); at most this much is re-sent after a crash. */
  partSizeBytes?: number;
  onError?: (err: unknown, msg: string) => void;
}

/**
 * A tus DataStore over the ObjectStore port, so uploads work the same on local disk and S3 and survive restarts:
 * - the upload's size, offset and metadata are rows in `videos.uploads` (the primary database);
 * - its bytes are parts `upload-parts/<videoId>/<offset>-<random>`, each stored whole (ObjectStore puts are atomic)
 *   before the offset moves past it in the same statement that records the part; bytes received when a connection
 *   breaks are stored as a last, shorter part;
 * - `assemble` concatenates the recorded parts into `uploads/<videoId>` once every byte is there.
 * A part stored but not counted (crash in between, or a lost race) is ignored and removed with the others.
 */
export class ObjectStoreDataStore extends DataStore {
  private readonly partSize: number;

  constructor(
    private readonly uploads: UploadRepository,
    private readonly store: ObjectStore,
    private readonly opts: ObjectStoreDataStoreOptions = {},
  ) {
    super();
    this.extensions = ['creation', 'creation-with-upload', 'termination'];
    this.partSize = opts.partSizeBytes ?? 8 * 1024 * 1024;
  }

  override async create(upload: Upload): Promise<Upload> {
    if (!UUID.test(upload.id) || upload.size === undefined) throw ERRORS.INVALID_LENGTH;
    // A new creation for the same video starts over.
    await this.store.deletePrefix(partsPrefix(upload.id));
    const row = await this.uploads.upsert(upload.id, upload.size, upload.metadata ?? {});
    upload.creation_date = row.createdAt.toISOString();
    upload.storage = { type: 'object-store', path: partsPrefix(upload.id) };
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const row = UUID.test(id) ? await this.uploads.find(id) : undefined;
    if (!row) throw ERRORS.FILE_NOT_FOUND;
    return new Upload({
      id,
      size: row.size,
      offset: row.offset,
      metadata: row.metadata,
      creation_date: row.createdAt.toISOString(),
      storage: { type: 'object-store', path: partsPrefix(id) },
    });
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    let position = offset;
    let chunks: Buffer[] = [];
    let buffered = 0;
    const flush = async () => {
      if (buffered === 0) return;
      const body = Buffer.concat(chunks, buffered);
      chunks = [];
      buffered = 0;
      const key = partKey(id, position);
      await this.store.put(key, body, { contentType: 'application/octet-stream' });
      if (!(await this.uploads.addPart(id, position, position + body.length, key))) {
        await this.store.delete(key).catch(() => {});
        throw ERRORS.INVALID_OFFSET;
      }
      position += body.length;
    };
    try {
      for await (const chunk of readable) {
        const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(bytes);
        buffered += bytes.length;
        if (buffered >= this.partSize) await flush();
      }
    } catch (err) {
      // The connection broke (or the size limit was hit): keep what arrived, so the client resumes after it.
      await flush().catch((flushErr: unknown) => this.opts.onError?.(flushErr, 'could not keep the bytes of a broken upload request'));
      throw err;
    }
    await flush();
    return position;
  }

  override async remove(id: string): Promise<void> {
    await this.store.deletePrefix(partsPrefix(id));
  }

  /**
   * Concatenates the parts into `uploads/<videoId>` (streaming, so any size works) and checks the result. Safe to
   * run again after a crash: the parts stay until the caller removes them.
   */
  async assemble(videoId: string, size: number): Promise<void> {
    const parts = await this.uploads.parts(videoId);
    let expected = 0;
    const keys: string[] = [];
    for (const part of parts) {
      if (part.offset !== expected) throw new Error(`upload ${videoId}: part at ${part.offset}, expected ${expected}`);
      expected += part.size;
      keys.push(part.key);
    }
    if (expected !== size) throw new Error(`upload ${videoId}: parts hold ${expected} bytes of ${size}`);
    const store = this.store;
    const body = Readable.from(
      (async function* () {
        for (const key of keys) {
          const { body: part } = await store.get(key);
          for await (const chunk of part) yield chunk as Buffer;
        }
      })(),
    );
    await this.store.put(uploadKey(videoId), body, { contentType: 'application/octet-stream' });
    const head = await this.store.head(uploadKey(videoId));
    if (head?.size !== size) throw new Error(`upload ${videoId}: assembled ${head?.size ?? 'nothing'} bytes of ${size}`);
  }
}
