import { describe, expect, it } from '@jest/globals';
import { AUDIO_KBPS, BITRATE_TABLE, buildLadder, chooseFrameRate, LADDER_RUNGS, type LadderSource } from './ladder.builder.js';

function src(width: number, height: number, options: { fps?: [number, number] | null; channels?: number | null } = {}): LadderSource {
  const { fps = [30, 1], channels = 2 } = options;
  return {
    video: { index: 0, codecName: 'h264', width, height, frameRate: fps ? { num: fps[0], den: fps[1] } : null },
    audio: channels ? { index: 1, codecName: 'aac', channels, sampleRate: 48000 } : null,
  };
}

const sizes = (s: LadderSource) => buildLadder(s).video.map((r) => `${r.name}:${r.width}x${r.height}`);

describe('buildLadder', () => {
  it('1080p landscape: 144p…1080p, 16:9 kept, even widths', () => {
    expect(sizes(src(1920, 1080))).toEqual([
      '144p:256x144',
      '240p:426x240',
      '360p:640x360',
      '480p:854x480',
      '720p:1280x720',
      '1080p:1920x1080',
    ]);
  });

  it('2160p: all seven rungs', () => {
    expect(buildLadder(src(3840, 2160)).video.map((r) => r.rung)).toEqual([...LADDER_RUNGS]);
  });

  it('portrait: the rung is the SHORT side, so 1080×1920 gets 1080p too', () => {
    expect(sizes(src(1080, 1920))).toEqual([
      '144p:144x256',
      '240p:240x426',
      '360p:360x640',
      '480p:480x854',
      '720p:720x1280',
      '1080p:1080x1920',
    ]);
  });

  it('never upscales: a 1072-line source stops at 720p', () => {
    expect(buildLadder(src(1920, 1072)).video.at(-1)?.name).toBe('720p');
  });

  it('keeps odd aspect ratios with even sizes (ultrawide, 4:3, square)', () => {
    expect(sizes(src(2560, 1080)).at(-1)).toBe('1080p:2560x1080');
    expect(sizes(src(1440, 1080)).slice(0, 2)).toEqual(['144p:192x144', '240p:320x240']);
    expect(sizes(src(720, 720))).toEqual(['144p:144x144', '240p:240x240', '360p:360x360', '480p:480x480', '720p:720x720']);
    for (const r of buildLadder(src(1279, 719)).video) {
      expect(r.width % 2).toBe(0);
      expect(r.height % 2).toBe(0);
    }
  });

  it('a source below 144p gets one rendition at its own even size', () => {
    expect(sizes(src(100, 56))).toEqual(['56p:100x56']);
    expect(sizes(src(101, 57))).toEqual(['56p:100x56']);
    expect(sizes(src(17, 16))).toEqual(['16p:16x16']);
    expect(buildLadder(src(100, 56)).video[0]).toMatchObject({ videoKbps: 150, audio: 'audio_128k' });
  });

  it('uses the documented bitrate table', () => {
    const ladder = buildLadder(src(1920, 1080));
    for (const r of ladder.video) {
      const row = BITRATE_TABLE.find((b) => b.rung === r.rung)!;
      expect(r).toMatchObject({ videoKbps: row.videoKbps, maxrateKbps: row.maxrateKbps, bufsizeKbps: row.bufsizeKbps });
    }
  });

  // Regression: 96k for 144p…360p and 128k above made two HLS audio groups, so a level switch across 360p/480p was
  // also an audio-group switch, and hls.js 1.7 stalled before finishing it.
  it('pairs every rung with the same single audio rendition, whatever the ladder', () => {
    for (const source of [src(3840, 2160), src(1920, 1080), src(640, 360), src(1080, 1920), src(100, 56)]) {
      const ladder = buildLadder(source);
      expect(ladder.audio).toEqual([{ name: 'audio_128k', bitrateKbps: AUDIO_KBPS, channels: 2, sampleRate: 48000 }]);
      expect(new Set(ladder.video.map((r) => r.audio))).toEqual(new Set(['audio_128k']));
    }
    expect(AUDIO_KBPS).toBe(128);
  });

  it('mono stays mono, 5.1 becomes stereo', () => {
    expect(buildLadder(src(640, 360, { channels: 1 })).audio).toEqual([{ name: 'audio_128k', bitrateKbps: 128, channels: 1, sampleRate: 48000 }]);
    expect(buildLadder(src(1280, 720, { channels: 6 })).audio.map((a) => a.channels)).toEqual([2]);
  });

  it('a silent source gets video-only renditions', () => {
    const ladder = buildLadder(src(1280, 720, { channels: null }));
    expect(ladder.audio).toEqual([]);
    expect(ladder.video.every((r) => r.audio === null)).toBe(true);
  });

  it('high frame rates get 1.5× the bitrate; the GOP is always 2 s of frames', () => {
    const hfr = buildLadder(src(1920, 1080, { fps: [60, 1] }));
    expect(hfr.video.at(-1)).toMatchObject({ videoKbps: 7500, maxrateKbps: 11250, bufsizeKbps: 15000 });
    expect(hfr.gopFrames).toBe(120);
    expect(buildLadder(src(1920, 1080, { fps: [30000, 1001] })).gopFrames).toBe(60);
    expect(buildLadder(src(1920, 1080, { fps: [5, 1] })).gopFrames).toBe(10);
    expect(buildLadder(src(1920, 1080, { fps: [30000, 1001] })).video.at(-1)?.videoKbps).toBe(5000);
  });
});

describe('chooseFrameRate', () => {
  it.each([
    [[30, 1], { num: 30, den: 1 }],
    [[30000, 1001], { num: 30000, den: 1001 }],
    [[60, 1], { num: 60, den: 1 }],
    [[120, 1], { num: 60, den: 1 }],
    [[100, 1], { num: 50, den: 1 }],
    [[120000, 1001], { num: 60000, den: 1001 }],
    [[240, 1], { num: 60, den: 1 }],
    [[50, 2], { num: 25, den: 1 }],
  ] as const)('%j → %j', ([num, den], expected) => {
    expect(chooseFrameRate({ num, den })).toEqual(expected);
  });

  it('defaults to 30 fps when the source states none', () => {
    expect(chooseFrameRate(null)).toEqual({ num: 30, den: 1 });
  });
});
