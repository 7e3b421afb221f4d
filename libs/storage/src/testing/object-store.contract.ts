// The behaviour every ObjectStore adapter must share. Run it from an adapter's test file:
//   describeObjectStoreContract('fs', async () => new FsObjectStore(tmpDir));
// Each test works under its own random prefix, so one store (and one bucket) serves the whole suite.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../object-store.js';
import { InvalidKeyError, ObjectNotFoundError, RangeNotSatisfiableError } from '../storage.errors.js';

export async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** A stream of `size` pseudo-random bytes in chunks of `chunk` bytes, and the bytes it yields. */
function streamOf(size: number, chunk = 64 * 1024): { stream: Readable; bytes: Buffer } {
  const bytes = randomBytes(size);
  let offset = 0;
  const stream = new Readable({
    read() {
      if (offset >= bytes.length) return void this.push(null);
      this.push(bytes.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
  return { stream, bytes };
}

export const INVALID_KEYS: ReadonlyArray<[string, string]> = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent traversal', '../escape.txt'],
  ['nested traversal', 'media/../../escape.txt'],
  ['dot segment', 'media/./a.txt'],
  ['empty segment', 'media//a.txt'],
  ['trailing slash', 'media/'],
  ['backslash', 'media\\..\\escape.txt'],
  ['NUL byte', 'media/a\u0000.txt'],
  ['newline', 'media/a\n.txt'],
  ['hidden segment', 'media/.a.txt.meta.json'],
  ['too long', `media/${'a'.repeat(1100)}`],
  ['segment too long', `media/${'a'.repeat(300)}`],
  ['lone surrogate', 'media/\ud800.txt'],
];

export function describeObjectStoreContract(name: string, factory: () => ObjectStore | Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    const root = `contract-${randomUUID()}/`;
    let n = 0;
    /** A fresh prefix for one test. */
    const ns = () => `${root}t${++n}/`;

    beforeAll(async () => {
      store = await factory();
    });

    afterAll(async () => {
      if (!store) return;
      await store.deletePrefix(root).catch(() => {});
      await store.close();
    });

    it('puts a Buffer and gets it back with its size and a content type derived from the extension', async () => {
      const p = ns();
      const data = Buffer.from('#EXTM3U\n#EXT-X-VERSION:7\n');
      await store.put(`${p}720p/index.m3u8`, data);
      const got = await store.get(`${p}720p/index.m3u8`);
      expect(await readBody(got.body)).toEqual(data);
      expect(got.size).toBe(data.length);
      expect(got.contentLength).toBe(data.length);
      expect(got.contentRange).toBeUndefined();
      expect(got.contentType).toBe('application/vnd.apple.mpegurl');
      await store.put(`${p}720p/seg_1.m4s`, Buffer.from([0, 1, 2]));
      expect((await store.head(`${p}720p/seg_1.m4s`))?.contentType).toBe('video/iso.segment');
    });

    it('streams a large Readable in (multipart where the backend has it) and out', async () => {
      const p = ns();
      const { stream, bytes } = streamOf(12 * 1024 * 1024 + 123);
      await store.put(`${p}upload.bin`, stream);
      const head = await store.head(`${p}upload.bin`);
      expect(head?.size).toBe(bytes.length);
      const got = await store.get(`${p}upload.bin`);
      const read = await readBody(got.body);
      expect(read.length).toBe(bytes.length);
      expect(read.equals(bytes)).toBe(true);
    });

    it('keeps an explicit content type, and forgets it when the object is replaced without one', async () => {
      const p = ns();
      await store.put(`${p}data.bin`, Buffer.from('{}'), { contentType: 'application/json' });
      expect((await store.head(`${p}data.bin`))?.contentType).toBe('application/json');
      const got = await store.get(`${p}data.bin`);
      got.body.destroy(); // a body that is not read must be destroyed, or its file handle / socket stays open
      expect(got.contentType).toBe('application/json');
      await store.put(`${p}data.bin`, Buffer.from('x'));
      expect((await store.head(`${p}data.bin`))?.contentType).toBe('application/octet-stream');
    });

    it('replaces an existing object', async () => {
      const p = ns();
      await store.put(`${p}a.txt`, Buffer.from('first version'));
      await store.put(`${p}a.txt`, Buffer.from('v2'));
      const got = await store.get(`${p}a.txt`);
      expect((await readBody(got.body)).toString()).toBe('v2');
      expect(got.size).toBe(2);
    });

    it('reports missing objects: head → null, get → ObjectNotFoundError, delete is idempotent', async () => {
      const p = ns();
      expect(await store.head(`${p}missing.txt`)).toBeNull();
      await expect(store.get(`${p}missing.txt`)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.get(`${p}missing.txt`, { range: { start: 0, end: 1 } })).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.delete(`${p}missing.txt`)).resolves.toBeUndefined();
      await store.put(`${p}there.txt`, Buffer.from('x'));
      await store.delete(`${p}there.txt`);
      expect(await store.head(`${p}there.txt`)).toBeNull();
      await store.delete(`${p}there.txt`);
    });

    describe('Range reads', () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      let key: string;
      beforeAll(async () => {
        key = `${ns()}range.bin`;
        await store.put(key, data);
      });

      it.each([
        ['first byte', { start: 0, end: 0 }, 0, 0],
        ['a middle slice', { start: 100, end: 199 }, 100, 199],
        ['to the end (open-ended)', { start: 990 }, 990, 999],
        ['an end past the size (clamped)', { start: 500, end: 5000 }, 500, 999],
        ['the whole object', { start: 0, end: 999 }, 0, 999],
        ['the last byte', { start: 999, end: 999 }, 999, 999],
      ])('%s', async (_label, range, start, end) => {
        const got = await store.get(key, { range });
        const body = await readBody(got.body);
        expect(body.equals(data.subarray(start, end + 1))).toBe(true);
        expect(got.contentLength).toBe(end - start + 1);
        expect(got.size).toBe(1000);
        expect(got.contentRange).toBe(`bytes ${start}-${end}/1000`);
      });

      it('refuses a range starting at or past the end with the size (for a 416)', async () => {
        for (const start of [1000, 1001, 1_000_000]) {
          const error = await store.get(key, { range: { start } }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(RangeNotSatisfiableError);
          expect((error as RangeNotSatisfiableError).size).toBe(1000);
        }
      });

      it('rejects malformed ranges before touching the backend', async () => {
        await expect(store.get(key, { range: { start: -1 } })).rejects.toBeInstanceOf(TypeError);
        await expect(store.get(key, { range: { start: 10, end: 5 } })).rejects.toBeInstanceOf(TypeError);
        await expect(store.get(key, { range: { start: 1.5 } })).rejects.toBeInstanceOf(TypeError);
      });

      it('handles empty objects: full read is empty, any range is not satisfiable', async () => {
        const empty = `${ns()}empty.bin`;
        await store.put(empty, Buffer.alloc(0));
        const got = await store.get(empty);
        expect((await readBody(got.body)).length).toBe(0);
        expect(got.size).toBe(0);
        await expect(store.get(empty, { range: { start: 0 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      });
    });

    it('lists recursively by plain string prefix, sorted, with sizes', async () => {
      const p = ns();
      const keys = ['b/2.txt', 'a/x/1.txt', 'a/1.txt', 'ab.txt', 'a/x/y/z.txt'];
      for (const k of keys) await store.put(`${p}${k}`, Buffer.from(k));
      const all = await store.list(p);
      expect(all.map((o) => o.key)).toEqual(['a/1.txt', 'a/x/1.txt', 'a/x/y/z.txt', 'ab.txt', 'b/2.txt'].map((k) => p + k));
      expect(all.find((o) => o.key === `${p}ab.txt`)?.size).toBe(6);
      expect((await store.list(`${p}a/`)).map((o) => o.key)).toEqual(['a/1.txt', 'a/x/1.txt', 'a/x/y/z.txt'].map((k) => p + k));
      expect((await store.list(`${p}a`)).map((o) => o.key)).toHaveLength(4);
      expect((await store.list(`${p}a/x/y/z.txt`)).map((o) => o.key)).toEqual([`${p}a/x/y/z.txt`]);
      expect(await store.list(`${p}nothing/`)).toEqual([]);
      expect((await store.list('')).some((o) => o.key === `${p}ab.txt`)).toBe(true);
    });

    it('deletes by prefix, only under the prefix, and returns the count', async () => {
      const p = ns();
      for (const k of ['v1/master.m3u8', 'v1/720p/seg_1.m4s', 'v1/720p/seg_2.m4s', 'v10/keep.txt', 'v1.txt']) {
        await store.put(`${p}${k}`, Buffer.from('x'));
      }
      expect(await store.deletePrefix(`${p}v1/`)).toBe(3);
      expect((await store.list(p)).map((o) => o.key)).toEqual([`${p}v1.txt`, `${p}v10/keep.txt`]);
      expect(await store.deletePrefix(`${p}v1/`)).toBe(0);
      // An object can be written again where a prefix was deleted.
      await store.put(`${p}v1/720p/seg_1.m4s`, Buffer.from('again'));
      expect((await store.head(`${p}v1/720p/seg_1.m4s`))?.size).toBe(5);
      await expect(store.deletePrefix('')).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it('round-trips Unicode keys', async () => {
      const p = ns();
      const key = `${p}vidéo/日本語 title (1).txt`;
      await store.put(key, Buffer.from('unicode'));
      expect((await readBody((await store.get(key)).body)).toString()).toBe('unicode');
      expect((await store.list(`${p}vidéo/`)).map((o) => o.key)).toEqual([key]);
    });

    it('never exposes a partial object: a failing stream leaves the previous version intact', async () => {
      const p = ns();
      await store.put(`${p}atomic.bin`, Buffer.from('previous'));
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent++ < 3) this.push(randomBytes(64 * 1024));
          else this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put(`${p}atomic.bin`, failing)).rejects.toThrow();
      expect((await readBody((await store.get(`${p}atomic.bin`)).body)).toString()).toBe('previous');
      await expect(store.put(`${p}new.bin`, failingStream())).rejects.toThrow();
      expect(await store.head(`${p}new.bin`)).toBeNull();
      expect((await store.list(p)).map((o) => o.key)).toEqual([`${p}atomic.bin`]);
    });

    it('resolves concurrent puts of one key to one whole version', async () => {
      const p = ns();
      const a = Buffer.alloc(256 * 1024, 0x61);
      const b = Buffer.alloc(300 * 1024, 0x62);
      await Promise.all([store.put(`${p}race.bin`, a), store.put(`${p}race.bin`, b)]);
      const body = await readBody((await store.get(`${p}race.bin`)).body);
      expect(body.equals(a) || body.equals(b)).toBe(true);
    });

    describe('key validation', () => {
      it.each(INVALID_KEYS)('refuses a key with %s', async (_label, key) => {
        await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
      });

      it('refuses traversal in prefixes', async () => {
        for (const prefix of ['../', '/abs/', 'a/../../', 'a\\b']) {
          await expect(store.list(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(store.deletePrefix(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
        }
      });
    });
  });
}

function failingStream(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < 2) this.push(randomBytes(32 * 1024));
      else this.destroy(new Error('client went away'));
    },
  });
}
