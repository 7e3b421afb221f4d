import { describe, expect, it } from '@jest/globals';
import { buildAudioArgs, buildChunkArgs, buildConcatList, buildJoinArgs, type ChunkedPlan } from './chunk-args.builder.js';
import { firstFrameAtOrAfter, parseKeyframePackets, planChunks, type ChunkPlanInput } from './chunk.planner.js';
import { buildLadder } from './ladder.builder.js';
import type { MediaSource } from './probe.validator.js';
import { buildOutputLayout, buildTranscodeArgs, planPoster, planStoryboard } from './transcode-args.builder.js';

const every = (step: number, until: number) => Array.from({ length: Math.floor(until / step) + 1 }, (_, i) => i * step);
const base: ChunkPlanInput = {
  durationSec: 16,
  frameRate: { num: 30, den: 1 },
  segmentSec: 4,
  gopSec: 2,
  keyframes: every(2, 16),
  targetChunkSec: 4,
};

describe('planChunks', () => {
  it('cuts a 16 s source with keyframes every 2 s into four 4 s chunks on segment boundaries', () => {
    const chunks = planChunks(base);
    expect(chunks.map((c) => [c.startSec, c.startFrame, c.frameCount, c.keyframesBefore])).toEqual([
      [0, 0, 120, 0],
      [4, 120, 120, 2],
      [8, 240, 120, 4],
      [12, 360, null, 6],
    ]);
    expect(chunks.every((c) => c.onSourceKeyframe)).toBe(true);
  });

  it('keeps a source shorter than one and a half targets in one chunk', () => {
    expect(planChunks({ ...base, durationSec: 89, targetChunkSec: 60 })).toEqual([
      { index: 0, startSec: 0, startFrame: 0, frameCount: null, keyframesBefore: 0, onSourceKeyframe: true },
    ]);
  });

  it('moves a cut to a segment boundary where the source has a keyframe, rather than the nearest one', () => {
    // Keyframes every 7 s: the 4 s boundaries that are keyframes are the multiples of 28 (56 is the nearest to 60).
    const chunks = planChunks({ ...base, durationSec: 300, keyframes: every(7, 300), targetChunkSec: 60 });
    expect(chunks.map((c) => c.startSec)).toEqual([0, 56, 112, 168, 224]);
    expect(chunks.every((c) => c.onSourceKeyframe)).toBe(true);
    // Every cut is a multiple of the segment length, chunks cover the source without gaps.
    for (const [i, c] of chunks.entries()) {
      expect(c.startSec % 4).toBe(0);
      const next = chunks[i + 1];
      if (next) expect(c.startFrame + c.frameCount!).toBe(next.startFrame);
    }
    expect(chunks.at(-1)!.frameCount).toBeNull();
  });

  it('cuts at the nearest segment boundary when no keyframe is within reach (decoding starts earlier)', () => {
    const chunks = planChunks({ ...base, durationSec: 200, keyframes: [0, 7.5], targetChunkSec: 60 });
    expect(chunks.map((c) => c.startSec)).toEqual([0, 60, 120]);
    expect(chunks.map((c) => c.onSourceKeyframe)).toEqual([true, false, false]);
  });

  it('never leaves a last chunk shorter than half a target', () => {
    const chunks = planChunks({ ...base, durationSec: 130, keyframes: every(2, 130), targetChunkSec: 60 });
    expect(chunks.map((c) => c.startSec)).toEqual([0, 60]);
  });

  it('starts chunks of a 29.97 fps source on the frame the single process forces its keyframe on', () => {
    const frameRate = { num: 30000, den: 1001 };
    const chunks = planChunks({ ...base, durationSec: 40, frameRate, keyframes: [], targetChunkSec: 8 });
    // 8 s → frame 240 (239.76 rounded up), 16 s → 480 (479.52), 24 s → 720 (719.28), 32 s → 960 (959.04).
    expect(chunks.map((c) => c.startFrame)).toEqual([0, 240, 480, 720, 960]);
    expect(chunks.map((c) => c.keyframesBefore)).toEqual([0, 4, 8, 12, 16]);
    for (const c of chunks) expect(c.startFrame * (1001 / 30000)).toBeGreaterThanOrEqual(c.startSec);
  });

  it('refuses a segment length that is not a multiple of the GOP, and a target below one segment', () => {
    expect(() => planChunks({ ...base, segmentSec: 3 })).toThrow(/multiple of gopSec/);
    expect(() => planChunks({ ...base, targetChunkSec: 2 })).toThrow(/at least one segment/);
    expect(() => planChunks({ ...base, durationSec: 0 })).toThrow(/positive/);
  });
});

describe('firstFrameAtOrAfter', () => {
  it('compares in doubles the way ffmpeg evaluates t', () => {
    expect(firstFrameAtOrAfter(4, { num: 30, den: 1 })).toBe(120);
    expect(firstFrameAtOrAfter(4, { num: 30000, den: 1001 })).toBe(120);
    expect(firstFrameAtOrAfter(2, { num: 24000, den: 1001 })).toBe(48);
    expect(firstFrameAtOrAfter(0, { num: 25, den: 1 })).toBe(0);
  });
});

describe('parseKeyframePackets', () => {
  it('keeps packets flagged K, relative to the start time, sorted', () => {
    expect(parseKeyframePackets('0.100000,K_\n0.133333,__\n2.100000,K_\nN/A,K_\n1.1,_D\n', 0.1)).toEqual([0, 2]);
  });
});

const source: MediaSource = {
  durationSec: 16,
  video: { index: 0, codecName: 'h264', width: 640, height: 360, frameRate: { num: 30, den: 1 } },
  audio: { index: 1, codecName: 'aac', channels: 2, sampleRate: 48000 },
};

function planOf(src: MediaSource = source): ChunkedPlan {
  const ladder = buildLadder(src);
  return {
    version: 1,
    source: src,
    ladder,
    preset: 'veryfast',
    segmentSec: 4,
    targetChunkSec: 4,
    layout: buildOutputLayout(ladder, 4, planPoster(src, ladder, {}), planStoryboard(src)),
    chunks: planChunks({ ...base, durationSec: src.durationSec }),
  };
}

describe('buildChunkArgs', () => {
  it('the first chunk: no seek, the single process filter head plus trim, the same encoder arguments, the poster', () => {
    const plan = planOf();
    const args = buildChunkArgs(plan, 0, '/in/source', '/out/chunk-0');
    expect(args).not.toContain('-ss');
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toMatch(/^\[0:0\]fps=30,format=yuv420p,trim=end_frame=120,split=5/);
    expect(graph).toContain(`select='eq(n,0)+eq(n,48)'`);
    // The encoder arguments are the single process's, keyframe expression included.
    const single = buildTranscodeArgs(source, plan.ladder, '/in/source', '/out/single').args;
    const encoder = (a: string[]) => a.slice(a.indexOf('-c:v'), a.indexOf('-c:v') + 20);
    expect(encoder(args)).toEqual(encoder(single));
    expect(args).toContain('expr:gte(t,n_forced*2)');
    expect(args).toContain('/out/chunk-0/video.mp4');
    expect(args).toContain('/out/chunk-0/poster.jpg');
  });

  it('a middle chunk seeks to its start, keeps its global timestamps and forces keyframes from its place in the GOP grid', () => {
    const args = buildChunkArgs(planOf(), 2, '/in/source', '/out/chunk-2');
    expect(args.slice(0, 5)).toEqual(['-y', '-ss', '8', '-t', '6']);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toMatch(/^\[0:0\]fps=30,format=yuv420p,trim=end_frame=120,setpts=PTS-STARTPTS\+240,split=4/);
    expect(graph).not.toContain('select=');
    expect(args).toContain('expr:gte(t,(n_forced+4)*2)');
    expect(args.slice(-3)).toEqual(['-frame_pts', '1', '/out/chunk-2/storyboard/thumb_%d.jpg']);
  });

  it('the last chunk runs to the end of the source', () => {
    const args = buildChunkArgs(planOf(), 3, '/in/source', '/out/chunk-3');
    expect(args).not.toContain('-t');
    expect(args[args.indexOf('-filter_complex') + 1]).not.toContain('trim=');
  });

  it('refuses an index the plan does not have, relative paths and % in the output folder', () => {
    expect(() => buildChunkArgs(planOf(), 4, '/in/source', '/out')).toThrow(/chunk 4 does not exist/);
    expect(() => buildChunkArgs(planOf(), 0, 'source', '/out')).toThrow(/absolute/);
    expect(() => buildChunkArgs(planOf(), 0, '/in/source', '/out/%d')).toThrow(/%/);
  });
});

describe('buildAudioArgs / buildJoinArgs / buildConcatList', () => {
  it('audio: the whole source, the single process encoder settings, one variant with its init segment named', () => {
    const args = buildAudioArgs(planOf(), '/in/source', '/out/audio');
    expect(args[args.indexOf('-filter_complex') + 1]).toBe('[0:1]aresample=48000,atrim=end=15.978667[a0]');
    expect(args).toEqual(expect.arrayContaining(['-map', '[a0]', '-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a:0', '128k']));
    expect(args).toContain('init_audio_128k.mp4');
    expect(args.at(-1)).toBe('/out/audio/%v/index.m3u8');
    expect(() => buildAudioArgs(planOf({ ...source, audio: null }), '/in/source', '/out/audio')).toThrow(/no audio/);
  });

  it('join: every rung copied from the concatenated chunks into the hls muxer', () => {
    const args = buildJoinArgs(planOf(), '/work/list.ffconcat', '/out/ladder');
    expect(args.slice(0, 7)).toEqual(['-y', '-f', 'concat', '-safe', '0', '-i', 'file:/work/list.ffconcat']);
    expect(args).toEqual(expect.arrayContaining(['-map', '0:v:2', '-c', 'copy', '-var_stream_map', 'v:0,name:144p v:1,name:240p v:2,name:360p']));
  });

  it('concat list: exact durations for every chunk but the last, without accumulated rounding', () => {
    const plan = planOf();
    const list = buildConcatList(plan, ['/w/c0/video.mp4', '/w/c1/video.mp4', "/w/it's/video.mp4", '/w/c3/video.mp4']);
    expect(list).toBe(
      [
        'ffconcat version 1.0',
        "file '/w/c0/video.mp4'",
        'duration 4.000000',
        "file '/w/c1/video.mp4'",
        'duration 4.000000',
        "file '/w/it'\\''s/video.mp4'",
        'duration 4.000000',
        "file '/w/c3/video.mp4'",
        '',
      ].join('\n'),
    );
    // 29.97 fps: 240 frames = 8.008 s; the sum of the listed durations is the exact start of each chunk, in µs.
    const ntsc = { ...plan, ladder: { ...plan.ladder, frameRate: { num: 30000, den: 1001 } } };
    ntsc.chunks = planChunks({ ...base, durationSec: 40, frameRate: ntsc.ladder.frameRate, targetChunkSec: 8 });
    const durations = [...buildConcatList(ntsc, ntsc.chunks.map((c) => `/w/${c.index}.mp4`)).matchAll(/duration (\S+)/g)].map((m) => Number(m[1]));
    let sum = 0;
    durations.forEach((d, i) => {
      sum += d;
      expect(Math.round(sum * 1e6)).toBe(Math.round((ntsc.chunks[i + 1]!.startFrame * 1001 * 1e6) / 30000));
    });
    expect(() => buildConcatList(plan, ['/w/one.mp4'])).toThrow(/4 chunk files expected/);
  });
});
