import { isAbsolute, posix } from 'node:path';
import type { ChunkSpec } from './chunk.planner.js';
import { formatRational, type Ladder } from './ladder.builder.js';
import type { MediaSource } from './probe.validator.js';
import { audioFilter, hlsOutputArgs, videoEncoderArgs, type OutputLayout, type X264Preset } from './transcode-args.builder.js';

/**
 * What every work unit of a chunked transcode needs, decided once by `planChunkedTranscode` and stored as JSON
 * (the plan a Job pod reads): the validated source, the ladder, the layout and the chunks.
 */
export interface ChunkedPlan {
  version: 1;
  source: MediaSource;
  ladder: Ladder;
  preset: X264Preset;
  segmentSec: 2 | 4;
  targetChunkSec: number;
  layout: OutputLayout;
  chunks: ChunkSpec[];
}

/** Names of what one chunk writes into its folder. */
export const CHUNK_VIDEO_FILE = 'video.mp4';

function checkDir(label: string, path: string): void {
  if (!isAbsolute(path)) throw new Error(`${label} must be an absolute path: ${path}`);
  if (path.includes('%')) throw new Error(`${label} must not contain '%': ${path}`);
}

/**
 * Arguments of the ffmpeg run of ONE chunk: the source from the chunk's start (input `-ss`: ffmpeg seeks to the
 * keyframe at or before it and drops the frames before it, so the first frame is the one at the start), the same
 * normalisation as the single process (`fps`, 8-bit 4:2:0), exactly `frameCount` frames (`trim`; the last chunk runs to
 * the end), timestamps moved to their global place (`setpts`: frame g at g / fps, so the forced keyframes are
 * evaluated on the same times), every rung with the same encoder settings into `video.mp4` (one track per rung);
 * plus the storyboard thumbnails of its range (`storyboard/thumb_<tick>.jpg`, numbered by their global tick with
 * `-frame_pts`) and the poster when its frame falls in the chunk. Pure.
 */
export function buildChunkArgs(plan: ChunkedPlan, index: number, input: string, outputDir: string, options: { threads?: number } = {}): string[] {
  checkDir('input', input);
  checkDir('outputDir', outputDir);
  const chunk = plan.chunks[index];
  if (!chunk || chunk.index !== index) throw new RangeError(`chunk ${index} does not exist (the plan has ${plan.chunks.length})`);
  const { ladder, source, layout } = plan;
  const out = (relative: string) => posix.join(outputDir, relative);
  const fps = ladder.frameRate.num / ladder.frameRate.den;

  const poster = layout.poster;
  const posterInChunk =
    poster !== null &&
    poster.frame >= chunk.startFrame &&
    (chunk.frameCount === null || poster.frame < chunk.startFrame + chunk.frameCount);
  const storyboard = layout.storyboard;

  const branches = ladder.video.length + (posterInChunk ? 1 : 0) + (storyboard ? 1 : 0);
  const head = [`fps=${formatRational(ladder.frameRate)}`, 'format=yuv420p'];
  if (chunk.frameCount !== null) head.push(`trim=end_frame=${chunk.frameCount}`);
  if (chunk.startFrame > 0) head.push(`setpts=PTS-STARTPTS+${chunk.startFrame}`);
  const splitLabels = Array.from({ length: branches }, (_, i) => `[s${i}]`).join('');
  const graph = [
    `[0:${source.video.index}]${head.join(',')},split=${branches}${splitLabels}`,
    ...ladder.video.map((r, i) => `[s${i}]scale=${r.width}:${r.height},setsar=1[v${i}]`),
  ];
  let branch = ladder.video.length;
  const local = posterInChunk ? poster.frame - chunk.startFrame : 0;
  if (posterInChunk) {
    graph.push(`[s${branch++}]select='eq(n,0)+eq(n,${local})',scale=${poster.width}:${poster.height},setsar=1[poster]`);
  }
  if (storyboard) {
    graph.push(`[s${branch++}]fps=1/${storyboard.intervalSec},scale=${storyboard.tileWidth}:${storyboard.tileHeight},setsar=1[storyboard]`);
  }

  const args = ['-y'];
  if (chunk.startSec > 0) args.push('-ss', String(chunk.startSec));
  // Read a little past the end: trim cuts the exact frame count.
  if (chunk.frameCount !== null) args.push('-t', String(Math.ceil(chunk.frameCount / fps) + 2));
  args.push('-i', `file:${input}`, '-filter_complex', graph.join(';'));

  ladder.video.forEach((_, i) => args.push('-map', `[v${i}]`));
  args.push('-map_metadata', '-1', '-map_chapters', '-1', '-fps_mode', 'passthrough');
  args.push(...videoEncoderArgs(ladder, plan.preset, options.threads, chunk.keyframesBefore));
  args.push('-f', 'mp4', out(CHUNK_VIDEO_FILE));

  if (posterInChunk) {
    const frames = local === 0 ? '1' : '2';
    args.push('-map', '[poster]', '-map_metadata', '-1', '-fps_mode', 'passthrough', '-frames:v', frames, '-update', '1', '-q:v', '3');
    args.push(out(poster.path));
  }
  if (storyboard) {
    args.push('-map', '[storyboard]', '-map_metadata', '-1', '-fps_mode', 'passthrough', '-q:v', '3', '-frame_pts', '1');
    args.push(out(storyboard.thumbPattern));
  }
  return args;
}

/**
 * Arguments of the audio work unit: the whole source's audio, encoded once (never cut at chunk joins, so it has no
 * gaps or clicks there) with the single process's encoder settings, and packaged as the ladder's audio rendition
 * (`audio_<kbps>k/…`) in `outputDir`. Throws for a silent source. Pure.
 */
export function buildAudioArgs(plan: ChunkedPlan, input: string, outputDir: string): string[] {
  checkDir('input', input);
  checkDir('outputDir', outputDir);
  const audio = plan.ladder.audio[0];
  if (!audio || !plan.source.audio) throw new Error('the source has no audio');
  return [
    '-y',
    '-i',
    `file:${input}`,
    '-filter_complex',
    `[0:${plan.source.audio.index}]${audioFilter(plan.source, plan.ladder)}[a0]`,
    '-map',
    '[a0]',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-c:a',
    'aac',
    '-ar',
    String(audio.sampleRate),
    '-ac',
    String(audio.channels),
    '-b:a:0',
    `${audio.bitrateKbps}k`,
    ...hlsOutputArgs(outputDir, [{ stream: 'a:0', name: audio.name }], plan.segmentSec),
  ];
}

/**
 * The concat demuxer's list of the chunks' `video.mp4` files (absolute paths). Each file but the last gets its exact
 * duration, so that the next one starts at its first frame's time: durations are differences of start times
 * rounded to microseconds (the list's resolution), so the rounding never accumulates. Pure.
 */
export function buildConcatList(plan: ChunkedPlan, files: readonly string[]): string {
  if (files.length !== plan.chunks.length) throw new Error(`${plan.chunks.length} chunk files expected, got ${files.length}`);
  const { num, den } = plan.ladder.frameRate;
  const startUs = (frame: number) => Math.round((frame * den * 1e6) / num);
  const lines = ['ffconcat version 1.0'];
  plan.chunks.forEach((chunk, i) => {
    const file = files[i]!;
    if (!isAbsolute(file)) throw new Error(`chunk files must be absolute paths: ${file}`);
    lines.push(`file '${file.replaceAll("'", "'\\''")}'`);
    if (chunk.frameCount !== null) {
      const us = startUs(chunk.startFrame + chunk.frameCount) - startUs(chunk.startFrame);
      lines.push(`duration ${(us / 1e6).toFixed(6)}`);
    }
  });
  return lines.join('\n') + '\n';
}

/**
 * Arguments of the join: the chunks' tracks concatenated (`-c copy`, nothing re-encoded) and packaged by the same
 * `hls` muxer settings as the single process, one variant per rung. Pure.
 */
export function buildJoinArgs(plan: ChunkedPlan, concatList: string, outputDir: string): string[] {
  checkDir('outputDir', outputDir);
  const args = ['-y', '-f', 'concat', '-safe', '0', '-i', `file:${concatList}`];
  plan.ladder.video.forEach((_, i) => args.push('-map', `0:v:${i}`));
  args.push('-map_metadata', '-1', '-map_chapters', '-1', '-c', 'copy');
  args.push(...hlsOutputArgs(outputDir, plan.ladder.video.map((r, i) => ({ stream: `v:${i}`, name: r.name })), plan.segmentSec));
  return args;
}
