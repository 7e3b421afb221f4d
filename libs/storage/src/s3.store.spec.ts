import { describe, expect, it } from '@jest/globals';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { S3ObjectStore } from './s3.store.js';
import { RangeNotSatisfiableError } from './storage.errors.js';
import { readBody } from './testing/object-store.contract.js';

/** A client whose GetObject ignores Range, as a few S3-compatible servers do: always 200 with the whole object. */
function rangeIgnoringClient(data: Buffer): S3Client {
  return {
    send: async (command: unknown) => {
      if (!(command instanceof GetObjectCommand)) throw new Error('unexpected command');
      return { Body: Readable.from([data.subarray(0, 4), data.subarray(4)]), ContentLength: data.length, ContentType: 'text/plain' };
    },
    destroy: () => {},
  } as unknown as S3Client;
}

describe('S3ObjectStore against a server that ignores Range', () => {
  const data = Buffer.from('0123456789');
  const store = new S3ObjectStore({ bucket: 'b', prefix: 'p', client: rangeIgnoringClient(data) });

  it('cuts the requested bytes out of the full response', async () => {
    const got = await store.get('k.txt', { range: { start: 3, end: 6 } });
    expect((await readBody(got.body)).toString()).toBe('3456');
    expect(got).toMatchObject({ size: 10, contentLength: 4, contentRange: 'bytes 3-6/10' });
  });

  it('still refuses a range past the end', async () => {
    await expect(store.get('k.txt', { range: { start: 10 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it('normalises the key prefix', () => {
    expect(store.prefix).toBe('p/');
  });
});
