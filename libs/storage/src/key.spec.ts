import { describe, expect, it } from '@jest/globals';
import { contentTypeFromKey } from './content-type.js';
import { compareKeys, validateKey, validatePrefix } from './key.js';
import { contentRange, resolveRange } from './range.js';
import { InvalidKeyError, RangeNotSatisfiableError } from './storage.errors.js';
import { INVALID_KEYS } from './testing/object-store.contract.js';

describe('validateKey', () => {
  it.each([
    'a',
    'media/0190f3b4-7a2c-7d3e-9a55-6a7b8c9d0e1f/720p/seg_12.m4s',
    'uploads/abc+def',
    'vidéo/日本語 (1).txt',
    'a/b..c/d.e',
    `media/${'a'.repeat(255)}`,
  ])('accepts %s', (key) => {
    expect(() => validateKey(key)).not.toThrow();
  });

  it.each(INVALID_KEYS)('refuses a key with %s', (_label, key) => {
    expect(() => validateKey(key)).toThrow(InvalidKeyError);
  });

  it('names the problem and truncates huge keys in the message', () => {
    expect(() => validateKey('../x')).toThrow(/'\.\.' segment/);
    const error = (() => {
      try {
        validateKey(`x/${'b'.repeat(5000)}`);
      } catch (e) {
        return e as InvalidKeyError;
      }
      throw new Error('expected a throw');
    })();
    expect(error.message.length).toBeLessThan(300);
    expect(error.code).toBe('INVALID_KEY');
  });

  it('counts the length in UTF-8 bytes', () => {
    expect(() => validateKey(`a/${'é'.repeat(127)}`)).not.toThrow(); // 254 bytes
    expect(() => validateKey(`a/${'é'.repeat(128)}`)).toThrow(/segment longer/); // 256 bytes
  });
});

describe('validatePrefix', () => {
  it.each(['', 'media/', 'media/abc', 'media/abc/', 'me'])('accepts %j', (prefix) => {
    expect(() => validatePrefix(prefix)).not.toThrow();
  });
  it.each(['/', '../', 'a//', 'a/../', '/abs', 'a\\b', '.hidden/'])('refuses %j', (prefix) => {
    expect(() => validatePrefix(prefix)).toThrow(InvalidKeyError);
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes like S3 (not by UTF-16 code units)', () => {
    const keys = ['b', '\u{1F600}', 'a/b', 'a', '\uFF5E', 'a-b'];
    expect([...keys].sort(compareKeys)).toEqual(['a', 'a-b', 'a/b', 'b', '\uFF5E', '\u{1F600}']);
  });
});

describe('contentTypeFromKey', () => {
  it.each([
    ['media/v/master.m3u8', 'application/vnd.apple.mpegurl'],
    ['media/v/manifest.mpd', 'application/dash+xml'],
    ['media/v/720p/seg_1.m4s', 'video/iso.segment'],
    ['media/v/720p/init_720p.mp4', 'video/mp4'],
    ['media/v/poster.JPG', 'image/jpeg'],
    ['media/v/storyboard/index.vtt', 'text/vtt'],
    ['uploads/abc', 'application/octet-stream'],
    ['uploads/.hidden', 'application/octet-stream'],
    ['a.b/c', 'application/octet-stream'],
  ])('%s → %s', (key, type) => {
    expect(contentTypeFromKey(key)).toBe(type);
  });
});

describe('resolveRange', () => {
  it('clamps the end and defaults it to the last byte', () => {
    expect(resolveRange('k', { start: 0 }, 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange('k', { start: 5, end: 100 }, 10)).toEqual({ start: 5, end: 9 });
    expect(contentRange(5, 9, 10)).toBe('bytes 5-9/10');
  });
  it('refuses a start at or past the end with the size', () => {
    expect(() => resolveRange('k', { start: 10 }, 10)).toThrow(RangeNotSatisfiableError);
    expect(() => resolveRange('k', { start: 0 }, 0)).toThrow(RangeNotSatisfiableError);
  });
  it('refuses malformed numbers as a programming error', () => {
    expect(() => resolveRange('k', { start: -1 }, 10)).toThrow(TypeError);
    expect(() => resolveRange('k', { start: 3, end: 2 }, 10)).toThrow(TypeError);
    expect(() => resolveRange('k', { start: Number.NaN }, 10)).toThrow(TypeError);
  });
});
