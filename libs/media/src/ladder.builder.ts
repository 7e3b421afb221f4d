import type { MediaSource } from './probe.validator.js';
import type { Rational } from './probe.js';

/** Rungs of the ladder, named by their short side (the height of a landscape video). */
export const LADDER_RUNGS = [144, 240, 360, 480, 720, 1080, 2160] as const;

export interface BitrateRow {
  rung: number;
  /** Target average video bitrate (x264 ABR with VBV). */
  videoKbps: number;
  /** VBV ceiling: 1.5 × target. */
  maxrateKbps: number;
  /** VBV buffer: 2 × target (≈ 1.3 s at maxrate), keeps segment peaks near maxrate. */
  bufsizeKbps: number;
}

/**
 * H.264 (High profile) bitrates for up to 30 fps. Sources above 30 fps (48, 50, 60) get `HIGH_FRAME_RATE_FACTOR`
 * times these video numbers. Portrait videos use the row of their short side, so a 720×1280 video gets the 720 row:
 * same pixel count as 1280×720, same bitrate.
 */
export const BITRATE_TABLE: readonly BitrateRow[] = [
  { rung: 144, videoKbps: 150, maxrateKbps: 225, bufsizeKbps: 300 },
  { rung: 240, videoKbps: 300, maxrateKbps: 450, bufsizeKbps: 600 },
  { rung: 360, videoKbps: 650, maxrateKbps: 975, bufsizeKbps: 1300 },
  { rung: 480, videoKbps: 1200, maxrateKbps: 1800, bufsizeKbps: 2400 },
  { rung: 720, videoKbps: 2500, maxrateKbps: 3750, bufsizeKbps: 5000 },
  { rung: 1080, videoKbps: 5000, maxrateKbps: 7500, bufsizeKbps: 10000 },
  { rung: 2160, videoKbps: 16000, maxrateKbps: 24000, bufsizeKbps: 32000 },
];

export const HIGH_FRAME_RATE_FACTOR = 1.5;

/**
 * AAC-LC bitrate of the ONE audio rendition every rung shares. One audio group, not a cheaper audio for low rungs:
 * with two groups an HLS level switch is also an audio-group switch, which hls.js (1.7) cannot always finish before
 * the buffer runs dry (playback stalled at the last segment when forced from 144p to 720p). 128 kbps is transparent
 * enough for stereo AAC-LC and small next to even the 144p video at the low end of a mobile connection.
 */
export const AUDIO_KBPS = 128;

/** Output frame rates above this are halved (120 → 60, 100 → 50). */
export const MAX_FRAME_RATE = 60;
/** Used when the source states no usable frame rate. */
export const DEFAULT_FRAME_RATE: Rational = { num: 30, den: 1 };
/** Fixed GOP: every rung gets an IDR frame every 2 s, so segment boundaries line up across rungs. */
export const GOP_SEC = 2;

export interface VideoRendition {
  /** Directory and label: `720p`. */
  name: string;
  /** The rung (short side) this rendition stands for. */
  rung: number;
  width: number;
  height: number;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
  /** Name of the audio rendition played with it (the same for every rung), null for a silent source. */
  audio: string | null;
}

export interface AudioRendition {
  /** Directory and label: `audio_128k`. */
  name: string;
  bitrateKbps: number;
  channels: number;
  sampleRate: number;
}

export interface Ladder {
  /** Output frame rate of every rung (constant). */
  frameRate: Rational;
  gopSec: number;
  /** GOP in frames at `frameRate` (`-g`, `-keyint_min`). */
  gopFrames: number;
  /** Ascending by size. */
  video: VideoRendition[];
  /** The one audio rendition shared by every rung; empty when the source has no audio. */
  audio: AudioRendition[];
}

export type LadderSource = Pick<MediaSource, 'video' | 'audio'>;

/**
 * The renditions to produce for a source. Pure.
 *
 * - A rung is used when it is not above the source's SHORT side (landscape: height; portrait: width), so nothing is
 *   upscaled and a 1080×1920 phone video gets 144p…1080p just like a 1920×1080 one; the long side follows the
 *   aspect ratio, rounded to an even number (H.264 with 4:2:0 needs even sizes).
 * - A source smaller than 144p gets one rendition at its own (even) size.
 * - Audio: one AAC-LC rendition (`AUDIO_KBPS`) shared by every rung; stereo at most (mono stays mono), 48 kHz.
 */
export function buildLadder(source: LadderSource): Ladder {
  const { width, height } = source.video;
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const portrait = height > width;
  const frameRate = chooseFrameRate(source.video.frameRate);
  const fps = frameRate.num / frameRate.den;
  const factor = fps > 30.5 ? HIGH_FRAME_RATE_FACTOR : 1;

  const rungs: Array<{ rung: number; shortSide: number; row: BitrateRow }> = BITRATE_TABLE.filter((row) => row.rung <= short).map(
    (row) => ({ rung: row.rung, shortSide: row.rung, row }),
  );
  if (rungs.length === 0) {
    const shortSide = Math.max(2, floorEven(short));
    rungs.push({ rung: shortSide, shortSide, row: BITRATE_TABLE[0]! });
  }

  const audio: AudioRendition[] = source.audio
    ? [
        {
          name: audioRenditionName(AUDIO_KBPS),
          bitrateKbps: AUDIO_KBPS,
          channels: Math.min(2, Math.max(1, source.audio.channels)),
          sampleRate: 48000,
        },
      ]
    : [];
  const audioName = audio[0]?.name ?? null;

  const video = rungs.map(({ rung, shortSide, row }) => {
    const longSide = Math.max(shortSide, Math.min(roundEven((shortSide * long) / short), floorEven(long)));
    return {
      name: `${rung}p`,
      rung,
      width: portrait ? shortSide : longSide,
      height: portrait ? longSide : shortSide,
      videoKbps: Math.round(row.videoKbps * factor),
      maxrateKbps: Math.round(row.maxrateKbps * factor),
      bufsizeKbps: Math.round(row.bufsizeKbps * factor),
      audio: audioName,
    } satisfies VideoRendition;
  });

  return { frameRate, gopSec: GOP_SEC, gopFrames: Math.max(1, Math.round(GOP_SEC * fps)), video, audio };
}

/** The source's rate, divided by the smallest whole number that brings it to 60 fps or below. */
export function chooseFrameRate(rate: Rational | null): Rational {
  if (!rate || !(rate.num > 0 && rate.den > 0)) return DEFAULT_FRAME_RATE;
  const divisor = Math.max(1, Math.ceil(rate.num / rate.den / MAX_FRAME_RATE - 1e-9));
  return reduce({ num: rate.num, den: rate.den * divisor });
}

function audioRenditionName(kbps: number): string {
  return `audio_${kbps}k`;
}

function roundEven(n: number): number {
  return Math.max(2, 2 * Math.round(n / 2));
}

function floorEven(n: number): number {
  return 2 * Math.floor(n / 2);
}

function reduce({ num, den }: Rational): Rational {
  if (!Number.isInteger(num) || !Number.isInteger(den)) return { num, den };
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function formatRational({ num, den }: Rational): string {
  return den === 1 ? String(num) : `${num}/${den}`;
}
