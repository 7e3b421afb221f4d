import { describe, expect, it } from '@jest/globals';
import { buildMpd, isoDuration, numberTemplate, segmentTimeline, type MpdInput } from './dash.builder.js';

const segments = (dir: string, durations: number[]) => durations.map((d, i) => ({ uri: `${dir}/seg_${i + 1}.m4s`, durationSec: d }));

const input: MpdInput = {
  durationSec: 10.01,
  maxSegmentSec: 4.011,
  video: [
    { id: '720p', bandwidth: 3_000_000, codecs: 'avc1.64001f', initUri: '720p/init_720p.mp4', segments: segments('720p', [4, 4, 2.01]), width: 1280, height: 720, frameRate: '30000/1001' },
    { id: '144p', bandwidth: 200_000, codecs: 'avc1.64000c', initUri: '144p/init_144p.mp4', segments: segments('144p', [4, 4, 2.01]), width: 256, height: 144, frameRate: '30000/1001' },
  ],
  audio: [
    { id: 'audio_128k', bandwidth: 130_000, codecs: 'mp4a.40.2', initUri: 'audio_128k/init_audio_128k.mp4', segments: segments('audio_128k', [4.010667, 4.010667, 2.0]), channels: 2, sampleRate: 48000 },
  ],
};

describe('buildMpd', () => {
  it('writes a static isoff-live MPD with SegmentTemplate + SegmentTimeline over the HLS files', () => {
    expect(buildMpd(input)).toMatchSnapshot();
  });

  it('falls back to SegmentList when segment names are not numbered consecutively', () => {
    const odd = { ...input, audio: [], video: [{ ...input.video[0]!, segments: [{ uri: 'a.m4s', durationSec: 4 }, { uri: 'b.m4s', durationSec: 4 }] }] };
    const mpd = buildMpd(odd);
    expect(mpd).toContain('profiles="urn:mpeg:dash:profile:isoff-main:2011"');
    expect(mpd).toContain('<SegmentURL media="b.m4s"/>');
    expect(mpd).not.toContain('SegmentTemplate');
  });

  it('escapes XML and $ in URIs', () => {
    const mpd = buildMpd({ ...input, audio: [], video: [{ ...input.video[0]!, id: 'a&b', initUri: 'x$y/init.mp4', segments: segments('x$y', [4]) }] });
    expect(mpd).toContain('id="a&amp;b"');
    expect(mpd).toContain('initialization="x$$y/init.mp4"');
    expect(mpd).toContain('media="x$$y/seg_$Number$.m4s"');
  });

  it('needs video and segments', () => {
    expect(() => buildMpd({ ...input, video: [] })).toThrow(/video/);
    expect(() => buildMpd({ ...input, video: [{ ...input.video[0]!, segments: [] }] })).toThrow(/no segments/);
  });
});

describe('segmentTimeline', () => {
  it('folds equal durations into r and rounds starts from the running sum (no drift)', () => {
    expect(segmentTimeline([4, 4, 4, 2.5])).toEqual(['<S t="0" d="4000" r="2"/>', '<S d="2500"/>']);
    // 1000 segments of 1.0005 s: rounding each one would lose 0.5 s; rounding the running sum loses nothing.
    const timeline = segmentTimeline(Array.from({ length: 1000 }, () => 1.0005));
    const total = timeline.reduce((sum, s) => {
      const d = Number(s.match(/d="(\d+)"/)![1]);
      const r = Number(s.match(/r="(\d+)"/)?.[1] ?? 0);
      return sum + d * (r + 1);
    }, 0);
    expect(total).toBe(1000500);
  });
});

describe('numberTemplate', () => {
  it('finds the segment number even when the extension has a digit', () => {
    expect(numberTemplate(['720p/seg_1.m4s', '720p/seg_2.m4s'])).toEqual({ prefix: '720p/seg_', suffix: '.m4s', startNumber: 1 });
    expect(numberTemplate(['audio_96k/seg_9.m4s', 'audio_96k/seg_10.m4s'])).toEqual({ prefix: 'audio_96k/seg_', suffix: '.m4s', startNumber: 9 });
    expect(numberTemplate(['s0.mp4'])).toEqual({ prefix: 's', suffix: '.mp4', startNumber: 0 });
  });

  it('returns null for gaps, zero padding and unnumbered names', () => {
    expect(numberTemplate(['seg_1.m4s', 'seg_3.m4s'])).toBeNull();
    expect(numberTemplate(['seg_01.m4s', 'seg_02.m4s'])).toBeNull();
    expect(numberTemplate(['a.m4s'])).toBeNull();
    expect(numberTemplate([])).toBeNull();
  });
});

describe('isoDuration', () => {
  it('formats seconds with millisecond precision', () => {
    expect(isoDuration(6)).toBe('PT6.000S');
    expect(isoDuration(3723.4567)).toBe('PT3723.457S');
  });
});
