export type { ObjectStore, ObjectInfo, GetResult, GetOptions, PutOptions, ByteRange } from './object-store.js';
export {
  type StorageErrorCode,
  StorageError,
  InvalidKeyError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  InvalidStorageUrlError,
} from './storage.errors.js';
export { validateKey, validatePrefix, compareKeys, MAX_KEY_BYTES, MAX_SEGMENT_BYTES } from './key.js';
export { contentTypeFromKey, DEFAULT_CONTENT_TYPE } from './content-type.js';
export { resolveRange, contentRange } from './range.js';
export { FsObjectStore, type FsObjectStoreOptions } from './fs.store.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3.store.js';
export { createStore, type CreateStoreOptions } from './create-store.js';
