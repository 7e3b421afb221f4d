import type { Rational } from './probe.js';

/**
 * Chunked transcoding: where a long source is cut so that parallel encoders (Job pods) each encode a range of it
 * and the joined renditions have exactly the frames, keyframes and segment grid of the single-process path. Pure.
 *
 * Output frame g (after the `fps` filter) is presented at g / fps. The single process forces an IDR on the first
 * frame whose time reaches each multiple of the GOP (`expr:gte(t,n_forced*gop)`, evaluated on g · (den/num) in
 * doubles), and the HLS muxer cuts a segment at the first keyframe whose time reaches each multiple of the segment
 * length. A chunk therefore starts at such a frame: the first frame at or after a multiple of the segment length,
 * computed with the same double arithmetic, so that its IDR, and the segment that starts there, are where the
 * single process puts them.
 */

export interface ChunkPlanInput {
  /** Duration of the source (s). */
  durationSec: number;
  /** Output frame rate of the ladder. */
  frameRate: Rational;
  /** Output segment length (s), a multiple of `gopSec`. */
  segmentSec: number;
  gopSec: number;
  /** Presentation times (s, from the start of the source) of the source's video keyframes, ascending. */
  keyframes: readonly number[];
  /** Wanted chunk length (s). A source shorter than 1.5 × this is one chunk. */
  targetChunkSec: number;
}

export interface ChunkSpec {
  index: number;
  /** Source time where the chunk starts (s): a segment boundary. */
  startSec: number;
  /** First output frame of the chunk (global index). */
  startFrame: number;
  /** Frames the chunk encodes; null for the last chunk, which runs to the end of the source. */
  frameCount: number | null;
  /** IDR frames forced before the chunk (its start time / the GOP): offsets `n_forced` in its keyframe expression. */
  keyframesBefore: number;
  /** Whether a source keyframe sits at `startSec` (else decoding starts at the keyframe before it: slower, same result). */
  onSourceKeyframe: boolean;
}

/** Index of the first output frame presented at or after `sec`, the way ffmpeg compares `t` (doubles). */
export function firstFrameAtOrAfter(sec: number, frameRate: Rational): number {
  const tick = frameRate.den / frameRate.num;
  let g = Math.max(0, Math.floor(sec / tick) - 1);
  while (g * tick < sec) g++;
  return g;
}

/**
 * Cuts the source into chunks of about `targetChunkSec`: every cut is a multiple of `segmentSec` (so the segment grid
 * is the single path's) and, when one is within reach (between half and one and a half targets from the chunk's
 * start), one where the source has a keyframe (so the chunk's decoder starts there without decoding frames it
 * drops). The last chunk takes the rest; it is never shorter than half a target.
 */
export function planChunks(input: ChunkPlanInput): ChunkSpec[] {
  const { durationSec, frameRate, segmentSec, gopSec, keyframes, targetChunkSec } = input;
  if (!(durationSec > 0)) throw new Error(`durationSec must be positive, got ${durationSec}`);
  if (!(frameRate.num > 0 && frameRate.den > 0)) throw new Error('frameRate must be positive');
  if (!(gopSec > 0) || !(segmentSec > 0) || segmentSec % gopSec !== 0) {
    throw new Error(`segmentSec (${segmentSec}) must be a positive multiple of gopSec (${gopSec})`);
  }
  if (!(targetChunkSec >= segmentSec)) throw new Error(`targetChunkSec (${targetChunkSec}) must be at least one segment (${segmentSec} s)`);
  const halfFrame = frameRate.den / frameRate.num / 2;
  const sorted = [...keyframes].filter((k) => Number.isFinite(k)).sort((a, b) => a - b);
  const hasKeyframeAt = (sec: number) => {
    // Binary search for the keyframe nearest `sec`.
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = sorted[mid]!;
      if (Math.abs(k - sec) <= halfFrame) return true;
      if (k < sec) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  };

  const cuts: number[] = [0];
  for (;;) {
    const start = cuts.at(-1)!;
    // The rest is short enough to be the last chunk.
    if (durationSec - start < 1.5 * targetChunkSec) break;
    const lowest = Math.max(start + segmentSec, Math.ceil((start + targetChunkSec / 2) / segmentSec) * segmentSec);
    // The last chunk keeps at least half a target.
    const highest = Math.min(start + 1.5 * targetChunkSec, durationSec - targetChunkSec / 2);
    const candidates: number[] = [];
    for (let b = lowest; b <= highest + 1e-9; b += segmentSec) candidates.push(b);
    if (candidates.length === 0) break;
    const wanted = start + targetChunkSec;
    const byDistance = (a: number, b: number) => Math.abs(a - wanted) - Math.abs(b - wanted) || a - b;
    const aligned = candidates.filter(hasKeyframeAt).sort(byDistance);
    cuts.push(aligned[0] ?? [...candidates].sort(byDistance)[0]!);
  }

  return cuts.map((startSec, index) => {
    const startFrame = firstFrameAtOrAfter(startSec, frameRate);
    const next = cuts[index + 1];
    return {
      index,
      startSec,
      startFrame,
      frameCount: next === undefined ? null : firstFrameAtOrAfter(next, frameRate) - startFrame,
      keyframesBefore: Math.round(startSec / gopSec),
      onSourceKeyframe: startSec === 0 || hasKeyframeAt(startSec),
    };
  });
}

/**
 * Keyframe times from `ffprobe -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0` (packets flagged
 * `K`, read without decoding), relative to `startSec` (the file's start time, which `-ss` counts from). Pure.
 */
export function parseKeyframePackets(csv: string, startSec = 0): number[] {
  const times: number[] = [];
  for (const line of csv.split('\n')) {
    const [pts, flags] = line.trim().split(',');
    if (!flags?.includes('K')) continue;
    const t = Number(pts);
    if (pts !== '' && pts !== 'N/A' && Number.isFinite(t)) times.push(Math.max(0, t - startSec));
  }
  return times.sort((a, b) => a - b);
}
