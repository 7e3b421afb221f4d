import { fileURLToPath } from 'node:url';
import { FsObjectStore, type FsObjectStoreOptions } from './fs.store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3.store.js';
import { InvalidStorageUrlError } from './storage.errors.js';

export interface CreateStoreOptions {
  fs?: FsObjectStoreOptions;
  s3?: Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'>;
}

/**
 * The adapter a `STORAGE_URL` names:
 * - `file:///var/lib/kinora/media` → FsObjectStore rooted there (the path must be absolute).
 * - `s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true` → S3ObjectStore.
 *   Credentials: `s3://ACCESS_KEY:SECRET@bucket…` (URL-encoded), else the AWS SDK's default chain (AWS_* variables,
 *   web identity / IRSA, instance roles). `region` defaults to us-east-1; `forcePathStyle` to true when an
 *   `endpoint` is given (what self-hosted servers expect), false otherwise.
 * Anything else throws InvalidStorageUrlError naming the problem.
 */
export function createStore(url: string, options: CreateStoreOptions = {}): ObjectStore {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidStorageUrlError(`STORAGE_URL is not a URL: ${redact(url)}`);
  }
  if (parsed.protocol === 'file:') {
    if (parsed.host !== '' || !url.startsWith('file:///')) {
      throw new InvalidStorageUrlError(`STORAGE_URL file:// needs an absolute path (file:///var/lib/kinora/media): ${url}`);
    }
    if (parsed.search || parsed.hash) throw new InvalidStorageUrlError(`STORAGE_URL file:// takes no query or fragment: ${url}`);
    const root = fileURLToPath(parsed).replace(/(.)\/+$/, '$1');
    return new FsObjectStore(root, options.fs);
  }
  if (parsed.protocol === 's3:') {
    const bucket = parsed.hostname;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InvalidStorageUrlError(`STORAGE_URL s3:// needs a valid bucket name: ${redact(url)}`);
    }
    const params = parsed.searchParams;
    const known = new Set(['endpoint', 'region', 'forcePathStyle']);
    for (const name of params.keys()) {
      if (!known.has(name)) throw new InvalidStorageUrlError(`STORAGE_URL s3:// has an unknown parameter "${name}"`);
    }
    const endpoint = params.get('endpoint') ?? undefined;
    if (endpoint !== undefined) {
      try {
        const e = new URL(endpoint);
        if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new Error();
      } catch {
        throw new InvalidStorageUrlError(`STORAGE_URL s3:// endpoint must be an http(s) URL: ${endpoint}`);
      }
    }
    const forcePathStyleParam = params.get('forcePathStyle');
    if (forcePathStyleParam !== null && forcePathStyleParam !== 'true' && forcePathStyleParam !== 'false') {
      throw new InvalidStorageUrlError('STORAGE_URL s3:// forcePathStyle must be true or false');
    }
    const credentials =
      parsed.username || parsed.password
        ? { accessKeyId: decodeURIComponent(parsed.username), secretAccessKey: decodeURIComponent(parsed.password) }
        : undefined;
    return new S3ObjectStore({
      ...options.s3,
      bucket,
      prefix: decodeURIComponent(parsed.pathname.replace(/^\/+/, '')),
      clientConfig: {
        region: params.get('region') ?? 'us-east-1',
        endpoint,
        forcePathStyle: forcePathStyleParam === null ? endpoint !== undefined : forcePathStyleParam === 'true',
        ...(credentials ? { credentials } : {}),
        ...options.s3?.clientConfig,
      },
    });
  }
  throw new InvalidStorageUrlError(`STORAGE_URL must start with file:// or s3:// (got ${parsed.protocol}//)`);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
