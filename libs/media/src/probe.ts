import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runTool, type ToolRunOptions } from './ffmpeg.runner.js';
import { FfmpegError, InvalidMediaError } from './media.errors.js';

export interface Rational {
  num: number;
  den: number;
}

interface ProbeStreamBase {
  index: number;
  codecName: string | null;
  durationSec: number | null;
  bitRate: number | null;
  /** Frame/sample count declared by the container (mp4/mov declare it; many formats do not). */
  nbFrames: number | null;
  /** Packets actually read (only with `countPackets`). */
  nbReadPackets: number | null;
}

export interface ProbeVideoStream extends ProbeStreamBase {
  codecType: 'video';
  /** Coded size in pixels. */
  width: number;
  height: number;
  /** Size as displayed: sample aspect ratio applied, then rotation (phones record portrait as rotated landscape). */
  displayWidth: number;
  displayHeight: number;
  rotation: 0 | 90 | 180 | 270;
  avgFrameRate: Rational | null;
  rFrameRate: Rational | null;
  pixFmt: string | null;
  /** Cover art in audio files and similar still pictures attached to a container. */
  attachedPic: boolean;
}

export interface ProbeAudioStream extends ProbeStreamBase {
  codecType: 'audio';
  channels: number;
  sampleRate: number;
}

export interface ProbeOtherStream extends ProbeStreamBase {
  codecType: 'subtitle' | 'data' | 'attachment' | 'unknown';
}

export type ProbeStream = ProbeVideoStream | ProbeAudioStream | ProbeOtherStream;

export interface ProbeResult {
  formatName: string;
  formatLongName: string | null;
  durationSec: number | null;
  startTimeSec: number | null;
  sizeBytes: number | null;
  bitRate: number | null;
  streams: ProbeStream[];
}

export interface ProbeOptions extends ToolRunOptions {
  /** Executable; default `ffprobe` from PATH. */
  ffprobePath?: string;
  /**
   * Also read every packet (`-count_packets`, no decoding) so that a container whose header promises more frames
   * than the file holds (a truncated upload with its index at the front) is recognised. Costs one read of the file.
   */
  countPackets?: boolean;
}

/**
 * `ffprobe -print_format json -show_format -show_streams` → a typed ProbeResult.
 * A file ffprobe cannot read at all (random bytes, a truncated mp4 without its index) throws `InvalidMediaError`
 * (`UNREADABLE`, or `EMPTY_FILE`); a missing file throws the usual ENOENT error; a missing ffprobe throws
 * `FfmpegNotFoundError`. Judging whether a readable file is a usable video is `validateProbe`'s job.
 */
export async function probe(file: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const path = resolve(file);
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a regular file`);
  if (info.size === 0) throw new InvalidMediaError('EMPTY_FILE', 'The file is empty');

  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];
  if (options.countPackets) args.push('-count_packets');
  // `file:` keeps ffprobe from reading a protocol or option out of an unusual file name.
  args.push(`file:${path}`);
  let stdout: string;
  try {
    ({ stdout } = await runTool(options.ffprobePath ?? 'ffprobe', args, options));
  } catch (error) {
    // ffprobe exits 1 with "Invalid data found when processing input" (and similar) for files it cannot parse.
    if (error instanceof FfmpegError && error.exitCode === 1) {
      throw new InvalidMediaError(
        'UNREADABLE',
        'The file is not a video that can be read: it is damaged, incomplete or not a media file',
        error.stderrTail.join(' | '),
      );
    }
    throw error;
  }
  return parseProbeJson(stdout);
}

/** Maps ffprobe's JSON (as text or parsed) to a ProbeResult. Pure; exported for tests. */
export function parseProbeJson(json: string | unknown): ProbeResult {
  const raw = (typeof json === 'string' ? JSON.parse(json) : json) as FfprobeJson;
  const format = raw.format ?? {};
  return {
    formatName: format.format_name ?? 'unknown',
    formatLongName: format.format_long_name ?? null,
    durationSec: positiveOrZero(format.duration),
    startTimeSec: finite(format.start_time),
    sizeBytes: positiveOrZero(format.size),
    bitRate: positiveOrZero(format.bit_rate),
    streams: (raw.streams ?? []).map(toStream),
  };
}

function toStream(s: FfprobeStream): ProbeStream {
  const base: ProbeStreamBase = {
    index: s.index ?? 0,
    codecName: s.codec_name && s.codec_name !== 'none' && s.codec_name !== 'unknown' ? s.codec_name : null,
    durationSec: positiveOrZero(s.duration),
    bitRate: positiveOrZero(s.bit_rate),
    nbFrames: positiveOrZero(s.nb_frames),
    nbReadPackets: positiveOrZero(s.nb_read_packets),
  };
  if (s.codec_type === 'video') {
    const width = s.width ?? 0;
    const height = s.height ?? 0;
    const rotation = rotationOf(s);
    const sar = rational(s.sample_aspect_ratio, ':');
    let displayWidth = width;
    const displayHeight = height;
    if (sar && sar.num > 0 && sar.den > 0 && sar.num !== sar.den) displayWidth = Math.round((width * sar.num) / sar.den);
    const swap = rotation === 90 || rotation === 270;
    return {
      ...base,
      codecType: 'video',
      width,
      height,
      displayWidth: swap ? displayHeight : displayWidth,
      displayHeight: swap ? displayWidth : displayHeight,
      rotation,
      avgFrameRate: rational(s.avg_frame_rate, '/'),
      rFrameRate: rational(s.r_frame_rate, '/'),
      pixFmt: s.pix_fmt ?? null,
      attachedPic: s.disposition?.attached_pic === 1,
    };
  }
  if (s.codec_type === 'audio') {
    return { ...base, codecType: 'audio', channels: s.channels ?? 0, sampleRate: Number(s.sample_rate ?? 0) || 0 };
  }
  const codecType = s.codec_type === 'subtitle' || s.codec_type === 'data' || s.codec_type === 'attachment' ? s.codec_type : 'unknown';
  return { ...base, codecType };
}

function rotationOf(s: FfprobeStream): 0 | 90 | 180 | 270 {
  const fromSideData = s.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const degrees = fromSideData ?? Number(s.tags?.rotate ?? 0);
  const normalised = ((Math.round(degrees / 90) * 90) % 360 + 360) % 360;
  return normalised as 0 | 90 | 180 | 270;
}

function rational(value: string | undefined, separator: string): Rational | null {
  if (!value) return null;
  const [n, d] = value.split(separator).map(Number);
  if (n === undefined || d === undefined || !Number.isFinite(n) || !Number.isFinite(d) || n <= 0 || d <= 0) return null;
  return { num: n, den: d };
}

function finite(value: string | number | undefined): number | null {
  if (value === undefined || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function positiveOrZero(value: string | number | undefined): number | null {
  const n = finite(value);
  return n !== null && n >= 0 ? n : null;
}

interface FfprobeJson {
  format?: {
    format_name?: string;
    format_long_name?: string;
    duration?: string;
    start_time?: string;
    size?: string;
    bit_rate?: string;
  };
  streams?: FfprobeStream[];
}

interface FfprobeStream {
  index?: number;
  codec_name?: string;
  codec_type?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  bit_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}
