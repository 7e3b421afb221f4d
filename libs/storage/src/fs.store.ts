import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { contentTypeFromKey } from './content-type.js';
import { compareKeys, validateKey, validatePrefix } from './key.js';
import type { GetOptions, GetResult, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { contentRange, resolveRange } from './range.js';
import { InvalidKeyError, ObjectNotFoundError } from './storage.errors.js';

export interface FsObjectStoreOptions {
  /** fsync each object before it becomes visible (default true: an acknowledged put survives a power cut). */
  fsync?: boolean;
}

const META_SUFFIX = '.meta.json';

/**
 * Local-filesystem adapter: key `a/b/c.m4s` is the file `<root>/a/b/c.m4s`.
 * - Atomic puts: written to a hidden temporary file in the same directory, fsynced, then renamed over the target.
 * - Content type: derived from the extension on read; a different type given to `put` is kept in a hidden
 *   `.<name>.meta.json` beside the file (media files never need one).
 * - Hidden names (leading dot) are the adapter's own and never listed; keys cannot contain them.
 * - Unlike S3, a key cannot be both an object and a "folder" (`a/b` and `a/b/c`): the filesystem refuses.
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly fsync: boolean;

  constructor(root: string, options: FsObjectStoreOptions = {}) {
    if (!isAbsolute(root)) throw new Error(`the storage root must be an absolute path: ${root}`);
    this.root = resolve(root);
    this.fsync = options.fsync ?? true;
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
    try {
      await this.writeFile(tmp, body);
      const meta = this.metaPathOf(path);
      if (options.contentType && options.contentType !== contentTypeFromKey(key)) {
        const metaTmp = `${tmp}${META_SUFFIX}`;
        await writeFile(metaTmp, JSON.stringify({ contentType: options.contentType }));
        await rename(metaTmp, meta);
      } else {
        await unlink(meta).catch(ignore('ENOENT'));
      }
      await rename(tmp, path);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
    }
  }

  /** Creates the parent directories and writes the temporary file; retried when a concurrent delete prunes them. */
  private async writeFile(tmp: string, body: Buffer | Readable): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let handle: FileHandle;
      try {
        await mkdir(dirname(tmp), { recursive: true });
        handle = await open(tmp, 'wx');
      } catch (error) {
        if (attempt < 3 && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      try {
        if (Buffer.isBuffer(body)) {
          await handle.writeFile(body);
        } else {
          for await (const chunk of body) {
            const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            await handle.write(bytes);
          }
        }
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      return;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      const size = info.size;
      const contentType = await this.contentTypeOf(key, path);
      const common = { size, contentType, lastModified: info.mtime, etag: etagOf(info) };
      if (options.range) {
        const { start, end } = resolveRange(key, options.range, size);
        const body = handle.createReadStream({ start, end });
        return { ...common, body, contentLength: end - start + 1, contentRange: contentRange(start, end, size) };
      }
      return { ...common, body: handle.createReadStream(), contentLength: size };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      return {
        key,
        size: info.size,
        contentType: await this.contentTypeOf(key, path),
        lastModified: info.mtime,
        etag: etagOf(info),
      };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.unlinkObject(path);
    await this.pruneParents(dirname(path));
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '') throw new InvalidKeyError(prefix, 'deletePrefix needs a non-empty prefix');
    const objects = await this.list(prefix);
    for (const object of objects) await this.unlinkObject(this.pathOf(object.key));
    const start = this.listStart(prefix);
    await this.pruneTree(start);
    await this.pruneParents(dirname(start));
    return objects.length;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    const objects: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) {
          // Descend only where keys can still match the prefix.
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await walk(join(dir, entry.name), `${key}/`);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(join(dir, entry.name)).catch((error: unknown) => {
            if (isMissing(error)) return null; // deleted while listing
            throw error;
          });
          if (info) objects.push({ key, size: info.size, lastModified: info.mtime, etag: etagOf(info) });
        }
      }
    };
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    await walk(base ? join(this.root, ...base.split('/').filter(Boolean)) : this.root, base);
    return objects.sort((a, b) => compareKeys(a.key, b.key));
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    validateKey(key);
    const path = join(this.root, ...key.split('/'));
    // Validation already rules out traversal; this is the belt to its braces.
    if (!path.startsWith(this.root + sep)) throw new InvalidKeyError(key, 'outside the storage root');
    return path;
  }

  private metaPathOf(path: string): string {
    return join(dirname(path), `.${basename(path)}${META_SUFFIX}`);
  }

  private async contentTypeOf(key: string, path: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(this.metaPathOf(path), 'utf8')) as { contentType?: unknown };
      if (typeof meta.contentType === 'string') return meta.contentType;
    } catch {
      // no sidecar: the usual case
    }
    return contentTypeFromKey(key);
  }

  private async unlinkObject(path: string): Promise<void> {
    await unlink(path).catch(ignore('ENOENT', 'ENOTDIR'));
    await unlink(this.metaPathOf(path)).catch(ignore('ENOENT', 'ENOTDIR'));
  }

  /** The directory a prefix's objects live under (`media/abc/` → `<root>/media/abc`, `media/ab` → `<root>/media`). */
  private listStart(prefix: string): string {
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix.slice(0, Math.max(0, prefix.lastIndexOf('/')));
    return base ? join(this.root, ...base.split('/')) : this.root;
  }

  /** Removes empty directories below and including `dir` (never the root). */
  private async pruneTree(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) await this.pruneTree(join(dir, entry.name));
    if (dir !== this.root) await rmdir(dir).catch(() => {});
  }

  /** Removes now-empty parent directories up to (not including) the root. */
  private async pruneParents(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or gone): stop
      }
      dir = dirname(dir);
    }
  }
}

function etagOf(info: { size: number; mtimeMs: number; ino: number }): string {
  return `"${info.ino.toString(16)}-${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function ignore(...codes: string[]) {
  return (error: NodeJS.ErrnoException) => {
    if (!codes.includes(error.code ?? '')) throw error;
  };
}
