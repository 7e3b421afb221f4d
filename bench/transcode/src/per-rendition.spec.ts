import { describe, expect, it } from '@jest/globals';
import { buildLadder, buildTranscodeArgs } from '@kinora/media';
import { splitLadder } from './per-rendition.js';

const source = {
  durationSec: 20,
  video: { index: 0, codecName: 'h264', width: 1920, height: 1080, frameRate: { num: 30, den: 1 } },
  audio: { index: 1, codecName: 'aac', channels: 2, sampleRate: 48000 },
};

describe('splitLadder', () => {
  it('gives one rung per run and encodes each audio rendition exactly once', () => {
    const ladder = buildLadder(source);
    const runs = splitLadder(ladder);
    expect(runs.map((l) => l.video.map((v) => v.name))).toEqual(ladder.video.map((v) => [v.name]));
    expect(runs.flatMap((l) => l.audio.map((a) => a.name))).toEqual(ladder.audio.map((a) => a.name));
    for (const run of runs) {
      expect(run.frameRate).toEqual(ladder.frameRate);
      expect(run.gopFrames).toBe(ladder.gopFrames);
    }
  });

  it('uses the same encoder arguments per rendition as the single process', () => {
    const ladder = buildLadder(source);
    const single = buildTranscodeArgs(source, ladder, '/in.mp4', '/out', { poster: false, storyboard: false }).args.join(' ');
    for (const run of splitLadder(ladder)) {
      const r = run.video[0]!;
      const args = buildTranscodeArgs(source, run, '/in.mp4', `/out-${r.name}`, { poster: false, storyboard: false }).args.join(' ');
      expect(args).toContain(`scale=${r.width}:${r.height}`);
      expect(args).toContain(`-b:v:0 ${r.videoKbps}k -maxrate:v:0 ${r.maxrateKbps}k -bufsize:v:0 ${r.bufsizeKbps}k`);
      for (const common of ['-c:v libx264 -preset veryfast -profile:v high', `-g ${ladder.gopFrames}`, '-sc_threshold 0', '-hls_time 4']) {
        expect(single).toContain(common);
        expect(args).toContain(common);
      }
    }
  });

  it('keeps a silent source silent', () => {
    const runs = splitLadder(buildLadder({ ...source, audio: null }));
    expect(runs.every((l) => l.audio.length === 0 && l.video[0]!.audio === null)).toBe(true);
  });
});
