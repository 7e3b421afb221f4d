import { describe, expect, it } from '@jest/globals';
import { InvalidKeyError } from '@kinora/storage';
import { normalizePrefix, planUpload } from './output.plan.js';

const file = (path: string) => ({ path, contentType: 'x', bytes: 1 });

describe('normalizePrefix', () => {
  it('ends the prefix with a slash', () => {
    expect(normalizePrefix('media/abc')).toBe('media/abc/');
    expect(normalizePrefix('media/abc/')).toBe('media/abc/');
  });

  it.each(['', '/', '/etc/', 'media/../x/', 'media//x/'])('refuses %j', (prefix) => {
    expect(() => normalizePrefix(prefix)).toThrow(InvalidKeyError);
  });
});

describe('planUpload', () => {
  it('writes media first, then media playlists and the storyboard index, then the master playlist and the MPD', () => {
    const plan = planUpload('media/v/', [
      file('manifest.mpd'),
      file('master.m3u8'),
      file('720p/index.m3u8'),
      file('720p/seg_1.m4s'),
      file('720p/init_0.mp4'),
      file('poster.jpg'),
      file('storyboard/index.vtt'),
      file('storyboard/sprite_0.jpg'),
      file('a128/index.m3u8'),
      file('a128/seg_1.m4s'),
    ]);
    expect(plan.stages.map((s) => s.map((x) => x.path))).toEqual([
      ['720p/init_0.mp4', '720p/seg_1.m4s', 'a128/seg_1.m4s', 'poster.jpg', 'storyboard/sprite_0.jpg'],
      ['720p/index.m3u8', 'a128/index.m3u8', 'storyboard/index.vtt'],
      ['manifest.mpd', 'master.m3u8'],
    ]);
    expect(plan.stages[0]![0]!.key).toBe('media/v/720p/init_0.mp4');
    expect(plan.keys.size).toBe(10);
    expect(plan.keys.has('media/v/master.m3u8')).toBe(true);
  });

  it('gives the same keys for the same files (a retry overwrites, never adds)', () => {
    const files = [file('b.m4s'), file('a.m4s')];
    expect([...planUpload('p/', files).keys]).toEqual([...planUpload('p/', [...files].reverse()).keys]);
  });
});
