import { describe, expect, it } from '@jest/globals';
import { InvalidMediaError, type InvalidMediaCode } from './media.errors.js';
import type { ProbeResult, ProbeStream, ProbeVideoStream } from './probe.js';
import { validateProbe } from './probe.validator.js';

function video(overrides: Partial<ProbeVideoStream> = {}): ProbeVideoStream {
  return {
    index: 0,
    codecType: 'video',
    codecName: 'h264',
    width: 1920,
    height: 1080,
    displayWidth: 1920,
    displayHeight: 1080,
    rotation: 0,
    avgFrameRate: { num: 30, den: 1 },
    rFrameRate: { num: 30, den: 1 },
    pixFmt: 'yuv420p',
    attachedPic: false,
    durationSec: 10,
    bitRate: null,
    nbFrames: 300,
    nbReadPackets: null,
    ...overrides,
  };
}

const audio: ProbeStream = {
  index: 1,
  codecType: 'audio',
  codecName: 'aac',
  channels: 6,
  sampleRate: 48000,
  durationSec: 10,
  bitRate: null,
  nbFrames: null,
  nbReadPackets: null,
};

function result(streams: ProbeStream[], overrides: Partial<ProbeResult> = {}): ProbeResult {
  return { formatName: 'mov,mp4,m4a,3gp,3g2,mj2', formatLongName: null, durationSec: 10, startTimeSec: 0, sizeBytes: 1000, bitRate: null, streams, ...overrides };
}

function rejection(probe: ProbeResult, limits = {}): InvalidMediaError {
  try {
    validateProbe(probe, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMediaError);
    return error as InvalidMediaError;
  }
  throw new Error('expected validateProbe to throw');
}

describe('validateProbe', () => {
  it('returns what the ladder needs for a normal video', () => {
    expect(validateProbe(result([video(), audio]))).toEqual({
      durationSec: 10,
      video: { index: 0, codecName: 'h264', width: 1920, height: 1080, frameRate: { num: 30, den: 1 }, durationSec: 10 },
      audio: { index: 1, codecName: 'aac', channels: 6, sampleRate: 48000 },
    });
  });

  it('uses the display size (rotation applied) and the container duration when the stream has none', () => {
    const media = validateProbe(result([video({ displayWidth: 1080, displayHeight: 1920, durationSec: null })], { durationSec: 7.5 }));
    expect(media).toMatchObject({ durationSec: 7.5, video: { width: 1080, height: 1920 }, audio: null });
  });

  it('ignores cover art and picks the real video stream', () => {
    const cover = video({ index: 0, codecName: 'mjpeg', attachedPic: true, nbFrames: 1 });
    expect(validateProbe(result([cover, video({ index: 1 })])).video.index).toBe(1);
  });

  it('treats a container time base as no frame rate', () => {
    expect(validateProbe(result([video({ avgFrameRate: null, rFrameRate: { num: 90000, den: 1 } })])).video.frameRate).toBeNull();
  });

  it.each<[string, ProbeResult, InvalidMediaCode, string]>([
    ['no streams at all', result([]), 'NO_VIDEO_STREAM', 'The file has no video stream'],
    ['audio only', result([audio]), 'NO_VIDEO_STREAM', 'The file has no video stream (it contains only audio)'],
    ['music with cover art', result([video({ attachedPic: true }), audio]), 'NO_VIDEO_STREAM', 'The file has no video stream (it contains only audio)'],
    ['a PNG', result([video({ codecName: 'png', durationSec: null, nbFrames: null })], { formatName: 'png_pipe', durationSec: null }), 'STILL_IMAGE', 'The file is a still image, not a video'],
    ['a one-frame mp4', result([video({ nbFrames: 1 })]), 'STILL_IMAGE', 'The file is a still image, not a video'],
    ['an unknown codec', result([video({ codecName: null })]), 'UNDECODABLE_VIDEO', 'The video stream uses a format that cannot be decoded'],
    ['zero duration', result([video({ durationSec: 0 })], { durationSec: 0 }), 'INVALID_DURATION', 'The video has no duration: it is empty or its length cannot be determined'],
    ['unknown duration', result([video({ durationSec: null })], { durationSec: null }), 'INVALID_DURATION', 'The video has no duration: it is empty or its length cannot be determined'],
    ['NaN duration', result([video({ durationSec: Number.NaN })], { durationSec: Number.NaN }), 'INVALID_DURATION', 'The video has no duration: it is empty or its length cannot be determined'],
    ['a huge picture', result([video({ displayWidth: 16384, displayHeight: 8640 })]), 'DIMENSIONS_OUT_OF_RANGE', 'The video is 16384×8640 pixels; each side must be between 16 and 8192 pixels'],
    ['a tiny picture', result([video({ displayWidth: 8, displayHeight: 8 })]), 'DIMENSIONS_OUT_OF_RANGE', 'The video is 8×8 pixels; each side must be between 16 and 8192 pixels'],
    ['no picture size', result([video({ displayWidth: 0, displayHeight: 0 })]), 'DIMENSIONS_OUT_OF_RANGE', 'The video has no picture size'],
    ['missing frames', result([video({ nbFrames: 300, nbReadPackets: 150 })]), 'TRUNCATED', 'The file is incomplete: the upload was cut off before the end of the video'],
  ])('refuses %s', (_label, probe, code, reason) => {
    const error = rejection(probe);
    expect(error.code).toBe(code);
    expect(error.reason).toBe(reason);
  });

  it('tolerates a frame count off by one (edit lists) but not more', () => {
    expect(() => validateProbe(result([video({ nbFrames: 300, nbReadPackets: 299 })]))).not.toThrow();
    expect(() => validateProbe(result([video({ nbFrames: 300, nbReadPackets: 290 })]))).toThrow(InvalidMediaError);
  });

  it('applies configured limits', () => {
    expect(rejection(result([video()]), { maxDurationSec: 5 }).reason).toBe('The video is 10 s long; the limit is 5 s');
    expect(rejection(result([video({ durationSec: 4000 })]), { maxDurationSec: 3600 }).reason).toBe('The video is 1 h 6 min long; the limit is 1 h 0 min');
    expect(rejection(result([video()]), { maxSide: 1280 }).code).toBe('DIMENSIONS_OUT_OF_RANGE');
  });
});
