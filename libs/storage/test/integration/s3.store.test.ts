// The S3 adapter against a real S3-compatible server: SeaweedFS started by test/s3-server.ts (or TEST_S3_URL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createStore, S3ObjectStore, type ObjectStore } from '@kinora/storage';
import { describeObjectStoreContract, readBody } from '@kinora/storage/testing';
import { s3SkipReason, startS3TestServer, type S3TestServer } from '../s3-server.js';

const skipReason = s3SkipReason();
const MiB = 1024 * 1024;

if (skipReason) {
  describe.skip(`S3 adapter (skipped: ${skipReason})`, () => {
    it('needs an S3 server', () => {});
  });
} else {
  let server: S3TestServer | undefined;

  beforeAll(async () => {
    const started = await startS3TestServer();
    if ('skipped' in started) throw new Error(started.skipped);
    server = started;
  }, 30 * 60 * 1000);

  afterAll(async () => {
    await server?.stop();
  });

  // Small parts so that the contract's 12 MiB stream goes through a real multipart upload (3 parts).
  describeObjectStoreContract('s3', () => createStore(server!.url, { s3: { partSizeBytes: 5 * MiB } }));

  describe('S3ObjectStore specifics', () => {
    let store: ObjectStore;
    const prefix = `specifics-${randomUUID()}/`;

    beforeAll(() => {
      store = createStore(server!.url, { s3: { partSizeBytes: 5 * MiB, queueSize: 2 } });
    });

    afterAll(async () => {
      await store.deletePrefix(prefix).catch(() => {});
      await store.close();
    });

    it('is the S3 adapter', () => {
      expect(store).toBeInstanceOf(S3ObjectStore);
    });

    it('uploads a stream larger than one part as a multipart upload and streams it back in ranges', async () => {
      const bytes = randomBytes(11 * MiB + 17);
      let offset = 0;
      const stream = new Readable({
        read() {
          if (offset >= bytes.length) return void this.push(null);
          this.push(bytes.subarray(offset, offset + 256 * 1024));
          offset += 256 * 1024;
        },
      });
      await store.put(`${prefix}big.mp4`, stream);
      const head = await store.head(`${prefix}big.mp4`);
      expect(head?.size).toBe(bytes.length);
      expect(head?.contentType).toBe('video/mp4');
      // S3 marks multipart objects with an ETag of the form "<md5 of part md5s>-<parts>".
      expect(head?.etag).toMatch(/-3"?$/);
      const tail = await store.get(`${prefix}big.mp4`, { range: { start: 10 * MiB } });
      expect(tail.contentRange).toBe(`bytes ${10 * MiB}-${bytes.length - 1}/${bytes.length}`);
      expect((await readBody(tail.body)).equals(bytes.subarray(10 * MiB))).toBe(true);
    });

    it('keeps keys under the URL path prefix', async () => {
      const url = new URL(server!.url);
      const prefixed = createStore(`${url.protocol}//${url.username}:${url.password}@${url.host}/tenant-a${url.search}`);
      try {
        await prefixed.put(`${prefix}x.txt`, Buffer.from('scoped'));
        expect((await store.list(`tenant-a/${prefix}`)).map((o) => o.key)).toEqual([`tenant-a/${prefix}x.txt`]);
        expect((await prefixed.list(prefix)).map((o) => o.key)).toEqual([`${prefix}x.txt`]);
        await prefixed.deletePrefix(prefix);
        expect(await store.list(`tenant-a/${prefix}`)).toEqual([]);
      } finally {
        await prefixed.close();
      }
    });
  });
}
