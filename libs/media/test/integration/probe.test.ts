// probe() + validateProbe() on real files: good sources give the facts the ladder needs, bad uploads give a typed
// error with a sentence a person can read.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidMediaError, probe, transcode, validateProbe, type InvalidMediaCode } from '@kinora/media';
import { ensureFfmpeg } from '@kinora/testing';
import { BAD_INPUTS, source } from '../fixtures.js';

beforeAll(async () => {
  await ensureFfmpeg();
}, 900_000);

async function inspect(file: string, countPackets = true) {
  return validateProbe(await probe(file, { countPackets }));
}

async function invalid(file: string): Promise<InvalidMediaError> {
  const error = await inspect(file).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidMediaError);
  return error as InvalidMediaError;
}

describe('probe + validateProbe on real files', () => {
  it('reads a landscape source: size, frame rate, duration, audio', async () => {
    const media = await inspect(await source('landscape1080'));
    expect(media.video).toMatchObject({ codecName: 'h264', width: 1920, height: 1080, frameRate: { num: 30, den: 1 } });
    expect(media.durationSec).toBeCloseTo(6, 1);
    expect(media.audio).toMatchObject({ codecName: 'aac', channels: 2, sampleRate: 48000 });
  });

  it('reads a source without audio', async () => {
    const media = await inspect(await source('silent480'));
    expect(media.audio).toBeNull();
    expect(media.video).toMatchObject({ width: 854, height: 480 });
  });

  it('applies the display rotation: a phone video coded 320×180 and rotated 90° is 180×320', async () => {
    const result = await probe(await source('rotated'));
    const video = result.streams.find((s) => s.codecType === 'video');
    expect(video).toMatchObject({ width: 320, height: 180, displayWidth: 180, displayHeight: 320 });
    expect([90, 270]).toContain((video as { rotation: number }).rotation);
    expect(validateProbe(result).video).toMatchObject({ width: 180, height: 320 });
  });

  it.each<[string, () => Promise<string>, InvalidMediaCode, RegExp]>([
    ['random bytes', BAD_INPUTS.randomBytes, 'UNREADABLE', /not a video that can be read/],
    ['a PNG image', BAD_INPUTS.png, 'STILL_IMAGE', /still image, not a video/],
    ['an mp4 cut in half (index at the end)', BAD_INPUTS.truncatedMp4, 'UNREADABLE', /damaged, incomplete or not a media file/],
    ['an mp4 cut in half (index at the front)', BAD_INPUTS.truncatedFaststartMp4, 'TRUNCATED', /incomplete: the upload was cut off/],
    ['an audio-only file', BAD_INPUTS.audioOnly, 'NO_VIDEO_STREAM', /^The file has no video stream/],
    ['an empty file', BAD_INPUTS.empty, 'EMPTY_FILE', /^The file is empty$/],
  ])('refuses %s with a readable reason', async (_label, make, code, reason) => {
    const error = await invalid(await make());
    expect(error.code).toBe(code);
    expect(error.reason).toMatch(reason);
    expect(error.reason).not.toMatch(/ffprobe|moov|stderr|exit/i); // for people, not for logs
  });

  it('lets transcode() fail on a truncated file with the reason, leaving nothing behind', async () => {
    const outputDir = await mkdtemp(join(tmpdir(), 'kinora-truncated-'));
    try {
      const error = await transcode({ input: await BAD_INPUTS.truncatedFaststartMp4(), outputDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidMediaError);
      expect((error as InvalidMediaError).code).toBe('TRUNCATED');
      expect(await readdir(outputDir)).toEqual([]);
    } finally {
      await rm(outputDir, { recursive: true, force: true });
    }
  });

  it('still catches that truncation during the transcode when the probe did not count packets', async () => {
    const input = await BAD_INPUTS.truncatedFaststartMp4();
    const outputDir = await mkdtemp(join(tmpdir(), 'kinora-truncated-'));
    try {
      const probeResult = await probe(input); // header only: looks like a fine 6 s video
      expect(validateProbe(probeResult).durationSec).toBeCloseTo(6, 0);
      const error = await transcode({ input, outputDir, probeResult, preset: 'ultrafast' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidMediaError);
      expect((error as InvalidMediaError).code).toBe('TRUNCATED');
      expect(await readdir(outputDir)).toEqual([]);
    } finally {
      await rm(outputDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('throws ENOENT (not InvalidMediaError) for a missing file', async () => {
    await expect(probe('/nonexistent/video.mp4')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

