import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { buildMpd, type DashAudioRepresentation, type DashVideoRepresentation } from './dash.builder.js';
import { runFfmpeg, type FfmpegProgress, type FfmpegRunOptions } from './ffmpeg.runner.js';
import { AUDIO_GROUP_ID, buildMasterPlaylist, parseMediaPlaylist, type MediaPlaylist } from './hls.builder.js';
import { buildLadder, formatRational, type Ladder } from './ladder.builder.js';
import { noopLogger, type MediaLogger } from './logger.js';
import { InvalidMediaError } from './media.errors.js';
import { codecStrings } from './mp4.codecs.js';
import { probe, type ProbeResult } from './probe.js';
import { validateProbe, type MediaSource, type ValidationLimits } from './probe.validator.js';
import { buildStoryboardVtt } from './storyboard.builder.js';
import {
  buildSpriteArgs,
  buildTranscodeArgs,
  storyboardGrid,
  type TranscodeArgsOptions,
  type X264Preset,
} from './transcode-args.builder.js';

export interface TranscodeProgress extends FfmpegProgress {
  /** 0..1: output position over the source duration; 1 (with `done`) only once everything is written. */
  ratio: number;
}

export interface TranscodeOptions extends Omit<TranscodeArgsOptions, 'preset'> {
  /** The source file. */
  input: string;
  /** Where everything is written. Created if missing; must be empty. Emptied again when the transcode fails. */
  outputDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: TranscodeProgress) => void;
  /** libx264 preset. Default `veryfast`. */
  preset?: X264Preset;
  logger?: MediaLogger;
  ffmpegPath?: string;
  ffprobePath?: string;
  limits?: ValidationLimits;
  /** Reuse a probe the caller already made (with `countPackets` if truncation should be caught up front). */
  probeResult?: ProbeResult;
}

export interface RenditionManifest {
  name: string;
  width: number;
  height: number;
  /** HLS BANDWIDTH: peak segment bitrate of video plus its audio, bits/s. */
  bandwidth: number;
  averageBandwidth: number;
  /** Video and audio codecs (`avc1.64001f,mp4a.40.2`). */
  codecs: string;
  audio: string | null;
  playlist: string;
  init: string;
  segmentCount: number;
}

export interface AudioManifest {
  name: string;
  bitrateKbps: number;
  /** Peak segment bitrate of this track, bits/s. */
  bandwidth: number;
  codecs: string;
  channels: number;
  sampleRate: number;
  playlist: string;
  init: string;
  segmentCount: number;
}

export interface OutputFile {
  /** Relative to the output directory, `/`-separated (usable as an object key suffix). */
  path: string;
  bytes: number;
  contentType: string;
}

export interface TranscodeManifest {
  /** Duration of the encoded video (sum of its segments). */
  durationSec: number;
  source: MediaSource;
  frameRate: string;
  segmentSec: number;
  /** Master playlist and MPD, relative to the output directory. */
  hls: string;
  dash: string;
  /** Ascending by size. */
  renditions: RenditionManifest[];
  audio: AudioManifest[];
  poster: { path: string; width: number; height: number } | null;
  storyboard: {
    vtt: string;
    sprites: string[];
    intervalSec: number;
    tileWidth: number;
    tileHeight: number;
    columns: number;
    rows: number;
    tileCount: number;
  } | null;
  /** Every file written, sorted by path. */
  files: OutputFile[];
  elapsedMs: number;
  /** Source seconds encoded per wall-clock second. */
  speed: number;
}

/**
 * Source file → the whole ladder (HLS + DASH over shared CMAF segments), poster and storyboard, in `outputDir`.
 * Probes and validates first (`InvalidMediaError` for unusable input), runs ONE ffmpeg process, then reads the media
 * playlists and init segments it wrote to produce the master playlist, the MPD and the storyboard VTT with measured
 * bandwidths and exact codec strings.
 */
export async function transcode(options: TranscodeOptions): Promise<TranscodeManifest> {
  const logger = options.logger ?? noopLogger;
  const input = resolve(options.input);
  const outputDir = resolve(options.outputDir);
  const started = performance.now();

  const probed =
    options.probeResult ??
    (await probe(input, { countPackets: true, ffprobePath: options.ffprobePath, signal: options.signal, logger }));
  const source = validateProbe(probed, options.limits);
  const ladder = buildLadder(source);
  const plan = buildTranscodeArgs(source, ladder, input, outputDir, { ...options, preset: options.preset });

  await mkdir(outputDir, { recursive: true });
  if ((await readdir(outputDir)).length > 0) throw new Error(`outputDir is not empty: ${outputDir}`);

  try {
    if (plan.layout.storyboard) await mkdir(join(outputDir, plan.layout.storyboard.dir), { recursive: true });
    logger.info(
      {
        input,
        renditions: ladder.video.map((r) => `${r.width}x${r.height}@${r.videoKbps}k`),
        audio: ladder.audio.map((a) => a.name),
        frameRate: formatRational(ladder.frameRate),
        durationSec: source.durationSec,
      },
      'transcode starting',
    );
    const run = await runFfmpeg(plan.args, {
      ffmpegPath: options.ffmpegPath,
      signal: options.signal,
      logger,
      onProgress: (p) =>
        options.onProgress?.({
          ...p,
          done: false,
          ratio: Math.min(0.99, Math.max(0, (p.outTimeSec ?? 0) / source.durationSec)),
        }),
    });

    const manifest = await writeManifests(outputDir, source, ladder, plan.layout, run.stderrTail, logger, {
      ffmpegPath: options.ffmpegPath,
      signal: options.signal,
      logger,
    });
    const elapsedMs = Math.round(performance.now() - started);
    const result: TranscodeManifest = {
      ...manifest,
      files: await listFiles(outputDir),
      elapsedMs,
      speed: manifest.durationSec / Math.max(0.001, elapsedMs / 1000),
    };
    logger.info({ elapsedMs, speed: Number(result.speed.toFixed(2)), files: result.files.length }, 'transcode finished');
    if (run.lastProgress) options.onProgress?.({ ...run.lastProgress, done: true, ratio: 1 });
    return result;
  } catch (error) {
    await emptyDir(outputDir).catch((cleanupError: unknown) =>
      logger.warn({ err: cleanupError, outputDir }, 'could not clean the output directory'),
    );
    throw error;
  }
}

export type ManifestCore = Omit<TranscodeManifest, 'files' | 'elapsedMs' | 'speed'>;

export async function writeManifests(
  outputDir: string,
  source: MediaSource,
  ladder: Ladder,
  layout: ReturnType<typeof buildTranscodeArgs>['layout'],
  stderrTail: readonly string[],
  logger: MediaLogger,
  runOptions: FfmpegRunOptions,
): Promise<ManifestCore> {
  const readRendition = async (r: { name: string; dir: string; playlist: string }) => {
    const media = parseMediaPlaylist(await readFile(join(outputDir, r.playlist), 'utf8'));
    if (!media.initUri || media.segments.length === 0) {
      throw new Error(`ffmpeg wrote no segments for ${r.name}`);
    }
    const init = posix.join(r.dir, media.initUri);
    const codecs = codecStrings(await readFile(join(outputDir, init)));
    const stats = await segmentStats(outputDir, r.dir, media);
    return { name: r.name, dir: r.dir, playlist: r.playlist, media, init, codecs, ...stats };
  };
  const videos = await Promise.all(layout.video.map(readRendition));
  const audios = await Promise.all(layout.audio.map(readRendition));

  const durationSec = sum(videos[0]!.media.segments.map((s) => s.durationSec));
  const shortfall = source.durationSec - durationSec;
  if (shortfall > Math.max(1, source.durationSec * 0.05)) {
    const decodeErrors = stderrTail.filter((l) => /partial file|invalid data|error while decoding|corrupt|truncat/i.test(l));
    if (decodeErrors.length > 0) {
      throw new InvalidMediaError(
        'TRUNCATED',
        'The file is incomplete: the upload was cut off before the end of the video',
        `decoded ${durationSec.toFixed(2)} s of ${source.durationSec.toFixed(2)} s; ${decodeErrors.at(-1)}`,
      );
    }
    logger.warn({ expected: source.durationSec, encoded: durationSec }, 'encoded video is shorter than the source says');
  }

  const audioByName = new Map(audios.map((a) => [a.name, a]));
  const ladderAudio = new Map(ladder.audio.map((a) => [a.name, a]));
  const fps = ladder.frameRate.num / ladder.frameRate.den;

  const renditions: RenditionManifest[] = ladder.video.map((r, i) => {
    const v = videos[i]!;
    const a = r.audio ? audioByName.get(r.audio) : undefined;
    return {
      name: r.name,
      width: r.width,
      height: r.height,
      bandwidth: Math.round(v.peakBps + (a?.peakBps ?? 0)),
      averageBandwidth: Math.round(v.averageBps + (a?.averageBps ?? 0)),
      codecs: [...v.codecs, ...(a?.codecs ?? [])].join(','),
      audio: r.audio,
      playlist: v.playlist,
      init: v.init,
      segmentCount: v.media.segments.length,
    };
  });
  const audio: AudioManifest[] = audios.map((a) => {
    const spec = ladderAudio.get(a.name)!;
    return {
      name: a.name,
      bitrateKbps: spec.bitrateKbps,
      bandwidth: Math.round(a.peakBps),
      codecs: a.codecs.join(','),
      channels: spec.channels,
      sampleRate: spec.sampleRate,
      playlist: a.playlist,
      init: a.init,
      segmentCount: a.media.segments.length,
    };
  });

  // One audio group for every variant: a level switch never changes the audio (see buildMasterPlaylist).
  const master = buildMasterPlaylist({
    audio: audio.map((a) => ({
      groupId: AUDIO_GROUP_ID,
      name: `Audio ${a.bitrateKbps} kbps`,
      uri: a.playlist,
      channels: a.channels,
    })),
    variants: renditions.map((r) => ({
      uri: r.playlist,
      bandwidth: r.bandwidth,
      averageBandwidth: r.averageBandwidth,
      width: r.width,
      height: r.height,
      frameRate: fps,
      codecs: r.codecs,
      audioGroup: r.audio ? AUDIO_GROUP_ID : null,
    })),
  });
  await writeFile(join(outputDir, layout.masterPlaylist), master);

  const segmentsOf = (r: { dir: string; media: MediaPlaylist }) =>
    r.media.segments.map((s) => ({ uri: posix.join(r.dir, s.uri), durationSec: s.durationSec }));
  const allSegments = [...videos, ...audios].flatMap((r) => r.media.segments.map((s) => s.durationSec));
  const mpd = buildMpd({
    durationSec,
    maxSegmentSec: Math.max(layout.segmentSec, ...allSegments),
    video: videos.map(
      (v, i): DashVideoRepresentation => ({
        id: v.name,
        bandwidth: v.peakBps,
        codecs: v.codecs.join(','),
        initUri: v.init,
        segments: segmentsOf(v),
        width: ladder.video[i]!.width,
        height: ladder.video[i]!.height,
        frameRate: formatRational(ladder.frameRate),
      }),
    ),
    audio: audios.map(
      (a): DashAudioRepresentation => ({
        id: a.name,
        bandwidth: a.peakBps,
        codecs: a.codecs.join(','),
        initUri: a.init,
        segments: segmentsOf(a),
        channels: ladderAudio.get(a.name)!.channels,
        sampleRate: ladderAudio.get(a.name)!.sampleRate,
      }),
    ),
  });
  await writeFile(join(outputDir, layout.mpd), mpd);

  let storyboard: ManifestCore['storyboard'] = null;
  if (layout.storyboard) {
    const sb = layout.storyboard;
    const numbered = async (pattern: RegExp) =>
      (await readdir(join(outputDir, sb.dir)))
        .filter((f) => pattern.test(f))
        .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
    const thumbs = await numbered(/^thumb_\d+\.jpg$/);
    if (thumbs.length > 0) {
      // The fps filter can emit one thumbnail more than the intervals (a frame at exactly the end): index at most
      // one per interval that starts before the end.
      const tileCount = Math.min(thumbs.length, Math.max(1, Math.ceil(durationSec / sb.intervalSec - 1e-6)));
      const grid = storyboardGrid(thumbs.length, sb.maxColumns, sb.maxRows);
      await runFfmpeg(buildSpriteArgs(sb, outputDir, grid), runOptions);
      await Promise.all(thumbs.map((f) => rm(join(outputDir, sb.dir, f))));
      const sprites = await numbered(/^sprite_\d+\.jpg$/);
      await writeFile(
        join(outputDir, sb.vtt),
        buildStoryboardVtt({ ...sb, ...grid, tileCount, durationSec, sheetUri: (n) => `sprite_${n}.jpg` }),
      );
      storyboard = {
        vtt: sb.vtt,
        sprites: sprites.map((f) => posix.join(sb.dir, f)),
        intervalSec: sb.intervalSec,
        tileWidth: sb.tileWidth,
        tileHeight: sb.tileHeight,
        ...grid,
        tileCount,
      };
    } else {
      logger.warn({}, 'ffmpeg wrote no storyboard thumbnail');
    }
  }

  let poster: ManifestCore['poster'] = null;
  if (layout.poster) {
    const exists = await stat(join(outputDir, layout.poster.path)).then(
      (s) => s.size > 0,
      () => false,
    );
    if (exists) poster = { path: layout.poster.path, width: layout.poster.width, height: layout.poster.height };
    else logger.warn({}, 'ffmpeg wrote no poster');
  }

  return {
    durationSec,
    source,
    frameRate: formatRational(ladder.frameRate),
    segmentSec: layout.segmentSec,
    hls: layout.masterPlaylist,
    dash: layout.mpd,
    renditions,
    audio,
    poster,
    storyboard,
  };
}

/**
 * Peak and average bitrate of a media playlist's segments (init excluded). Peak as RFC 8216 §4.3.4.2 defines it:
 * the largest bitrate of any run of consecutive segments lasting 0.5 to 1.5 target durations.
 */
async function segmentStats(outputDir: string, dir: string, playlist: MediaPlaylist) {
  const sizes = await Promise.all(playlist.segments.map(async (s) => (await stat(join(outputDir, dir, s.uri))).size));
  return segmentBitrates(
    playlist.segments.map((s, i) => ({ bytes: sizes[i]!, durationSec: s.durationSec })),
    playlist.targetDurationSec,
  );
}

export function segmentBitrates(
  segments: ReadonlyArray<{ bytes: number; durationSec: number }>,
  targetDurationSec: number,
): { peakBps: number; averageBps: number } {
  const totalBytes = sum(segments.map((s) => s.bytes));
  const totalSec = sum(segments.map((s) => s.durationSec));
  const averageBps = (totalBytes * 8) / Math.max(totalSec, 0.001);
  let peakBps = 0;
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0;
    let sec = 0;
    for (let j = i; j < segments.length && sec < 1.5 * targetDurationSec; j++) {
      bytes += segments[j]!.bytes;
      sec += segments[j]!.durationSec;
      if (sec >= 0.5 * targetDurationSec && sec <= 1.5 * targetDurationSec) peakBps = Math.max(peakBps, (bytes * 8) / sec);
    }
  }
  // A playlist shorter than half a target duration has no qualifying run: its average is its peak.
  if (peakBps === 0) peakBps = averageBps;
  return { peakBps: Math.round(Math.max(peakBps, averageBps)), averageBps: Math.round(averageBps) };
}

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt',
};

/** Content type of a file this lib writes. */
export function mediaContentType(path: string): string {
  const ext = path.slice(path.lastIndexOf('.')).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

export async function listFiles(root: string): Promise<OutputFile[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: OutputFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const path = full.slice(root.length + 1).split('\\').join('/');
    files.push({ path, bytes: (await stat(full)).size, contentType: mediaContentType(path) });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function emptyDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.map((e) => rm(join(dir, e), { recursive: true, force: true })));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
