// Chunked transcoding: plan (probe + cuts), encode one chunk, encode the audio, join. Each step reads and writes
// plain folders, so a caller can run them in one process or each in its own (a Kubernetes Job pod), moving the
// folders through storage in between.
import { copyFile, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  buildAudioArgs,
  buildChunkArgs,
  buildConcatList,
  buildJoinArgs,
  CHUNK_VIDEO_FILE,
  type ChunkedPlan,
} from './chunk-args.builder.js';
import { parseKeyframePackets, planChunks } from './chunk.planner.js';
import { runFfmpeg, runTool, type FfmpegProgress, type ToolRunOptions } from './ffmpeg.runner.js';
import { buildLadder, formatRational } from './ladder.builder.js';
import { noopLogger, type MediaLogger } from './logger.js';
import { probe, type ProbeResult } from './probe.js';
import { validateProbe, type ValidationLimits } from './probe.validator.js';
import { buildOutputLayout, planPoster, planStoryboard, type PosterOptions, type StoryboardOptions, type X264Preset } from './transcode-args.builder.js';
import { emptyDir, listFiles, writeManifests, type TranscodeManifest } from './transcode.js';

/** A chunk index the plan does not have. */
export class ChunkIndexError extends RangeError {
  override readonly name = 'ChunkIndexError';
}

/** A chunk's output that is not what the plan promised (missing, wrong frame count). */
export class ChunkOutputError extends Error {
  override readonly name = 'ChunkOutputError';
}

interface ToolPaths {
  ffmpegPath?: string;
  ffprobePath?: string;
  signal?: AbortSignal;
  logger?: MediaLogger;
}

/** Presentation times (s, from the file's start) of the video keyframes: packet flags, no decoding. */
export async function probeKeyframes(file: string, options: ToolPaths & { startSec?: number } = {}): Promise<number[]> {
  const run: ToolRunOptions = { signal: options.signal, logger: options.logger };
  const { stdout } = await runTool(
    options.ffprobePath ?? 'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', `file:${resolve(file)}`],
    run,
  );
  return parseKeyframePackets(stdout, options.startSec ?? 0);
}

export interface PlanChunkedOptions extends ToolPaths {
  input: string;
  /** Wanted chunk length (s). Default 60. */
  targetChunkSec?: number;
  preset?: X264Preset;
  segmentSec?: 2 | 4;
  limits?: ValidationLimits;
  poster?: PosterOptions | false;
  storyboard?: StoryboardOptions | false;
  /** Reuse a probe (made with `countPackets`). */
  probeResult?: ProbeResult;
  /** Reuse the keyframe times (s from the start). */
  keyframes?: number[];
}

/**
 * Probes and validates the source (`InvalidMediaError` as in `transcode`), reads its keyframes and cuts it
 * (`planChunks`). The result is plain JSON: store it and hand it to every other step.
 */
export async function planChunkedTranscode(options: PlanChunkedOptions): Promise<ChunkedPlan> {
  const input = resolve(options.input);
  const logger = options.logger ?? noopLogger;
  const probed = options.probeResult ?? (await probe(input, { countPackets: true, ffprobePath: options.ffprobePath, signal: options.signal, logger }));
  const source = validateProbe(probed, options.limits);
  const ladder = buildLadder(source);
  const segmentSec = options.segmentSec ?? 4;
  if (segmentSec % ladder.gopSec !== 0) throw new Error(`segmentSec must be a multiple of the ${ladder.gopSec} s GOP`);
  const keyframes =
    options.keyframes ?? (await probeKeyframes(input, { ...options, startSec: probed.startTimeSec ?? 0 }));
  const targetChunkSec = options.targetChunkSec ?? 60;
  const chunks = planChunks({ durationSec: source.durationSec, frameRate: ladder.frameRate, segmentSec, gopSec: ladder.gopSec, keyframes, targetChunkSec });
  const poster = options.poster === false ? null : planPoster(source, ladder, options.poster ?? {});
  const storyboard = options.storyboard === false ? null : planStoryboard(source, options.storyboard ?? {});
  logger.info(
    { chunks: chunks.length, targetChunkSec, durationSec: source.durationSec, frameRate: formatRational(ladder.frameRate), keyframes: keyframes.length },
    'chunked transcode planned',
  );
  return {
    version: 1,
    source,
    ladder,
    preset: options.preset ?? 'veryfast',
    segmentSec,
    targetChunkSec,
    layout: buildOutputLayout(ladder, segmentSec, poster, storyboard),
    chunks,
  };
}

/** Throws ChunkIndexError unless `index` names a chunk of the plan. */
export function checkChunkIndex(plan: ChunkedPlan, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= plan.chunks.length) {
    throw new ChunkIndexError(`chunk index ${index} is out of range: the plan has ${plan.chunks.length} chunk(s), 0 to ${plan.chunks.length - 1}`);
  }
}

export interface EncodeChunkOptions extends ToolPaths {
  input: string;
  plan: ChunkedPlan;
  index: number;
  /** Created if missing, must be empty: receives `video.mp4`, `storyboard/thumb_<n>.jpg`, maybe `poster.jpg`. */
  outputDir: string;
  threads?: number;
  onProgress?: (progress: FfmpegProgress & { ratio: number }) => void;
}

export interface ChunkResult {
  index: number;
  /** Files written, relative to the output folder. */
  files: string[];
  frames: number;
  elapsedMs: number;
}

/** Encodes every rung of one chunk (see `buildChunkArgs`) and checks its frame count. */
export async function encodeChunk(options: EncodeChunkOptions): Promise<ChunkResult> {
  const { plan, index } = options;
  checkChunkIndex(plan, index);
  const input = resolve(options.input);
  await stat(input); // ENOENT before ffmpeg says something vaguer
  const outputDir = resolve(options.outputDir);
  await prepareEmpty(outputDir);
  const chunk = plan.chunks[index]!;
  const started = performance.now();
  try {
    if (plan.layout.storyboard) await mkdir(join(outputDir, plan.layout.storyboard.dir), { recursive: true });
    const fps = plan.ladder.frameRate.num / plan.ladder.frameRate.den;
    const expectedSec = chunk.frameCount !== null ? chunk.frameCount / fps : Math.max(0.001, plan.source.durationSec - chunk.startSec);
    await runFfmpeg(buildChunkArgs(plan, index, input, outputDir, { threads: options.threads }), {
      ffmpegPath: options.ffmpegPath,
      signal: options.signal,
      logger: options.logger,
      onProgress: (p) => options.onProgress?.({ ...p, ratio: Math.min(0.99, Math.max(0, ((p.outTimeSec ?? chunk.startSec) - chunk.startSec) / expectedSec)) }),
    });
    const frames = await checkChunkOutput(plan, index, join(outputDir, CHUNK_VIDEO_FILE), options);
    const files = (await listFiles(outputDir)).map((f) => f.path);
    return { index, files, frames, elapsedMs: Math.round(performance.now() - started) };
  } catch (error) {
    await emptyDir(outputDir).catch(() => {});
    throw error;
  }
}

export interface EncodeAudioOptions extends ToolPaths {
  input: string;
  plan: ChunkedPlan;
  /** Created if missing, must be empty: receives the audio rendition's folder (`audio_128k/…`). */
  outputDir: string;
}

/** Encodes and packages the audio of the whole source; null (nothing written) for a silent source. */
export async function encodeAudio(options: EncodeAudioOptions): Promise<{ files: string[]; elapsedMs: number } | null> {
  if (options.plan.ladder.audio.length === 0) return null;
  const input = resolve(options.input);
  await stat(input);
  const outputDir = resolve(options.outputDir);
  await prepareEmpty(outputDir);
  const started = performance.now();
  try {
    await runFfmpeg(buildAudioArgs(options.plan, input, outputDir), { ffmpegPath: options.ffmpegPath, signal: options.signal, logger: options.logger });
    return { files: (await listFiles(outputDir)).map((f) => f.path), elapsedMs: Math.round(performance.now() - started) };
  } catch (error) {
    await emptyDir(outputDir).catch(() => {});
    throw error;
  }
}

export interface JoinChunksOptions extends ToolPaths {
  plan: ChunkedPlan;
  /** The output folder of every chunk, in chunk order. */
  chunkDirs: readonly string[];
  /** The audio unit's output folder (null for a silent source). */
  audioDir: string | null;
  /** Created if missing, must be empty: receives exactly what `transcode()` writes. Emptied again on failure. */
  outputDir: string;
}

/**
 * Assembles the ladder from the chunks and the audio: the chunks' tracks are concatenated without re-encoding and
 * packaged by the single process's `hls` settings (same segment grid, numbering, init segments, continuous
 * `tfdt`), the audio rendition, thumbnails and poster are copied in, then the master playlist, MPD and storyboard are
 * written as `transcode()` writes them. Returns the same manifest.
 */
export async function joinChunks(options: JoinChunksOptions): Promise<TranscodeManifest> {
  const { plan } = options;
  const logger = options.logger ?? noopLogger;
  const outputDir = resolve(options.outputDir);
  const started = performance.now();
  if (options.chunkDirs.length !== plan.chunks.length) {
    throw new ChunkOutputError(`the plan has ${plan.chunks.length} chunk(s), ${options.chunkDirs.length} given`);
  }
  if (plan.ladder.audio.length > 0 && !options.audioDir) throw new ChunkOutputError('the source has audio but no audio output was given');
  const chunkFiles = options.chunkDirs.map((d) => join(resolve(d), CHUNK_VIDEO_FILE));
  // Every chunk complete, in its place, with the frames the plan gave it (the last one: whatever the source had left).
  let frames = 0;
  for (const [i, file] of chunkFiles.entries()) {
    if (!(await stat(file).then((st) => st.isFile(), () => false))) throw new ChunkOutputError(`chunk ${i} output is missing (${file})`);
    frames += await checkChunkOutput(plan, i, file, options);
  }

  await prepareEmpty(outputDir);
  const scratch = await mkdtemp(join(tmpdir(), 'kinora-join-'));
  try {
    const list = join(scratch, 'chunks.ffconcat');
    await writeFile(list, buildConcatList(plan, chunkFiles));
    await runFfmpeg(buildJoinArgs(plan, list, outputDir), { ffmpegPath: options.ffmpegPath, signal: options.signal, logger });

    if (options.audioDir) {
      for (const a of plan.layout.audio) await cp(join(resolve(options.audioDir), a.dir), join(outputDir, a.dir), { recursive: true });
    }
    const { storyboard, poster } = plan.layout;
    if (storyboard) {
      await mkdir(join(outputDir, storyboard.dir), { recursive: true });
      for (const dir of options.chunkDirs) {
        const from = join(resolve(dir), storyboard.dir);
        const thumbs = (await readdir(from).catch(() => [] as string[])).filter((f) => /^thumb_\d+\.jpg$/.test(f));
        // A thumbnail on a join can come from both neighbours: they show the same frame.
        for (const f of thumbs) await copyFile(join(from, f), join(outputDir, storyboard.dir, f));
      }
    }
    if (poster) {
      for (const dir of options.chunkDirs) {
        const from = join(resolve(dir), poster.path);
        if (await stat(from).then((s) => s.size > 0, () => false)) await copyFile(from, join(outputDir, poster.path));
      }
    }
    const manifest = await writeManifests(outputDir, plan.source, plan.ladder, plan.layout, [], logger, {
      ffmpegPath: options.ffmpegPath,
      signal: options.signal,
      logger,
    });
    const elapsedMs = Math.round(performance.now() - started);
    logger.info({ chunks: plan.chunks.length, frames, durationSec: manifest.durationSec, elapsedMs }, 'chunks joined');
    return { ...manifest, files: await listFiles(outputDir), elapsedMs, speed: manifest.durationSec / Math.max(0.001, elapsedMs / 1000) };
  } catch (error) {
    await emptyDir(outputDir).catch(() => {});
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Frames and start time (s, the first frame's global time) of every video track of a chunk's mp4 (from its index);
 * throws unless all tracks agree.
 */
async function probeChunk(file: string, tracks: number, options: ToolPaths): Promise<{ frames: number; startSec: number }> {
  const { stdout } = await runTool(
    options.ffprobePath ?? 'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=nb_frames,start_time', '-of', 'csv=p=0', `file:${file}`],
    { signal: options.signal, logger: options.logger },
  );
  const rows = stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(',').map(Number));
  const starts = rows.map((r) => r[0]!);
  const counts = rows.map((r) => r[1]!);
  if (rows.length !== tracks || counts.some((c) => !Number.isInteger(c)) || starts.some((t) => !Number.isFinite(t))) {
    throw new ChunkOutputError(`${file}: ${rows.length} video track(s) (${stdout.trim().replace(/\n/g, '; ')}), ${tracks} expected`);
  }
  if (new Set(counts).size !== 1) throw new ChunkOutputError(`${file}: the rungs have different frame counts [${counts.join(', ')}]`);
  return { frames: counts[0]!, startSec: Math.min(...starts) };
}

/** Checks a chunk's output against the plan: its frame count (all but the last) and where its first frame is. */
async function checkChunkOutput(plan: ChunkedPlan, index: number, file: string, options: ToolPaths): Promise<number> {
  const chunk = plan.chunks[index]!;
  const { frames, startSec } = await probeChunk(file, plan.ladder.video.length, options);
  if (chunk.frameCount !== null && frames !== chunk.frameCount) {
    throw new ChunkOutputError(`chunk ${index} has ${frames} frames, the plan says ${chunk.frameCount}`);
  }
  const { num, den } = plan.ladder.frameRate;
  const expected = (chunk.startFrame * den) / num;
  if (Math.abs(startSec - expected) > den / num / 2) {
    throw new ChunkOutputError(`chunk ${index} starts at ${startSec} s, the plan says ${expected.toFixed(6)} s (another chunk's output?)`);
  }
  return frames;
}

async function prepareEmpty(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`outputDir is not empty: ${dir}`);
}
