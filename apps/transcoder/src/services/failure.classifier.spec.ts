import { describe, expect, it } from '@jest/globals';
import { FfmpegAbortError, FfmpegError, FfmpegNotFoundError, InvalidMediaError } from '@kinora/media';
import { InvalidKeyError, ObjectNotFoundError } from '@kinora/storage';
import {
  classifyFailure,
  finalReason,
  retryDelayMs,
  SourceMissingError,
  StorageOperationError,
  workerLostFailure,
} from './failure.classifier.js';

describe('classifyFailure', () => {
  it('treats unusable input as permanent and passes its reason to the owner', () => {
    const f = classifyFailure(new InvalidMediaError('NO_VIDEO_STREAM', 'The file has no video stream', 'format mp3'));
    expect(f).toMatchObject({ class: 'invalid_media', permanent: true, reason: 'The file has no video stream' });
    expect(f.detail).toContain('format mp3');
  });

  it('treats keys the store refuses as a permanent internal problem', () => {
    expect(classifyFailure(new InvalidKeyError('../x', 'traversal'))).toMatchObject({ class: 'invalid_job', permanent: true });
  });

  it.each([
    [new FfmpegError('ffmpeg', 1, null, ['a', 'Conversion failed!']), 'ffmpeg'],
    [new FfmpegError('ffmpeg', null, 'SIGSEGV', []), 'ffmpeg'],
    [new FfmpegAbortError('ffmpeg'), 'ffmpeg'],
    [new FfmpegNotFoundError('ffmpeg'), 'ffmpeg_missing'],
    [new StorageOperationError('put', 'media/x/a.m4s', new Error('ECONNRESET')), 'storage'],
    [new SourceMissingError('uploads/x'), 'source_missing'],
    [new Error('something else'), 'internal'],
    ['a string', 'internal'],
  ])('retries %s as %s', (error, cls) => {
    const f = classifyFailure(error);
    expect(f.class).toBe(cls);
    expect(f.permanent).toBe(false);
    expect(f.reason).toMatch(/^The /);
  });

  it('never shows technical detail in the reason', () => {
    const f = classifyFailure(new FfmpegError('ffmpeg', 1, null, ['/tmp/kinora/secret/path: Invalid argument']));
    expect(f.reason).not.toContain('/tmp');
    expect(f.detail).toContain('/tmp/kinora/secret/path');
  });

  it('does not classify an ObjectNotFoundError by itself as a missing source (only downloads do)', () => {
    expect(classifyFailure(new ObjectNotFoundError('x')).class).toBe('internal');
  });
});

describe('finalReason', () => {
  it('says how often a transient failure was tried', () => {
    const f = classifyFailure(new StorageOperationError('put', 'k', new Error('x')));
    expect(finalReason(f, 3)).toBe('The video could not be processed: the media storage did not respond (gave up after 3 attempts)');
    expect(finalReason(f, 1)).toBe('The video could not be processed: the media storage did not respond');
  });

  it('keeps the reason of invalid input as it is', () => {
    const f = classifyFailure(new InvalidMediaError('STILL_IMAGE', 'The file is a still image, not a video'));
    expect(finalReason(f, 1)).toBe('The file is a still image, not a video');
  });

  it('explains a job whose workers kept dying', () => {
    expect(workerLostFailure(3)).toMatchObject({ class: 'worker_lost', permanent: true });
    expect(workerLostFailure(3).reason).toContain('gave up after 3 attempts');
  });
});

describe('retryDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    const b = { initialMs: 5000, maxMs: 60_000 };
    expect([0, 1, 2, 3, 4, 5, 100].map((n) => retryDelayMs(n, b))).toEqual([0, 5000, 10_000, 20_000, 40_000, 60_000, 60_000]);
  });
});
