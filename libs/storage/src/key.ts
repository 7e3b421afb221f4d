import { InvalidKeyError } from './storage.errors.js';

/** S3's limit, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** A segment becomes a file or directory name in the fs adapter: NAME_MAX. */
export const MAX_SEGMENT_BYTES = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Throws InvalidKeyError unless `key` is a relative `/`-separated path: not empty, at most 1024 UTF-8 bytes, no
 * leading or trailing `/`, no empty segment (`a//b`), no `.`/`..` or other segment starting with a dot (hidden names
 * are reserved for the adapters' temporary and metadata files), no backslash, no control character, well-formed
 * Unicode, segments of at most 255 bytes.
 */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'absolute path');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslash');
  if (CONTROL.test(key)) throw new InvalidKeyError(key, 'control character');
  if (LONE_SURROGATE.test(key)) throw new InvalidKeyError(key, 'malformed Unicode');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidKeyError(key, 'empty segment');
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `'${segment}' segment`);
    if (segment.startsWith('.')) throw new InvalidKeyError(key, 'segment starting with a dot');
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      throw new InvalidKeyError(key, `segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/** A prefix is `''` (everything) or a key, optionally ending with `/`, whose last segment may be partial. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'not a string');
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** Byte order of the UTF-8 encodings, which is the order S3 lists keys in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
