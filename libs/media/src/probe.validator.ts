import { InvalidMediaError } from './media.errors.js';
import type { ProbeAudioStream, ProbeResult, ProbeVideoStream, Rational } from './probe.js';

/** What the ladder and the argument builders need to know about a source that passed validation. */
export interface MediaSource {
  durationSec: number;
  video: {
    index: number;
    codecName: string;
    /** Display size (rotation and sample aspect ratio applied). */
    width: number;
    height: number;
    /** Average frame rate, else the container's base rate; null when the file states neither. */
    frameRate: Rational | null;
    /** The video stream's own duration when the file states it (the audio can be longer or shorter). */
    durationSec?: number | null;
  };
  audio: {
    index: number;
    codecName: string;
    channels: number;
    sampleRate: number;
  } | null;
}

export interface ValidationLimits {
  /** Smallest accepted side in pixels. Default 16. */
  minSide?: number;
  /** Largest accepted side in pixels. Default 8192. */
  maxSide?: number;
  /** Longest accepted duration in seconds. Default: no limit. */
  maxDurationSec?: number;
}

/** Containers ffprobe reports for single pictures (png_pipe, jpeg_pipe, webp_pipe, image2, …). */
const STILL_IMAGE_FORMAT = /(^|,)(image2|[a-z0-9]+_pipe)(,|$)/;

/**
 * Decides whether a probed file is a video Kinora can transcode. Pure. Throws `InvalidMediaError` whose `reason` is
 * a sentence for the uploader ("The file has no video stream"); returns the facts the ladder needs otherwise.
 */
export function validateProbe(result: ProbeResult, limits: ValidationLimits = {}): MediaSource {
  const { minSide = 16, maxSide = 8192, maxDurationSec = Number.POSITIVE_INFINITY } = limits;
  const videos = result.streams.filter((s): s is ProbeVideoStream => s.codecType === 'video' && !s.attachedPic);
  if (videos.length === 0) {
    const hasAudio = result.streams.some((s) => s.codecType === 'audio');
    throw new InvalidMediaError(
      'NO_VIDEO_STREAM',
      hasAudio ? 'The file has no video stream (it contains only audio)' : 'The file has no video stream',
      `format ${result.formatName}, ${result.streams.length} stream(s)`,
    );
  }

  const video = videos.find((s) => s.codecName !== null) ?? videos[0]!;
  if (STILL_IMAGE_FORMAT.test(result.formatName) || video.nbFrames === 1) {
    throw new InvalidMediaError('STILL_IMAGE', 'The file is a still image, not a video', `format ${result.formatName}`);
  }
  if (video.codecName === null) {
    throw new InvalidMediaError(
      'UNDECODABLE_VIDEO',
      'The video stream uses a format that cannot be decoded',
      `stream ${video.index} has no known codec`,
    );
  }

  const { displayWidth: width, displayHeight: height } = video;
  if (!(width >= minSide && height >= minSide && width <= maxSide && height <= maxSide)) {
    throw new InvalidMediaError(
      'DIMENSIONS_OUT_OF_RANGE',
      width > 0 && height > 0
        ? `The video is ${width}×${height} pixels; each side must be between ${minSide} and ${maxSide} pixels`
        : 'The video has no picture size',
      `coded ${video.width}x${video.height}, rotation ${video.rotation}`,
    );
  }

  const durationSec = [video.durationSec, result.durationSec].find((d): d is number => d !== null && Number.isFinite(d) && d > 0);
  if (durationSec === undefined) {
    throw new InvalidMediaError(
      'INVALID_DURATION',
      'The video has no duration: it is empty or its length cannot be determined',
      `format duration ${result.durationSec}, stream duration ${video.durationSec}`,
    );
  }
  if (durationSec > maxDurationSec) {
    throw new InvalidMediaError(
      'DURATION_TOO_LONG',
      `The video is ${formatDuration(durationSec)} long; the limit is ${formatDuration(maxDurationSec)}`,
    );
  }

  // Only with probe({ countPackets: true }): a header that promises more frames than the file holds.
  if (video.nbFrames !== null && video.nbReadPackets !== null && video.nbFrames > 0) {
    const missing = video.nbFrames - video.nbReadPackets;
    if (missing > Math.max(1, video.nbFrames * 0.01)) {
      throw new InvalidMediaError(
        'TRUNCATED',
        'The file is incomplete: the upload was cut off before the end of the video',
        `${video.nbReadPackets} of ${video.nbFrames} video frames present`,
      );
    }
  }

  const audioStream = result.streams.find((s): s is ProbeAudioStream => s.codecType === 'audio' && s.codecName !== null && s.channels > 0);
  return {
    durationSec,
    video: {
      index: video.index,
      codecName: video.codecName,
      width,
      height,
      frameRate: usableRate(video.avgFrameRate) ?? usableRate(video.rFrameRate),
      durationSec: video.durationSec !== null && video.durationSec > 0 ? video.durationSec : null,
    },
    audio: audioStream
      ? { index: audioStream.index, codecName: audioStream.codecName!, channels: audioStream.channels, sampleRate: audioStream.sampleRate }
      : null,
  };
}

/** Containers sometimes state a time base (90000/1, 1000/1) as the rate; anything above 240 fps is not a frame rate. */
function usableRate(rate: Rational | null): Rational | null {
  if (!rate) return null;
  const fps = rate.num / rate.den;
  return fps > 0 && fps <= 240 ? rate : null;
}

function formatDuration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.round(sec % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}
