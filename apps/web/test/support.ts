// Helpers shared by the web app's end-to-end suites: the build, a generated clip, the platform in both modes,
// screenshots at desktop and phone sizes into .cache/test-artifacts/web.
import { afterAll, beforeAll, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ensureFfmpeg, startCluster, startEmbedded as startEmbeddedPlatform, waitUntil, type ClusterHandle } from '@kinora/testing';

export const repoRoot = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
export const artifacts = join(repoRoot, '.cache/test-artifacts/web');
export const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
/** Quick counters and transcodes: the E2E waits on both. */
export const E2E_SETTINGS = { COUNTER_FLUSH_INTERVAL_MS: '500', TRANSCODE_PRESET: 'ultrafast' };
/** The password every E2E account is registered with. */
export const PASSWORD = 'correct horse battery';

export interface Platform {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * What `npm start` and `npm run cluster` build: the services (tsc) and the web app (Vite, skipped when current).
 * Also makes the artifacts folder, which the suites write screenshots and figures into.
 */
export function buildAll(): void {
  mkdirSync(artifacts, { recursive: true });
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
  const web = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-web.mjs')], { encoding: 'utf8' });
  if (web.status !== 0 || !existsSync(join(repoRoot, 'apps/web/dist/index.html'))) throw new Error(`web build failed: ${web.stdout}${web.stderr}`);
}

/**
 * A temporary folder (readable by the cluster edge's workers, which serve the web app copied in here) with a 6 s
 * 640×360 test clip with a tone: renditions 144p, 240p and 360p, a storyboard of 2 s tiles.
 */
export async function makeClip(prefix: string): Promise<{ dir: string; clip: string }> {
  await ensureFfmpeg();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const clip = join(dir, 'clip.mp4');
  const ff = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip],
    { encoding: 'utf8' },
  );
  if (ff.status !== 0) throw new Error(`ffmpeg could not make the test clip: ${ff.stderr ?? ff.error}`);
  return { dir, clip };
}

/**
 * The suite's set-up, as hooks of the calling file: before its tests {@link buildAll} and {@link makeClip}, after
 * them the clip's folder is removed. The returned object is filled in by the time the tests (and the `start` of a
 * journey) run.
 */
export function buildAndMakeClip(prefix: string): { dir: string; clip: string } {
  const work = { dir: '', clip: '' };
  beforeAll(async () => {
    buildAll();
    Object.assign(work, await makeClip(prefix));
  }, 300_000);
  afterAll(() => {
    if (work.dir) rmSync(work.dir, { recursive: true, force: true });
  });
  return work;
}

/** `npm start`: the built launcher on a test database (with its replica), the web app served by its gateway. */
export async function startEmbeddedWeb(databasePrefix: string): Promise<Platform> {
  const platform = await startEmbeddedPlatform({ databasePrefix, env: E2E_SETTINGS });
  return { url: platform.url, logs: () => platform.logs().slice(-3000), stop: platform.stop };
}

/** `npm run cluster`: every service its own process behind two gateways, the web app served from disk by the edge. */
export async function startClusteredWeb(workDir: string): Promise<Platform> {
  const webRoot = join(workDir, 'web');
  cpSync(join(repoRoot, 'apps/web/dist'), webRoot, { recursive: true });
  const cluster: ClusterHandle = await startCluster({ logLevel: 'warn', env: { ...E2E_SETTINGS, RATE_LIMIT_AUTH: 'off', RATE_LIMIT_GENERAL: 'off' }, edgeEnv: { EDGE_WEB_ROOT: webRoot } });
  return { url: cluster.url, logs: () => `see ${cluster.runDir}/logs`, stop: () => cluster.stop() };
}

/** Registers `username` (password {@link PASSWORD}) through the page at `base` and waits until it is signed in. */
export async function register(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/register`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByTestId('signed-in-as').waitFor();
  await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe(username);
}

/**
 * On a playing watch page of the generated clip: the quality menu offers Auto then 360p, 240p and 144p; choosing
 * 144p, then 360p, plays that rendition (restarted from 0 so the switch is seen while playing: the clip is short);
 * Auto again at the end.
 */
export async function expectRenditionSwitching(page: Page): Promise<void> {
  const video = page.locator('video');
  const quality = page.getByLabel('Quality');
  const labels = await quality.locator('option').allTextContents();
  expect(labels[0]).toMatch(/^Auto/);
  expect(labels.slice(1)).toEqual(['360p', '240p', '144p']);
  for (const height of [144, 360]) {
    await quality.selectOption({ label: `${height}p` });
    await video.evaluate((v) => {
      const el = v as unknown as { currentTime: number; play(): Promise<void> };
      el.currentTime = 0;
      return el.play();
    });
    await waitUntil(
      `playing ${height}p`,
      async () => (await page.locator('.player').getAttribute('data-current-height')) === String(height) && (await video.evaluate((v) => (v as unknown as { videoHeight: number }).videoHeight)) === height,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }
  await quality.selectOption({ label: 'Auto' });
  await expect(quality.inputValue()).resolves.toBe('-1');
}

/** Full-page screenshots at desktop and phone sizes: `<mode>-<name>-<size>.png`; the page is left at `restore`. */
export async function shootBoth(page: Page, mode: string, name: string, restore: { width: number; height: number } = SIZES.desktop): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(artifacts, `${mode}-${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(restore);
}

/** The budget for the watch page's initial JavaScript, gzipped. */
export const WATCH_JS_BUDGET = 200 * 1024;

export interface WatchPageFigures {
  /** Navigation → first rendered frame, as the player measured it (`data-first-frame-ms`). */
  firstFrameMs: number;
  /** The scripts the page started to fetch before its first frame, gzipped (level 9), summed. */
  initialJsGzipBytes: number;
  initialScripts: string[];
}

/**
 * Opens `url` (a fresh navigation) and waits for the first frame. The initial JavaScript is what the page asked for
 * before that frame (resource timing `startTime` ≤ the first frame), whatever arrives while the test notices it:
 * what the page loads afterwards (comments, chat, the live connections) is not part of it.
 */
export async function measureWatchPage(page: Page, url: string): Promise<WatchPageFigures> {
  const bodies = new Map<string, Promise<number>>();
  const onResponse = (res: { url(): string; body(): Promise<Buffer>; request(): { resourceType(): string } }) => {
    if (res.request().resourceType() === 'script') bodies.set(res.url(), res.body().then((b) => gzipSync(b, { level: 9 }).length, () => 0));
  };
  page.on('response', onResponse);
  try {
    await page.goto(url);
    await page.waitForFunction(
      () => Boolean((globalThis as unknown as { document: { querySelector(s: string): { dataset: Record<string, string> } | null } }).document.querySelector('video')?.dataset['firstFrameMs']),
      undefined,
      { timeout: 30_000 },
    );
  } finally {
    page.off('response', onResponse);
  }
  const firstFrameMs = Number(await page.locator('video').getAttribute('data-first-frame-ms'));
  // Against the player's own mark (unrounded), strictly before it: what the page starts in the first frame's own
  // callback (the notifications socket waits for it) is after the frame, even when it starts within the same
  // millisecond that data-first-frame-ms rounds up to.
  const started = await page.evaluate((fallback) => {
    const perf = (globalThis as unknown as { performance: { getEntriesByName(n: string): Array<{ startTime: number }>; getEntriesByType(t: string): Array<{ name: string; startTime: number }> } }).performance;
    const until = perf.getEntriesByName('kinora:first-frame')[0]?.startTime ?? fallback;
    return perf
      .getEntriesByType('resource')
      .filter((e) => e.startTime < until && /\.m?js(\?|$)/.test(e.name))
      .map((e) => e.name);
  }, firstFrameMs);
  const initialScripts = started.filter((u) => bodies.has(u));
  const sizes = await Promise.all(initialScripts.map((u) => bodies.get(u)!));
  return { firstFrameMs, initialJsGzipBytes: sizes.reduce((a, b) => a + b, 0), initialScripts };
}
