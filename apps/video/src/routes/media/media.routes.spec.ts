import { describe, expect, it } from '@jest/globals';
import { cacheControlFor, IMMUTABLE, MANIFEST, parseRange } from './media.routes.js';

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=10-', { start: 10, end: 999 }],
    ['bytes=-100', { start: 900, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=990-5000', { start: 990, end: 999 }],
    ['bytes=999-999', { start: 999, end: 999 }],
  ])('%s of 1000 bytes', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each(['bytes=1000-', 'bytes=1000-1001', 'bytes=-0'])('%s of 1000 bytes is unsatisfiable', (header) => {
    expect(parseRange(header, 1000)).toBe('unsatisfiable');
  });

  it.each([undefined, '', 'bytes=', 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b'])('ignores %j (whole object)', (header) => {
    expect(parseRange(header, 1000)).toBeUndefined();
  });
});

describe('cacheControlFor', () => {
  it('keeps manifests short and everything else immutable', () => {
    expect(cacheControlFor('media/x/master.m3u8')).toBe(MANIFEST);
    expect(cacheControlFor('media/x/manifest.mpd')).toBe(MANIFEST);
    expect(cacheControlFor('media/x/720p/seg_00001.m4s')).toBe(IMMUTABLE);
    expect(cacheControlFor('media/x/720p/init.mp4')).toBe(IMMUTABLE);
    expect(cacheControlFor('media/x/poster.jpg')).toBe(IMMUTABLE);
  });
});
