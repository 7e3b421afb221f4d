// Plays what transcode() writes in a real browser: Debian's Chromium (driven by playwright-core) with hls.js and
// dash.js as published, over a plain HTTP server. Every level is forced in turn and played to the end, then the
// switch that used to stall: from the lowest rung to the highest mid-play (hls.js 1.7.4 stopped at the last
// segment with bufferStalledError while the master playlist put low and high rungs in two audio groups).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildLadder, mediaContentType, parseMasterPlaylist, transcode, type TranscodeManifest } from '@kinora/media';
import { launchChromium, playInPage, startPlaybackServer, type Browser, type PlaybackServer, type PlayOptions, type PlayResult } from '@kinora/testing/browser';
import { ensureFfmpeg } from '@kinora/testing';
import { source, SOURCES } from '../fixtures.js';

// One more try for a playthrough, with the failed one's story logged: dash.js 5 in Chromium now and then does not end
// a stream whose audio stops one AAC frame before the video (5.973 s of 6.0; the transcoder keeps audio from
// outlasting the video, which stalled both players): at the end it reports the audio buffer empty, loads and ends it
// again every ~0.4 s, and 'ended' never fires. Seen twice in the fresh-clone CIs of recent sessions, never twice in a
// row, not with hls.js (the web app's default engine). A playthrough that fails twice still fails the suite. Known
// dash.js end-of-stream cases: Dash-Industry-Forum/dash.js#230, #4404.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const SPEC = SOURCES.playback480;
/** The rungs the fixture gets (pure, so the tests can be listed before anything runs). */
const LADDER = buildLadder({
  video: { index: 0, codecName: 'h264', width: SPEC.width, height: SPEC.height, frameRate: { num: SPEC.fps, den: 1 } },
  audio: { index: 1, codecName: 'aac', channels: 2, sampleRate: 48000 },
});
const LEVELS = LADDER.video.map((r, index) => ({ index, name: r.name, height: r.height }));
const TOP = LEVELS.at(-1)!;
/** Faster than real time keeps the file short; 2× leaves the players room to fetch ahead on a busy machine. */
const RATE = 2;
/** Wall-clock budget of one playthrough inside the page (6 s of video at 2× is 3 s). */
const PLAY_TIMEOUT_MS = 20_000;
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '../../../../.cache/test-artifacts/playback');

let outputDir: string;
let manifest: TranscodeManifest;
let server: PlaybackServer;
let browser: Browser;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  await ensureFfmpeg();
  outputDir = await mkdtemp(join(tmpdir(), 'kinora-playback-'));
  manifest = await transcode({ input: await source('playback480'), outputDir, poster: false, storyboard: false });
  server = await startPlaybackServer({ mediaRoot: outputDir, contentType: mediaContentType });
  browser = await launchChromium({ viewport: { width: 854, height: 480 } });
  ({ page, pageErrors } = browser);
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => typeof (globalThis as unknown as { kinoraPlay?: unknown }).kinoraPlay === 'function');
  mkdirSync(ARTIFACTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

async function play(options: Omit<PlayOptions, 'rate' | 'timeoutMs'>, screenshot: string): Promise<PlayResult> {
  const result = await playInPage(page, { ...options, rate: RATE, timeoutMs: PLAY_TIMEOUT_MS });
  await page.screenshot({ path: join(ARTIFACTS, `${screenshot}.png`) }).catch(() => undefined);
  await page.evaluate(() => (globalThis as unknown as { kinoraStop(): void }).kinoraStop());
  // The whole story when something is off: Jest shows it next to the failed expectation.
  if (!result.ended || result.stalls.length > 0 || result.errors.length > 0) {
    process.stderr.write(`[playback] ${screenshot}: ${JSON.stringify({ ...result, log: undefined })}\n  ${result.log.join('\n  ')}\n`);
  }
  return result;
}

function expectPlayedToTheEnd(result: PlayResult): void {
  // Non-fatal ones too: hls.js reported bufferSeekOverHole while video started 0.067 s after audio.
  expect(result.errors).toEqual([]);
  expect(result.stalls).toEqual([]);
  expect(pageErrors).toEqual([]);
  expect(result.timedOut).toBe(false);
  expect(result.ended).toBe(true);
  expect(result.duration).toBeCloseTo(SPEC.durationSec, 0);
  expect(result.currentTime).toBeGreaterThanOrEqual(result.duration - 0.5);
}

it('transcodes the fixture into the expected ladder with one audio group', async () => {
  expect(manifest.renditions.map((r) => r.name)).toEqual(LEVELS.map((l) => l.name));
  expect(LEVELS.length).toBeGreaterThanOrEqual(4);
  const master = parseMasterPlaylist(await readFile(join(outputDir, manifest.hls), 'utf8'));
  expect(master.media).toHaveLength(1);
  expect(new Set(master.variants.map((v) => v.attributes['AUDIO']))).toEqual(new Set([master.media[0]!['GROUP-ID']]));
});

describe.each(['hls', 'dash'] as const)('%s', (player) => {
  const src = () => `${server.origin}/media/${player === 'hls' ? manifest.hls : manifest.dash}`;

  it.each(LEVELS)(
    'plays $name to the end when forced to it, every frame $height lines high',
    async ({ index, name, height }) => {
      const result = await play({ player, src: src(), level: index }, `${player}-${name}`);
      expect(result.levels).toEqual(LEVELS.map((l) => l.height));
      expectPlayedToTheEnd(result);
      expect(result.videoHeight).toBe(height);
      expect(result.frameHeights).toEqual([height]);
    },
    60_000,
  );

  it(`switches from ${LEVELS[0]!.name} to ${TOP.name} in the first segment and finishes at ${TOP.name}`, async () => {
    const result = await play({ player, src: src(), level: 0, switchTo: TOP.index, switchAfterSec: 1 }, `${player}-switch-up`);
    expectPlayedToTheEnd(result);
    expect(result.switchedAt).not.toBeNull();
    expect(result.frameHeights[0]).toBe(LEVELS[0]!.height);
    expect(result.heightsAfterSwitch.at(-1)).toBe(TOP.height);
    expect(result.videoHeight).toBe(TOP.height);
  }, 60_000);

  // Regression: with 144p…360p in a 96k audio group and 480p up in a 128k one, this switch was also an audio-group
  // switch, and hls.js 1.7.4 stopped at 5.98 s of 6.07 with bufferStalledError, the picture stuck at 144p. Asked for
  // inside the last segment (4–6 s), a player may well finish at the old rung; it must finish.
  it(`finishes playing when switched from ${LEVELS[0]!.name} to ${TOP.name} inside the last segment`, async () => {
    const lastSegmentStart = SPEC.durationSec - (SPEC.durationSec % manifest.segmentSec || manifest.segmentSec);
    const result = await play(
      { player, src: src(), level: 0, switchTo: TOP.index, switchAfterSec: lastSegmentStart + 0.5 },
      `${player}-switch-up-last-segment`,
    );
    expectPlayedToTheEnd(result);
    expect(result.switchedAt).toBeGreaterThan(lastSegmentStart);
    expect([LEVELS[0]!.height, TOP.height]).toContain(result.videoHeight);
  }, 60_000);
});
