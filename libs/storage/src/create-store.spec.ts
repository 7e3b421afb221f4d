import { describe, expect, it } from '@jest/globals';
import { createStore } from './create-store.js';
import { FsObjectStore } from './fs.store.js';
import { S3ObjectStore } from './s3.store.js';
import { InvalidStorageUrlError } from './storage.errors.js';

describe('createStore', () => {
  it('file:///abs/path → the filesystem adapter rooted there (percent-decoded, trailing slash dropped)', () => {
    const store = createStore('file:///var/lib/kinora%20data/media/');
    expect(store).toBeInstanceOf(FsObjectStore);
    expect((store as FsObjectStore).root).toBe('/var/lib/kinora data/media');
  });

  it('s3://bucket?endpoint=… → the S3 adapter with path-style addressing for custom endpoints', async () => {
    const store = createStore('s3://kinora-media?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true');
    expect(store).toBeInstanceOf(S3ObjectStore);
    const s3 = store as S3ObjectStore;
    expect(s3.bucket).toBe('kinora-media');
    expect(s3.prefix).toBe('');
    await store.close();
  });

  it('s3://key:secret@bucket/prefix → credentials from the URL and a key prefix', async () => {
    const store = createStore('s3://AKIA:s%2Fecret@kinora-media/prod/eu?endpoint=http://127.0.0.1:9000') as S3ObjectStore;
    expect(store.prefix).toBe('prod/eu/');
    await store.close();
  });

  it.each([
    ['file://relative/path', /absolute path/],
    ['file://./.kinora/media', /absolute path/],
    ['file:///data?x=1', /no query/],
    ['s3://B_ad?endpoint=http://x', /valid bucket name/],
    ['s3://bucket?endpoint=ftp://x', /endpoint must be an http\(s\) URL/],
    ['s3://bucket?forcePathStyle=yes', /forcePathStyle must be true or false/],
    ['s3://bucket?regoin=eu', /unknown parameter "regoin"/],
    ['http://example.org/bucket', /must start with file:\/\/ or s3:\/\//],
    ['/var/lib/kinora', /not a URL/],
  ])('refuses %s', (url, message) => {
    expect(() => createStore(url)).toThrow(InvalidStorageUrlError);
    expect(() => createStore(url)).toThrow(message);
  });

  it('never puts the secret in an error message', () => {
    expect(() => createStore('s3://AKIA:topsecret@B_ad')).toThrow(/AKIA:\*\*\*@/);
    expect(() => createStore('s3://AKIA:topsecret@B_ad')).not.toThrow(/topsecret/);
  });
});
