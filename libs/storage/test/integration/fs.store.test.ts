import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, FsObjectStore, InvalidKeyError } from '@kinora/storage';
import { describeObjectStoreContract, readBody } from '@kinora/storage/testing';

const dirs: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kinora-fs-store-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describeObjectStoreContract('fs', async () => createStore(`file://${join(await tempRoot(), 'media')}`));

describe('FsObjectStore specifics', () => {
  it('maps keys to files under the root and leaves no temporary or metadata file for media', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.put('media/v1/720p/seg_1.m4s', Buffer.from('segment'));
    await store.put('media/v1/master.m3u8', Buffer.from('#EXTM3U\n'), { contentType: 'application/vnd.apple.mpegurl' });
    expect(await readFile(join(root, 'media/v1/720p/seg_1.m4s'), 'utf8')).toBe('segment');
    expect(await readdir(join(root, 'media/v1'))).toEqual(['720p', 'master.m3u8']);
  });

  it('keeps a custom content type in a hidden sidecar that list() never shows', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.put('uploads/abc', Buffer.from('x'), { contentType: 'video/quicktime' });
    expect((await readdir(join(root, 'uploads'))).sort()).toEqual(['.abc.meta.json', 'abc']);
    expect((await store.list('uploads/')).map((o) => o.key)).toEqual(['uploads/abc']);
    expect((await store.head('uploads/abc'))?.contentType).toBe('video/quicktime');
    await store.delete('uploads/abc');
    expect(existsSync(join(root, 'uploads'))).toBe(false);
  });

  it('cannot be steered outside its root by any key', async () => {
    const parent = await tempRoot();
    const root = join(parent, 'store');
    const store = new FsObjectStore(root);
    await writeFile(join(parent, 'secret.txt'), 'do not touch');
    const attempts = ['../secret.txt', 'a/../../secret.txt', '/secret.txt', `${parent}/secret.txt`, '..\\secret.txt', '../store2/x'];
    for (const key of attempts) {
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.put(key, Buffer.from('overwritten'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.deletePrefix(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.list(key)).rejects.toBeInstanceOf(InvalidKeyError);
    }
    // Percent-encoding is not decoded: this is a literal (odd but harmless) name inside the root.
    await store.put('%2e%2e/secret.txt', Buffer.from('inside'));
    expect(await readFile(join(root, '%2e%2e', 'secret.txt'), 'utf8')).toBe('inside');
    expect(await readFile(join(parent, 'secret.txt'), 'utf8')).toBe('do not touch');
    expect((await readdir(parent)).sort()).toEqual(['secret.txt', 'store']);
  });

  it('removes emptied directories after deletePrefix but never the root', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.put('media/v1/720p/seg_1.m4s', Buffer.from('a'));
    await store.put('media/v1/poster.jpg', Buffer.from('b'));
    expect(await store.deletePrefix('media/v1/')).toBe(2);
    expect(await readdir(root)).toEqual([]);
    const got = await store.get('media/v1/poster.jpg').catch((e: Error) => e.name);
    expect(got).toBe('ObjectNotFoundError');
  });

  it('reads an object through a Range as a stream of exactly the requested bytes', async () => {
    const store = new FsObjectStore(await tempRoot());
    const data = Buffer.from('0123456789');
    await store.put('r.bin', data);
    const got = await store.get('r.bin', { range: { start: 3, end: 6 } });
    expect((await readBody(got.body)).toString()).toBe('3456');
  });

  it('refuses relative file:// URLs and unknown schemes with a message naming STORAGE_URL', () => {
    expect(() => createStore('file://./.kinora/media')).toThrow(/STORAGE_URL file:\/\/ needs an absolute path/);
    expect(() => createStore('ftp://host/x')).toThrow(/STORAGE_URL must start with file:\/\/ or s3:\/\//);
    expect(() => createStore('not a url')).toThrow(/STORAGE_URL is not a URL/);
  });
});
