import { describe, expect, it } from '@jest/globals';
import { mediaContentType, segmentBitrates } from './transcode.js';

describe('segmentBitrates', () => {
  it('peak is the busiest run of segments lasting 0.5–1.5 target durations (RFC 8216 §4.3.4.2)', () => {
    const { peakBps, averageBps } = segmentBitrates(
      [
        { bytes: 500_000, durationSec: 4 }, // 1 Mbit/s
        { bytes: 1_500_000, durationSec: 4 }, // 3 Mbit/s
        { bytes: 250_000, durationSec: 2 }, // 1 Mbit/s
      ],
      4,
    );
    expect(peakBps).toBe(3_000_000);
    expect(averageBps).toBe(1_800_000);
  });

  it('does not judge a very short last segment alone', () => {
    // 0.2 s holding a whole keyframe would read as 8 Mbit/s on its own; with its neighbour it is 2.3 Mbit/s.
    const { peakBps } = segmentBitrates(
      [
        { bytes: 500_000, durationSec: 4 },
        { bytes: 200_000, durationSec: 0.2 },
      ],
      4,
    );
    expect(peakBps).toBe(Math.round((700_000 * 8) / 4.2));
  });

  it('uses the average when the playlist is shorter than half a target duration', () => {
    expect(segmentBitrates([{ bytes: 1000, durationSec: 1 }], 4)).toEqual({ peakBps: 8000, averageBps: 8000 });
  });
});

describe('mediaContentType', () => {
  it.each([
    ['master.m3u8', 'application/vnd.apple.mpegurl'],
    ['manifest.mpd', 'application/dash+xml'],
    ['720p/init_720p.mp4', 'video/mp4'],
    ['720p/seg_1.m4s', 'video/iso.segment'],
    ['poster.jpg', 'image/jpeg'],
    ['storyboard/index.vtt', 'text/vtt'],
    ['other.bin', 'application/octet-stream'],
  ])('%s → %s', (path, type) => {
    expect(mediaContentType(path)).toBe(type);
  });
});
