// Regression: "DASH (dash.js 5) can stop 0.5 s before the end when the audio track is a few ms longer than the video
// (AAC frame rounding)". The audio rendition now ends at or before the video's end, in what players add up (playlist
// and MPD durations) and in the media itself.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseMediaPlaylist, transcode, type TranscodeManifest } from '@kinora/media';
import { ensureFfmpeg } from '@kinora/testing';
import { audioLongerSource } from '../fixtures.js';
import { child, expandTemplate, findAll, parseXml } from '../media-checks.js';

const run = promisify(execFile);
let outputDir: string;
let manifest: TranscodeManifest;
let input: string;

beforeAll(async () => {
  await ensureFfmpeg();
  input = await audioLongerSource();
  outputDir = await mkdtemp(join(tmpdir(), 'kinora-audio-end-'));
  manifest = await transcode({ input, outputDir: join(outputDir, 'out'), poster: false, storyboard: false });
}, 120_000);

afterAll(async () => {
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

async function playlistSec(rendition: string): Promise<number> {
  const media = parseMediaPlaylist(await readFile(join(outputDir, 'out', rendition, 'index.m3u8'), 'utf8'));
  return media.segments.reduce((n, s) => n + s.durationSec, 0);
}

/** Duration ffprobe reads from the rendition's init + segments as one file (edit list applied). */
async function mediaSec(rendition: string): Promise<number> {
  const media = parseMediaPlaylist(await readFile(join(outputDir, 'out', rendition, 'index.m3u8'), 'utf8'));
  const file = join(outputDir, `${rendition}.mp4`);
  await writeFile(file, Buffer.concat(await Promise.all([media.initUri!, ...media.segments.map((s) => s.uri)].map((u) => readFile(join(outputDir, 'out', rendition, u))))));
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

it('the source really has 3.008 s of audio over 3 s of video', async () => {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,duration', '-of', 'csv=p=0', input]);
  expect(stdout.trim().split('\n').sort()).toEqual(['audio,3.008000', 'video,3.000000']);
});

it('ends the audio rendition at or before the video: playlists, MPD timeline and media', async () => {
  const audio = manifest.audio[0]!.name;
  const video = manifest.renditions.map((r) => r.name);
  const audioSec = await playlistSec(audio);
  for (const name of video) expect(audioSec).toBeLessThanOrEqual(await playlistSec(name));
  expect(manifest.durationSec).toBeCloseTo(3, 6);
  // Not cut more than needed: at most the priming frame and one AAC frame short of the video's end.
  expect(audioSec).toBeGreaterThan(3 - (2 * 1024) / 48000 - 1e-6);

  const mpd = parseXml(await readFile(join(outputDir, 'out', manifest.dash), 'utf8'));
  const total = (type: string) =>
    findAll(mpd, 'AdaptationSet')
      .filter((s) => s.attributes['contentType'] === type)
      .flatMap((s) => findAll(s, 'Representation'))
      .map((r) => expandTemplate(child(r, 'SegmentTemplate')!).reduce((n, s) => n + s.durationSec, 0));
  const audioTimeline = total('audio');
  expect(audioTimeline).toHaveLength(1);
  for (const v of total('video')) expect(audioTimeline[0]!).toBeLessThanOrEqual(v);

  expect(await mediaSec(audio)).toBeLessThanOrEqual(await mediaSec(video[0]!));
});
