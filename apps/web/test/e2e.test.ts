import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitUntil } from '@kinora/testing';
import { launchChromium, type Browser } from '@kinora/testing/browser';
import { artifacts, buildAndMakeClip, expectRenditionSwitching, measureWatchPage, PASSWORD, shootBoth, SIZES, startClusteredWeb, startEmbeddedWeb, WATCH_JS_BUDGET, type Platform } from './support.js';

// The web app end to end in Debian's Chromium, in both modes: against the platform as `npm start` runs it (the built
// launcher on a real port, the web app served by its gateway at /) and as `npm run cluster` runs it (every service
// its own process, the web app served from disk by the nginx edge). Register → upload a generated clip with tus →
// processing until ready → watch it play (time advances, every rendition offered, switching works) → like it, seen
// live in a second browser → resume an upload after a reload → lists and error pages. Screenshots of every page at
// desktop and phone sizes are kept in .cache/test-artifacts/web (`<mode>-<page>-<size>.png`); the figures (initial
// JS of the watch page, gzipped; navigation to first frame) are printed and written to figures.json there.
let mode: 'embedded' | 'cluster' = 'embedded';
const work = buildAndMakeClip('kinora-web-e2e-');
let base: string;
let browser: Browser;
let page: Page;
const figures: Record<string, number> = {};

const shoot = (name: string) => shootBoth(page, mode, name);

afterAll(() => {
  if (Object.keys(figures).length > 0) writeFileSync(join(artifacts, 'figures.json'), JSON.stringify(figures, null, 2) + '\n');
});

function journey(name: 'embedded' | 'cluster', start: () => Promise<Platform>): void {
  describe(`the web app, end to end (${name === 'embedded' ? 'npm start' : 'npm run cluster'})`, () => {
    const suffix = `${name[0]}${Date.now().toString(36)}`;
    let platform: Platform | undefined;

    beforeAll(async () => {
      mode = name;
      platform = await start();
      base = platform.url;
      browser = await launchChromium({ viewport: SIZES.desktop });
      page = browser.page;
    }, 300_000);

    afterAll(async () => {
      await browser?.close();
      await platform?.stop();
    }, 120_000);

    const username = `web_${suffix}`;
    let watchPath = '';

    it('shows the empty home page, then registers and signs in', async () => {
      await page.goto(`${base}/`);
      await page.getByText('No videos yet').waitFor();
      await shoot('home-empty');
      await page.getByRole('link', { name: 'Register' }).click();
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      await shoot('register');
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Email').fill(`${username}@example.test`);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Register' }).click();
      await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe(username);
      // The session survives a reload (tokens kept, /users/me asked again).
      await page.reload();
      await page.getByTestId('signed-in-as').waitFor();
    }, 60_000);

    it('shows the API problem as a readable message on a failed sign-in', async () => {
      const other = await browser.context.newPage();
      try {
        await other.goto(`${base}/signin`);
        await other.getByLabel('Username or email').fill(username);
        await other.getByLabel('Password').fill('not the password');
        await other.getByRole('button', { name: 'Sign in' }).click();
        const alert = other.getByRole('alert');
        await alert.waitFor();
        const text = (await alert.textContent()) ?? '';
        expect(text.length).toBeGreaterThan(10);
        expect(text).not.toMatch(/^\d+$|undefined|\[object/);
        await other.screenshot({ path: join(artifacts, `${mode}-signin-error-desktop.png`) });
      } finally {
        await other.close();
      }
    }, 30_000);

    it('uploads a clip with tus, shows the upload and processing progress, and links to the ready video', async () => {
      await page.getByRole('link', { name: 'Upload' }).click();
      await page.getByRole('heading', { name: 'Upload a video' }).waitFor();
      await page.locator('input[name=file]').setInputFiles(work.clip);
      await page.getByLabel('Title').fill(`Test pattern ${suffix}`);
      await page.getByLabel('Description').fill('A generated clip');
      await shoot('upload-form');
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.getByText('Processing', { exact: false }).first().waitFor({ timeout: 60_000 });
      await page
        .getByText('Your video is ready')
        .waitFor({ timeout: 180_000 })
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\nthe page says: ${await page.locator('main').innerText()}\nthe platform logged: ${platform?.logs()}`);
        });
      await shoot('upload-ready');
      watchPath = (await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')) ?? '';
      expect(watchPath).toMatch(/^\/watch\/[\w-]+$/);
    }, 240_000);

    it('plays the video: first frame, time advances, every rendition in the quality menu, switching works', async () => {
      // A full navigation (a fresh visit, caches of this page load only), timed to the first rendered frame; the
      // scripts it asked for until then, gzipped.
      const measured = await measureWatchPage(page, `${base}${watchPath}`);
      const video = page.locator('video');
      const js = measured.initialScripts;
      figures[`${mode}.watchFirstFrameMs`] = measured.firstFrameMs;
      figures[`${mode}.watchInitialJsGzipBytes`] = measured.initialJsGzipBytes;
      figures[`${mode}.watchScripts`] = js.length;
      console.log(`web e2e figures (${mode}): navigation → first frame ${figures[`${mode}.watchFirstFrameMs`]} ms; watch page JS ${(figures[`${mode}.watchInitialJsGzipBytes`]! / 1024).toFixed(1)} KiB gzipped in ${js.length} files`);
      expect(figures[`${mode}.watchFirstFrameMs`]).toBeGreaterThan(0);
      expect(figures[`${mode}.watchInitialJsGzipBytes`]).toBeLessThan(WATCH_JS_BUDGET);

      const currentTime = () => video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
      const t0 = await currentTime();
      await waitUntil('playback advances', async () => (await currentTime()) > t0 + 0.5, { timeoutMs: 15_000, intervalMs: 100 });
      await expect(page.getByRole('heading', { name: `Test pattern ${suffix}` }).isVisible()).resolves.toBe(true);
      await shoot('watch');

      // Auto + 360p, 240p, 144p; switching works.
      await expectRenditionSwitching(page);
    }, 120_000);

    it('likes the video: the count moves at once, reaches a second browser live over socket.io, and is kept', async () => {
      // A second, anonymous browser (its own profile) watching the same video on a phone-sized screen.
      const viewer = await launchChromium({ viewport: SIZES.phone });
      try {
        await viewer.page.goto(`${base}${watchPath}`);
        // Joined the video's room: the join acknowledgement brings the live counts (with the watchers).
        await viewer.page.getByText(/\d+ watching/).waitFor({ timeout: 20_000 });
        await expect(viewer.page.getByTestId('likes').textContent()).resolves.toBe('0');

        const like = page.getByRole('button', { name: / likes$/ });
        await expect(page.getByTestId('likes').textContent()).resolves.toBe('0');
        await like.click();
        await expect(like.getAttribute('aria-pressed')).resolves.toBe('true');
        await expect(page.getByTestId('likes').textContent()).resolves.toBe('1');
        // No reload in the second browser: the count arrives as a `video:counts` push.
        await waitUntil('the like reaches the second browser live', async () => (await viewer.page.getByTestId('likes').textContent()) === '1', { timeoutMs: 20_000, intervalMs: 100 });
        await viewer.page.screenshot({ path: join(artifacts, `${mode}-watch-live-second-browser-phone.png`) });
        expect(viewer.pageErrors).toEqual([]);
      } finally {
        await viewer.close();
      }
      await page.reload();
      await waitUntil('the rating is read back', async () => (await page.getByRole('button', { name: / likes$/ }).getAttribute('aria-pressed')) === 'true', { timeoutMs: 10_000, intervalMs: 100 });
      await expect(page.getByTestId('likes').textContent()).resolves.toBe('1');
    }, 60_000);

    it('resumes an upload after a page reload: the same video and tus upload, not new ones', async () => {
      const second = join(work.dir, 'second.mp4');
      copyFileSync(work.clip, second);
      const calls: string[] = [];
      const onRequest = (req: { method(): string; url(): string }) => {
        const path = new URL(req.url()).pathname;
        if (path === '/api/v1/videos' || path.startsWith('/api/v1/uploads')) calls.push(`${req.method()} ${path.startsWith('/api/v1/uploads/') ? '/api/v1/uploads/:id' : path}`);
      };
      page.on('request', onRequest);
      try {
        // The bytes never arrive: the first page load is left mid-upload.
        const stall = (url: URL) => url.pathname.startsWith('/api/v1/uploads/');
        await page.route(stall, (route) => (route.request().method() === 'PATCH' ? undefined : route.continue()));
        await page.goto(`${base}/upload`);
        await page.locator('input[name=file]').setInputFiles(second);
        await page.getByLabel('Title').fill(`Resumed ${suffix}`);
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.getByRole('button', { name: 'Pause' }).waitFor();
        await waitUntil('the upload was created', async () => calls.includes('PATCH /api/v1/uploads/:id'), { timeoutMs: 10_000, intervalMs: 50 });
        // Leaving the page cancels the held request: not one byte reached the platform.
        await page.reload();
        await page.unroute(stall);
        await page.getByText(`Your upload of “Resumed ${suffix}” did not finish`).waitFor();
        await shoot('upload-resume');
        await page.locator('input[name=file]').setInputFiles(second);
        await expect(page.getByLabel('Title').inputValue()).resolves.toBe(`Resumed ${suffix}`);
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.getByText('Your video is ready').waitFor({ timeout: 180_000 });
      } finally {
        page.off('request', onRequest);
      }
      // One video and one tus upload; after the reload the upload's offset was asked (HEAD) and the bytes sent there.
      expect(calls.filter((c) => c === 'POST /api/v1/videos')).toHaveLength(1);
      expect(calls.filter((c) => c === 'POST /api/v1/uploads')).toHaveLength(1);
      expect(calls.filter((c) => c === 'HEAD /api/v1/uploads/:id')).toHaveLength(1);
      expect(calls.indexOf('HEAD /api/v1/uploads/:id')).toBeLessThan(calls.lastIndexOf('PATCH /api/v1/uploads/:id'));
    }, 240_000);

    it('lists the video on home, trending and in search results; unknown pages say so', async () => {
      await page.goto(`${base}/`);
      await page.getByRole('link', { name: `Test pattern ${suffix}` }).waitFor({ timeout: 20_000 });
      await shoot('home');
      await page.getByRole('link', { name: 'Trending' }).click();
      await page.getByRole('heading', { name: 'Trending' }).waitFor();
      await shoot('trending');
      await page.getByLabel('Search videos').fill('pattern');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('heading', { name: /Results for/ }).waitFor();
      await waitUntil('search finds the clip', async () => (await page.getByRole('link', { name: `Test pattern ${suffix}` }).count()) > 0, { timeoutMs: 20_000, intervalMs: 500 });
      await shoot('search');
      await page.goto(`${base}/no/such/page`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      await shoot('not-found');
      await page.goto(`${base}/watch/0190c0de-0000-7000-8000-000000000000`);
      await page.getByRole('heading', { name: 'Video not found' }).waitFor();
      await shoot('watch-not-found');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.goto(`${base}/signin`);
      await shoot('signin');
      expect(browser.pageErrors).toEqual([]);
    }, 90_000);
  });
}

journey('embedded', () => startEmbeddedWeb('kinora_web'));
journey('cluster', () => startClusteredWeb(work.dir));
