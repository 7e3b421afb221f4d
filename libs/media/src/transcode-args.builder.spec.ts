import { describe, expect, it } from '@jest/globals';
import { buildLadder } from './ladder.builder.js';
import type { MediaSource } from './probe.validator.js';
import { audioEndSec, buildSpriteArgs, buildTranscodeArgs, planStoryboard, storyboardGrid } from './transcode-args.builder.js';

const landscape: MediaSource = {
  durationSec: 6,
  video: { index: 0, codecName: 'h264', width: 1920, height: 1080, frameRate: { num: 30000, den: 1001 } },
  audio: { index: 1, codecName: 'aac', channels: 2, sampleRate: 44100 },
};
const silentPortrait: MediaSource = {
  durationSec: 4,
  video: { index: 2, codecName: 'hevc', width: 720, height: 1280, frameRate: { num: 25, den: 1 } },
  audio: null,
};

function argsOf(source: MediaSource, options = {}) {
  return buildTranscodeArgs(source, buildLadder(source), '/in/source.mp4', '/out', options);
}

/** `-flag value` pairs as lines, so snapshot diffs read like a command line. */
function asLines(args: readonly string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('-') && next !== undefined && !(next.startsWith('-') && !/^-\d/.test(next))) {
      lines.push(`${a} ${next}`);
      i++;
    } else {
      lines.push(a);
    }
  }
  return lines.join('\n');
}

describe('buildTranscodeArgs', () => {
  it('landscape 1080p with audio: one decode, six rungs, one shared audio rendition, poster and storyboard', () => {
    const { args, layout } = argsOf(landscape);
    expect(asLines(args)).toMatchSnapshot();
    expect(layout).toMatchSnapshot();
  });

  it('silent portrait, 2 s segments, slow preset, no poster or storyboard', () => {
    const { args, layout } = argsOf(silentPortrait, { segmentSec: 2, preset: 'slow', poster: false, storyboard: false, threads: 2 });
    expect(asLines(args)).toMatchSnapshot();
    expect(layout.audio).toEqual([]);
    expect(layout.poster).toBeNull();
    expect(layout.storyboard).toBeNull();
    expect(args).not.toContain('-c:a');
  });

  it('decodes once: exactly one input and one split feeding every output', () => {
    const { args } = argsOf(landscape);
    expect(args.filter((a) => a === '-i')).toHaveLength(1);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph.match(/split=/g)).toHaveLength(1);
    expect(graph).toContain('split=8'); // 6 rungs + poster + storyboard
    expect(graph.startsWith('[0:0]fps=30000/1001,format=yuv420p,')).toBe(true);
  });

  it('aligns keyframes: fixed 2 s GOP, no scene cuts, keyframes forced by time', () => {
    const { args } = argsOf(landscape);
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(value('-g')).toBe('60');
    expect(value('-keyint_min')).toBe('60');
    expect(value('-sc_threshold')).toBe('0');
    expect(value('-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
    expect(value('-hls_time')).toBe('4');
    expect(value('-preset')).toBe('veryfast');
  });

  it('maps the chosen video and audio streams by index, and the input through the file: protocol', () => {
    const { args } = argsOf({ ...landscape, video: { ...landscape.video, index: 3 }, audio: { ...landscape.audio!, index: 5 } });
    expect(args[args.indexOf('-i') + 1]).toBe('file:/in/source.mp4');
    expect(args[args.indexOf('-filter_complex') + 1]).toMatch(/^\[0:3\]/);
    // One audio rendition for every rung, from audio stream 5.
    expect(args[args.indexOf('-filter_complex') + 1]!.match(/\[0:5\]/g)).toHaveLength(1);
    expect(args.filter((a) => a === '[a0]')).toHaveLength(1);
  });

  it('encodes one audio rendition and names it in the stream map once', () => {
    const { args, layout } = argsOf(landscape);
    expect(layout.audio).toEqual([{ name: 'audio_128k', dir: 'audio_128k', playlist: 'audio_128k/index.m3u8' }]);
    expect(args.filter((a) => a.startsWith('-b:a'))).toEqual(['-b:a:0']);
    expect(args[args.indexOf('-b:a:0') + 1]).toBe('128k');
    expect(args[args.indexOf('-var_stream_map') + 1]).toMatch(/ a:0,name:audio_128k$/);
  });

  // Regression: the hls muxer shifted every track by x264's negative DTS, so video started at 0.067 s (2 frames of
  // B-frame delay at 30 fps) while players placed audio at 0.
  it('keeps timestamps from 0 on the hls output: no negative-ts shift, negative composition offsets instead', () => {
    const { args } = argsOf(landscape);
    const hls = args.indexOf('hls');
    const playlist = args.indexOf('/out/%v/index.m3u8');
    const at = (flag: string) => args.indexOf(flag);
    expect(args[at('-avoid_negative_ts') + 1]).toBe('disabled');
    expect(args[at('-hls_segment_options') + 1]).toBe('movflags=+negative_cts_offsets');
    for (const flag of ['-avoid_negative_ts', '-hls_segment_options']) {
      expect(at(flag)).toBeGreaterThan(hls);
      expect(at(flag)).toBeLessThan(playlist);
      expect(args.filter((a) => a === flag)).toHaveLength(1); // not on the poster or storyboard outputs
    }
  });

  it('refuses relative paths, a % in the output directory and segment lengths that break alignment', () => {
    const ladder = buildLadder(landscape);
    expect(() => buildTranscodeArgs(landscape, ladder, 'in.mp4', '/out')).toThrow(/absolute/);
    expect(() => buildTranscodeArgs(landscape, ladder, '/in.mp4', 'out')).toThrow(/absolute/);
    expect(() => buildTranscodeArgs(landscape, ladder, '/in.mp4', '/out/100%')).toThrow(/%/);
    expect(() => buildTranscodeArgs(landscape, ladder, '/in.mp4', '/out', { segmentSec: 3 as 4 })).toThrow(/multiple/);
    expect(() => buildTranscodeArgs(landscape, ladder, '/in.mp4', '/out', { segmentSec: 6 as 4 })).toThrow(/at most 4/);
  });

  it('takes the poster at 10% of the duration at the largest size up to 720p', () => {
    const { layout } = argsOf({ ...landscape, durationSec: 100 });
    // 10 s at 30000/1001 fps is frame 300 (10.010 s).
    expect(layout.poster).toEqual({ path: 'poster.jpg', width: 1280, height: 720, atSec: 10.01, frame: 300 });
    expect(argsOf({ ...landscape, durationSec: 0.05 }).layout.poster).toMatchObject({ frame: 0, atSec: 0 });
    expect(argsOf({ ...landscape, durationSec: 0.05 }).args).toContain('1'); // -frames:v 1 when the poster is frame 0
  });
});

describe('planStoryboard', () => {
  const video = landscape.video;
  it('one tile per second for short videos', () => {
    expect(planStoryboard({ durationSec: 6, video })).toMatchObject({ intervalSec: 1, tileCount: 6, tileWidth: 160, tileHeight: 90 });
  });

  it('about a hundred tiles for longer videos, at most 10 s apart', () => {
    expect(planStoryboard({ durationSec: 600, video })).toMatchObject({ intervalSec: 6, tileCount: 100, maxColumns: 10, maxRows: 10 });
    expect(planStoryboard({ durationSec: 7200, video })).toMatchObject({ intervalSec: 10, tileCount: 720 });
  });

  it('portrait tiles are 90×160', () => {
    expect(planStoryboard({ durationSec: 10, video: { ...video, width: 1080, height: 1920 } })).toMatchObject({ tileWidth: 90, tileHeight: 160 });
  });

  it('honours explicit options', () => {
    expect(planStoryboard({ durationSec: 60, video }, { intervalSec: 5, tileLongSide: 240, maxColumns: 5, maxRows: 2 })).toMatchObject({
      intervalSec: 5,
      tileCount: 12,
      maxColumns: 5,
      maxRows: 2,
      tileWidth: 240,
      tileHeight: 136,
    });
    expect(() => planStoryboard({ durationSec: 60, video }, { intervalSec: 0 })).toThrow(/positive/);
  });
});

describe('storyboardGrid', () => {
  it.each([
    [1, { columns: 1, rows: 1 }],
    [6, { columns: 6, rows: 1 }],
    [10, { columns: 10, rows: 1 }],
    [11, { columns: 10, rows: 2 }],
    [100, { columns: 10, rows: 10 }],
    [720, { columns: 10, rows: 10 }],
  ])('%d thumbnails → %j', (count, grid) => {
    expect(storyboardGrid(count, 10, 10)).toEqual(grid);
  });
});

describe('buildSpriteArgs', () => {
  it('tiles the numbered thumbnails into numbered sheets', () => {
    const { layout } = argsOf(landscape);
    expect(buildSpriteArgs(layout.storyboard!, '/out', { columns: 6, rows: 1 })).toEqual([
      '-y',
      '-framerate',
      '1',
      '-start_number',
      '0',
      '-i',
      '/out/storyboard/thumb_%d.jpg',
      '-vf',
      'tile=6x1',
      '-fps_mode',
      'passthrough',
      '-q:v',
      '5',
      '-start_number',
      '0',
      '/out/storyboard/sprite_%d.jpg',
    ]);
  });
});

describe('audioEndSec', () => {
  const ladderOf = (source: MediaSource) => buildLadder(source);
  it('ends the audio on whole AAC frames that, with the priming frame, fit in the video', () => {
    // 3 s at 30 fps: 140.625 frames of 1024 samples fit; 140 whole, one of them the priming frame → 139 of audio.
    const source: MediaSource = { ...landscape, durationSec: 3.008, video: { ...landscape.video, frameRate: { num: 30, den: 1 }, durationSec: 3 } };
    expect(audioEndSec(source, ladderOf(source))).toBeCloseTo((139 * 1024) / 48000, 9);
    // The stream's own duration counts, not the file's (which a longer audio sets); without it, the file's.
    const longer: MediaSource = { ...source, durationSec: 3.1 };
    expect(audioEndSec(longer, ladderOf(longer))).toBeCloseTo((139 * 1024) / 48000, 9);
    const withoutStream: MediaSource = { ...longer, video: { ...source.video, durationSec: null } };
    // 3.1 s = 93 frames → 145.3 AAC frames fit → 144 of audio.
    expect(audioEndSec(withoutStream, ladderOf(withoutStream))).toBeCloseTo((144 * 1024) / 48000, 9);
  });

  it('counts whole video frames (29.97 fps) and is null without audio', () => {
    const source: MediaSource = { ...landscape, durationSec: 6, video: { ...landscape.video, durationSec: 6 } };
    // 179 frames of 1001/30000 s = 5.9726 s → 279 AAC frames fit, 278 of audio.
    expect(audioEndSec(source, ladderOf(source))).toBeCloseTo((278 * 1024) / 48000, 9);
    expect(audioEndSec(silentPortrait, ladderOf(silentPortrait))).toBeNull();
  });
});
