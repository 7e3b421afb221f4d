import { isAbsolute, posix } from 'node:path';
import { formatRational, type Ladder } from './ladder.builder.js';
import type { MediaSource } from './probe.validator.js';

export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export interface PosterOptions {
  /** Where the frame is taken, as a fraction of the duration. Default 0.1. */
  atFraction?: number;
  /** Largest short side of the poster; it uses the biggest rendition not above this. Default 720. */
  maxShortSide?: number;
}

export interface StoryboardOptions {
  /** Seconds between two tiles. Default: duration / 100 rounded up, between 1 and 10. */
  intervalSec?: number;
  /** Long side of a tile; the short side follows the aspect ratio. Default 160 (160×90 for 16:9). */
  tileLongSide?: number;
  /** Grid of one sprite sheet. Default 10×10. */
  maxColumns?: number;
  maxRows?: number;
}

export interface TranscodeArgsOptions {
  /** libx264 preset. Default `veryfast`. */
  preset?: X264Preset;
  /** Segment length: 4 s (default) or 2 s, a multiple of the 2 s GOP. */
  segmentSec?: 2 | 4;
  /** Poster JPEG; `false` to skip. */
  poster?: PosterOptions | false;
  /** Storyboard sprite sheets with a WebVTT index; `false` to skip. */
  storyboard?: StoryboardOptions | false;
  /** libx264 `-threads`; default: ffmpeg's choice. */
  threads?: number;
}

export interface StoryboardLayout {
  dir: string;
  vtt: string;
  /** ffmpeg pattern of the single thumbnails the main run writes (`storyboard/thumb_%d.jpg`, from 0). */
  thumbPattern: string;
  /** ffmpeg pattern of the sheets the sprite pass writes (`storyboard/sprite_%d.jpg`, from 0). */
  spritePattern: string;
  intervalSec: number;
  tileWidth: number;
  tileHeight: number;
  /** Largest grid of one sheet; the real grid follows the number of thumbnails (see `storyboardGrid`). */
  maxColumns: number;
  maxRows: number;
  /** Tiles expected: one per interval. */
  tileCount: number;
}

/** Where everything goes, relative to the output directory (POSIX separators, as used in playlists). */
export interface OutputLayout {
  masterPlaylist: string;
  mpd: string;
  video: Array<{ name: string; dir: string; playlist: string }>;
  audio: Array<{ name: string; dir: string; playlist: string }>;
  segmentSec: number;
  poster: { path: string; width: number; height: number; atSec: number; frame: number } | null;
  storyboard: StoryboardLayout | null;
}

export interface TranscodePlan {
  args: string[];
  layout: OutputLayout;
}

/**
 * Builds the arguments of the ONE ffmpeg process that decodes the source once and writes:
 * - every rung of the ladder with libx264, IDR frames forced every 2 s on all rungs (`-g`/`-keyint_min` = 2 s,
 *   `-sc_threshold 0`, `-force_key_frames` by time), as fMP4 (CMAF) segments through the `hls` muxer: per rendition
 *   `<name>/init_<name>.mp4`, `<name>/seg_<n>.m4s` (n from 1) and `<name>/index.m3u8`;
 * - audio (AAC-LC) as ONE separate rendition `audio_<kbps>k/…` shared by every rung (CMAF keeps one track per file,
 *   which is what DASH players expect), or none when the source is silent;
 * - video and audio timestamps that start at 0 in the fMP4 fragments (no shift by the encoder delay);
 * - optionally a poster JPEG and storyboard thumbnails, from the same decoded frames.
 * Every output receives a frame right at the start (the poster output gets frame 0, then the poster frame which
 * overwrites it), because ffmpeg prints no `-progress` until all its outputs have started.
 * Afterwards: `buildSpriteArgs` tiles the thumbnails into sheets, and the master playlist and the MPD are written
 * from the media playlists (see hls/dash builders). Pure.
 */
export function buildTranscodeArgs(
  source: MediaSource,
  ladder: Ladder,
  input: string,
  outputDir: string,
  options: TranscodeArgsOptions = {},
): TranscodePlan {
  if (!isAbsolute(input)) throw new Error(`input must be an absolute path: ${input}`);
  if (!isAbsolute(outputDir)) throw new Error(`outputDir must be an absolute path: ${outputDir}`);
  // ffmpeg expands %d / %v in output names; a literal % in the directory would corrupt every path.
  if (outputDir.includes('%')) throw new Error(`outputDir must not contain '%': ${outputDir}`);
  const preset = options.preset ?? 'veryfast';
  const segmentSec = options.segmentSec ?? 4;
  if (segmentSec % ladder.gopSec !== 0 || segmentSec > 4) {
    throw new Error(`segmentSec must be a multiple of the ${ladder.gopSec} s GOP and at most 4`);
  }
  if (ladder.video.length === 0) throw new Error('the ladder has no video rendition');
  const out = (relative: string) => posix.join(outputDir, relative);

  const poster = options.poster === false ? null : planPoster(source, ladder, options.poster ?? {});
  const storyboard = options.storyboard === false ? null : planStoryboard(source, options.storyboard ?? {});

  // Filter graph: normalise to a constant frame rate and 8-bit 4:2:0 once, then split to every consumer.
  const branches = ladder.video.length + (poster ? 1 : 0) + (storyboard ? 1 : 0);
  const splitLabels = Array.from({ length: branches }, (_, i) => `[s${i}]`).join('');
  const graph = [
    `[0:${source.video.index}]fps=${formatRational(ladder.frameRate)},format=yuv420p,split=${branches}${splitLabels}`,
    ...ladder.video.map((r, i) => `[s${i}]scale=${r.width}:${r.height},setsar=1[v${i}]`),
  ];
  let branch = ladder.video.length;
  if (poster) {
    graph.push(`[s${branch++}]select='eq(n,0)+eq(n,${poster.frame})',scale=${poster.width}:${poster.height},setsar=1[poster]`);
  }
  if (storyboard) {
    graph.push(`[s${branch++}]fps=1/${storyboard.intervalSec},scale=${storyboard.tileWidth}:${storyboard.tileHeight},setsar=1[storyboard]`);
  }

  if (ladder.audio.length > 0) graph.push(`[0:${source.audio!.index}]${audioFilter(source, ladder)}[a0]`);

  const args: string[] = ['-y', '-i', `file:${input}`, '-filter_complex', graph.join(';')];

  // Output 1: the ladder, through the hls muxer.
  ladder.video.forEach((_, i) => args.push('-map', `[v${i}]`));
  if (ladder.audio.length > 0) args.push('-map', '[a0]');
  args.push('-map_metadata', '-1', '-map_chapters', '-1', '-fps_mode', 'passthrough');
  args.push(...videoEncoderArgs(ladder, preset, options.threads, 0));
  if (ladder.audio.length > 0) {
    args.push('-c:a', 'aac', '-ar', String(ladder.audio[0]!.sampleRate), '-ac', String(ladder.audio[0]!.channels));
    ladder.audio.forEach((a, i) => args.push(`-b:a:${i}`, `${a.bitrateKbps}k`));
  }
  args.push(
    ...hlsOutputArgs(
      outputDir,
      [...ladder.video.map((r, i) => ({ stream: `v:${i}`, name: r.name })), ...ladder.audio.map((a, i) => ({ stream: `a:${i}`, name: a.name }))],
      segmentSec,
    ),
  );

  // Output 2: poster (frame 0, then the poster frame written over it). passthrough: no duplicated frames.
  if (poster) {
    const frames = poster.frame === 0 ? '1' : '2';
    args.push('-map', '[poster]', '-map_metadata', '-1', '-fps_mode', 'passthrough', '-frames:v', frames, '-update', '1', '-q:v', '3');
    args.push(out(poster.path));
  }
  // Output 3: storyboard thumbnails, one per interval.
  if (storyboard) {
    args.push('-map', '[storyboard]', '-map_metadata', '-1', '-fps_mode', 'passthrough', '-q:v', '3', '-start_number', '0');
    args.push(out(storyboard.thumbPattern));
  }

  return { args, layout: buildOutputLayout(ladder, segmentSec, poster, storyboard) };
}

/** Samples per AAC-LC frame. */
export const AAC_FRAME_SAMPLES = 1024;

/**
 * Where the audio rendition stops (s, source time), so that it never outlasts the video: an audio track a few ms
 * longer than the video (AAC frame rounding, or a source whose audio runs on) made dash.js 5 and hls.js stop just
 * before the end, waiting for video that never comes. The video ends after its last whole frame; the audio keeps the
 * whole AAC frames that fit before that, counting the encoder's priming frame (its segments' durations include it,
 * and players add them up), so the audio's playlist and timeline end at or before the video's. Null without audio.
 * Pure.
 */
export function audioEndSec(source: Pick<MediaSource, 'durationSec' | 'video'>, ladder: Ladder): number | null {
  const audio = ladder.audio[0];
  if (!audio) return null;
  const fps = ladder.frameRate.num / ladder.frameRate.den;
  const videoSec = source.video.durationSec ?? source.durationSec;
  const videoEnd = Math.floor(videoSec * fps + 1e-6) / fps;
  const frames = Math.floor((videoEnd * audio.sampleRate) / AAC_FRAME_SAMPLES + 1e-9) - 1;
  return Math.max(1, frames) * (AAC_FRAME_SAMPLES / audio.sampleRate);
}

/**
 * The audio filter of the ladder's one audio rendition (single process and chunked path alike): resample to the
 * rendition's rate first, so that the cut is counted in output samples, then end it at `audioEndSec`. Pure.
 */
export function audioFilter(source: Pick<MediaSource, 'durationSec' | 'video'>, ladder: Ladder): string {
  const audio = ladder.audio[0];
  if (!audio) throw new Error('the ladder has no audio');
  return `aresample=${audio.sampleRate},atrim=end=${audioEndSec(source, ladder)!.toFixed(6)}`;
}

/**
 * libx264 for every rung: High profile, fixed GOP with IDR frames forced on the first frame at or after each
 * multiple of the GOP, per-rung ABR + VBV. `keyframesBefore` is how many of those IDR frames come before the first
 * frame this encoder sees (a chunk that starts at 12 s with a 2 s GOP: 6), so that a chunk forces them on exactly
 * the frames the single process does; its frames then carry their global timestamps. Pure.
 */
export function videoEncoderArgs(ladder: Ladder, preset: X264Preset, threads: number | undefined, keyframesBefore: number): string[] {
  const args = ['-c:v', 'libx264', '-preset', preset, '-profile:v', 'high', '-pix_fmt', 'yuv420p'];
  if (threads !== undefined) args.push('-threads', String(threads));
  const forced = keyframesBefore === 0 ? 'n_forced' : `(n_forced+${keyframesBefore})`;
  args.push(
    '-g',
    String(ladder.gopFrames),
    '-keyint_min',
    String(ladder.gopFrames),
    '-sc_threshold',
    '0',
    '-forced-idr',
    '1',
    '-force_key_frames',
    `expr:gte(t,${forced}*${ladder.gopSec})`,
  );
  ladder.video.forEach((r, i) => {
    args.push(`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${r.maxrateKbps}k`, `-bufsize:v:${i}`, `${r.bufsizeKbps}k`);
  });
  return args;
}

/** Where every output goes (see `OutputLayout`), for the given poster and storyboard plans. Pure. */
export function buildOutputLayout(
  ladder: Ladder,
  segmentSec: number,
  poster: OutputLayout['poster'],
  storyboard: OutputLayout['storyboard'],
): OutputLayout {
  const rendition = (name: string) => ({ name, dir: name, playlist: `${name}/index.m3u8` });
  return {
    masterPlaylist: 'master.m3u8',
    mpd: 'manifest.mpd',
    video: ladder.video.map((r) => rendition(r.name)),
    audio: ladder.audio.map((a) => rendition(a.name)),
    segmentSec,
    poster,
    storyboard,
  };
}

/**
 * The `hls` muxer's options, shared by the single process and the chunked path's audio and join runs, so that all
 * write the same CMAF layout: `<name>/init_<name>.mp4`, `<name>/seg_<n>.m4s` (n from 1), `<name>/index.m3u8`.
 * `variants` name the output streams in order (`v:0`, `a:0`). Pure.
 */
export function hlsOutputArgs(outputDir: string, variants: ReadonlyArray<{ stream: string; name: string }>, segmentSec: number): string[] {
  const out = (relative: string) => posix.join(outputDir, relative);
  return [
    '-f',
    'hls',
    // Every track starts at 0. x264's B-frame reordering gives the first frames negative DTS, which the muxer by
    // default "fixes" by shifting every track up by that delay: video then started at 0.067 s (30 fps) and audio at
    // its AAC priming offset. Keeping the negative timestamps and writing them as negative composition offsets
    // (trun version 1) puts the first video frame at tfdt 0 with pts 0; the audio's priming samples sit before 0
    // and its edit list trims them. Players that place fMP4 by tfdt (hls.js, dash.js) then see video and audio
    // start together.
    '-avoid_negative_ts',
    'disabled',
    '-hls_segment_options',
    'movflags=+negative_cts_offsets',
    '-hls_time',
    String(segmentSec),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_flags',
    'independent_segments',
    '-hls_fmp4_init_filename',
    // ffmpeg 5.1 expands %v in the init name only when there are several variant streams.
    variants.length === 1 ? `init_${variants[0]!.name}.mp4` : 'init_%v.mp4',
    '-start_number',
    '1',
    '-hls_segment_filename',
    out('%v/seg_%d.m4s'),
    '-var_stream_map',
    variants.map((v) => `${v.stream},name:${v.name}`).join(' '),
    out('%v/index.m3u8'),
  ];
}

export function planPoster(source: MediaSource, ladder: Ladder, options: PosterOptions): NonNullable<OutputLayout['poster']> {
  const { atFraction = 0.1, maxShortSide = 720 } = options;
  const candidates = ladder.video.filter((r) => Math.min(r.width, r.height) <= maxShortSide);
  const size = candidates.at(-1) ?? ladder.video[0]!;
  const fps = ladder.frameRate.num / ladder.frameRate.den;
  const lastFrame = Math.max(0, Math.floor(source.durationSec * fps) - 1);
  const frame = Math.min(lastFrame, Math.round(source.durationSec * atFraction * fps));
  return { path: 'poster.jpg', width: size.width, height: size.height, atSec: Math.round((frame / fps) * 1000) / 1000, frame };
}

/** Tile size, interval and grid of the storyboard. Pure; exported for tests. */
export function planStoryboard(
  source: Pick<MediaSource, 'durationSec' | 'video'>,
  options: StoryboardOptions = {},
): StoryboardLayout {
  const { tileLongSide = 160, maxColumns = 10, maxRows = 10 } = options;
  if (!(maxColumns >= 1 && maxRows >= 1)) throw new Error('storyboard grid must be at least 1×1');
  const intervalSec = options.intervalSec ?? Math.min(10, Math.max(1, Math.ceil(source.durationSec / 100)));
  if (!(intervalSec > 0)) throw new Error('storyboard intervalSec must be positive');
  const { width, height } = source.video;
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  const tileWidth = width >= height ? even(tileLongSide) : even((tileLongSide * width) / height);
  const tileHeight = width >= height ? even((tileLongSide * height) / width) : even(tileLongSide);
  const tileCount = Math.max(1, Math.ceil(source.durationSec / intervalSec - 1e-6));
  return {
    dir: 'storyboard',
    vtt: 'storyboard/index.vtt',
    thumbPattern: 'storyboard/thumb_%d.jpg',
    spritePattern: 'storyboard/sprite_%d.jpg',
    intervalSec,
    tileWidth,
    tileHeight,
    maxColumns,
    maxRows,
    tileCount,
  };
}

/** Grid of the sheets for `count` thumbnails: one row for a few, up to maxColumns × maxRows per sheet. */
export function storyboardGrid(count: number, maxColumns: number, maxRows: number): { columns: number; rows: number } {
  const columns = Math.max(1, Math.min(maxColumns, count));
  return { columns, rows: Math.max(1, Math.min(maxRows, Math.ceil(count / columns))) };
}

/**
 * Second, cheap pass: tiles the thumbnails of the main run into sprite sheets (`tile` emits a sheet every
 * columns × rows thumbnails and a last, partly filled one at the end). Pure.
 */
export function buildSpriteArgs(storyboard: StoryboardLayout, outputDir: string, grid: { columns: number; rows: number }): string[] {
  const out = (relative: string) => posix.join(outputDir, relative);
  return [
    '-y',
    '-framerate',
    '1',
    '-start_number',
    '0',
    '-i',
    out(storyboard.thumbPattern),
    '-vf',
    `tile=${grid.columns}x${grid.rows}`,
    '-fps_mode',
    'passthrough',
    '-q:v',
    '5',
    '-start_number',
    '0',
    out(storyboard.spritePattern),
  ];
}
