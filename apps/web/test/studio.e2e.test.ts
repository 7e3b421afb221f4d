import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitUntil } from '@kinora/testing';
import { launchChromium, type Browser } from '@kinora/testing/browser';
import { artifacts, buildAndMakeClip, register, shootBoth, SIZES, startClusteredWeb, startEmbeddedWeb, type Platform } from './support.js';

// The creator's side of the web app end to end in Debian's Chromium, in both modes (npm start: the gateway serves
// the app; npm run cluster: the nginx edge does). A creator registers and uploads through the page (progress bar,
// pause and resume, resume after a reload, processing bar, ready), finds the video in the Studio, and a second user
// (a browser of its own, phone-sized) subscribes on the creator's channel page; when the creator makes the video
// public from the Studio, the subscriber's notification count rises live (socket.io push, no reload) and is marked
// read. The subscriber watches; the creator's analytics chart shows the view. Channel editing, the subscriptions
// feed, readable API errors and delete with confirmation follow. Screenshots of every page at desktop and phone
// sizes: .cache/test-artifacts/web/<mode>-<page>-<size>.png.
const work = buildAndMakeClip('kinora-web-studio-');

function journey(mode: 'embedded' | 'cluster', start: () => Promise<Platform>): void {
  describe(`the creator's pages, end to end (${mode === 'embedded' ? 'npm start' : 'npm run cluster'})`, () => {
    const suffix = `${mode[0]}${Date.now().toString(36)}`;
    const creator = `cr_${suffix}`;
    const fan = `fan_${suffix}`;
    let platform: Platform | undefined;
    let base: string;
    let a: Browser; // the creator, desktop
    let b: Browser; // the subscriber, phone
    let page: Page;
    let videoId = '';
    let channelPath = '';
    const title = `Pattern ${suffix}`;
    const published = `Published ${suffix}`;

    beforeAll(async () => {
      platform = await start();
      base = platform.url;
      a = await launchChromium({ viewport: SIZES.desktop });
      b = await launchChromium({ viewport: SIZES.phone });
      page = a.page;
    }, 300_000);

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await platform?.stop();
    }, 120_000);

    const failWithPage = (p: Page) => async (err: Error) => {
      throw new Error(`${err.message}\nthe page says: ${await p.locator('main').innerText().catch(() => '?')}\nthe platform logged: ${platform?.logs()}`);
    };

    it('uploads through the page: progress bar, pause and resume, resume after a reload, processing bar, ready', async () => {
      await register(page, base, creator);
      const calls: string[] = [];
      const onRequest = (req: { method(): string; url(): string }) => {
        const path = new URL(req.url()).pathname;
        if (path === '/api/v1/videos' || path.startsWith('/api/v1/uploads')) calls.push(`${req.method()} ${path.startsWith('/api/v1/uploads/') ? '/api/v1/uploads/:id' : path}`);
      };
      page.on('request', onRequest);
      // The bytes are held back (PATCH never answered) until the upload has been paused, resumed and reloaded.
      const stall = (url: URL) => url.pathname.startsWith('/api/v1/uploads/');
      await page.route(stall, (route) => (route.request().method() === 'PATCH' ? undefined : route.continue()));
      try {
        await page.getByRole('link', { name: 'Upload', exact: true }).click();
        await page.getByRole('heading', { name: 'Upload a video' }).waitFor();
        await page.locator('input[name=file]').setInputFiles(work.clip);
        await page.getByLabel('Title').fill(title);
        await page.getByLabel('Description').fill('A generated test pattern');
        await page.getByLabel('Tags').fill('pattern, test, Pattern');
        await page.getByLabel('Visibility').selectOption('private');
        await shootBoth(page, mode, 'upload-form');
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        await page.locator('#upload-progress').waitFor();
        await waitUntil('the bytes are on their way', async () => calls.includes('PATCH /api/v1/uploads/:id'), { timeoutMs: 10_000, intervalMs: 50 });
        await shootBoth(page, mode, 'upload-progress');
        // Pause, then resume: tus asks again where it stands and sends again.
        await page.getByRole('button', { name: 'Pause' }).click();
        await page.getByRole('button', { name: 'Resume' }).waitFor();
        const patches = calls.filter((c) => c === 'PATCH /api/v1/uploads/:id').length;
        await page.getByRole('button', { name: 'Resume' }).click();
        await page.getByRole('button', { name: 'Pause' }).waitFor();
        await waitUntil('the resumed upload sends again', async () => calls.filter((c) => c === 'PATCH /api/v1/uploads/:id').length > patches, { timeoutMs: 10_000, intervalMs: 50 });
        // A reload mid-way: the page offers to resume; the same file continues the same video and tus upload.
        await page.reload();
        await page.unroute(stall);
        await page.getByText(`Your upload of “${title}” did not finish`).waitFor();
        await shootBoth(page, mode, 'upload-resume');
        await page.locator('input[name=file]').setInputFiles(work.clip);
        await expect(page.getByLabel('Title').inputValue()).resolves.toBe(title);
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        // The processing bar follows the video's progress until it is ready.
        await page.locator('#processing-progress').waitFor({ timeout: 60_000 }).catch(failWithPage(page));
        await shootBoth(page, mode, 'upload-processing');
        await page.getByText('Your video is ready').waitFor({ timeout: 180_000 }).catch(failWithPage(page));
      } finally {
        page.off('request', onRequest);
        await page.unroute(stall).catch(() => undefined);
      }
      expect(calls.filter((c) => c === 'POST /api/v1/videos')).toHaveLength(1);
      expect(calls.filter((c) => c === 'POST /api/v1/uploads')).toHaveLength(1);
      expect(calls.lastIndexOf('HEAD /api/v1/uploads/:id')).toBeLessThan(calls.lastIndexOf('PATCH /api/v1/uploads/:id'));
      await shootBoth(page, mode, 'upload-ready');
      const href = (await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')) ?? '';
      expect(href).toMatch(/^\/watch\/[\w-]+$/);
      videoId = href.slice('/watch/'.length);
    }, 300_000);

    it('lists the private video in the Studio with its state and visibility; API errors read as sentences', async () => {
      await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Studio', exact: true }).click();
      await page.getByRole('heading', { name: 'Studio' }).waitFor();
      const item = page.getByTestId(`studio-video-${videoId}`);
      await item.waitFor();
      await expect(item.getByTestId('state').textContent()).resolves.toBe('Ready');
      await expect(item.getByTestId('visibility').textContent()).resolves.toBe('Private');
      await expect(item.locator('.studio-title').textContent()).resolves.toBe(title);
      await shootBoth(page, mode, 'studio');
      // A blank title passes the browser's `required` but not the API: its problem is shown, the form stays open.
      await item.getByRole('button', { name: /^Edit/ }).click();
      await item.getByLabel('Title').fill('   ');
      await item.getByRole('button', { name: 'Save' }).click();
      const alert = item.getByRole('alert');
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      expect(text).toMatch(/title/i);
      expect(text).not.toMatch(/undefined|\[object|^\d+$/);
      await shootBoth(page, mode, 'studio-edit-error');
      await item.getByRole('button', { name: 'Cancel' }).click();
      channelPath = (await page.getByRole('link', { name: 'Your channel' }).getAttribute('href')) ?? '';
      expect(channelPath).toMatch(/^\/channel\/[\w-]+$/);
    }, 60_000);

    it('a second user subscribes on the channel page; publishing from the Studio reaches their notification count live', async () => {
      const fanPage = b.page;
      await register(fanPage, base, fan);
      await fanPage.goto(`${base}${channelPath}`);
      await fanPage.getByRole('heading', { name: creator }).waitFor();
      await expect(fanPage.getByTestId('subscriber-count').textContent()).resolves.toBe('0 subscribers');
      const subscribe = fanPage.getByRole('button', { name: `Subscribe to ${creator}` });
      await subscribe.click();
      await waitUntil('subscribed', async () => (await fanPage.getByRole('button', { name: `Subscribed to ${creator}` }).getAttribute('aria-pressed')) === 'true', { timeoutMs: 10_000, intervalMs: 100 });
      await expect(fanPage.getByTestId('subscriber-count').textContent()).resolves.toBe('1 subscriber');
      await shootBoth(fanPage, mode, 'channel', SIZES.phone);
      // The count is the platform's, not only the page's: a reload reads it back.
      await fanPage.reload();
      await waitUntil('the subscription is read back', async () => (await fanPage.getByRole('button', { name: `Subscribed to ${creator}` }).count()) === 1, { timeoutMs: 10_000, intervalMs: 200 });
      // The bell: connected to the realtime service, nothing unread yet.
      await waitUntil('the notifications socket is up', async () => (await fanPage.locator('.notifications').getAttribute('data-live')) === 'true', { timeoutMs: 20_000, intervalMs: 100 });
      await expect(fanPage.getByTestId('unread-count').textContent()).resolves.toBe('0');

      // The creator's own channel: no subscribe button, an edit button instead.
      await page.goto(`${base}${channelPath}`);
      await page.getByRole('heading', { name: creator }).waitFor();
      await expect(page.getByRole('button', { name: /^Subscribe/ }).count()).resolves.toBe(0);
      await page.getByRole('button', { name: 'Edit channel' }).waitFor();

      // Publish from the Studio: new title, public.
      await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Studio', exact: true }).click();
      const item = page.getByTestId(`studio-video-${videoId}`);
      await item.getByRole('button', { name: /^Edit/ }).click();
      await item.getByLabel('Title').fill(published);
      await item.getByLabel('Visibility').selectOption('public');
      await shootBoth(page, mode, 'studio-edit');
      await item.getByRole('button', { name: 'Save' }).click();
      await page.getByText(`Saved “${published}”.`).waitFor();
      await expect(item.getByTestId('visibility').textContent()).resolves.toBe('Public');
      await page.reload();
      await expect(page.getByTestId(`studio-video-${videoId}`).getByTestId('visibility').textContent()).resolves.toBe('Public');

      // No reload on the subscriber's side: the notification arrives as a push.
      await waitUntil('the notification reaches the subscriber live', async () => (await fanPage.getByTestId('unread-count').textContent()) === '1', { timeoutMs: 30_000, intervalMs: 100 }).catch(failWithPage(fanPage));
      await fanPage.getByRole('button', { name: /^Notifications/ }).click();
      const panel = fanPage.getByRole('region', { name: 'Notifications' });
      await panel.getByRole('link', { name: `New video: “${published}”` }).waitFor();
      await shootBoth(fanPage, mode, 'notifications', SIZES.phone);
      await panel.getByRole('button', { name: 'Mark all read' }).click();
      await waitUntil('marked read', async () => (await fanPage.getByTestId('unread-count').textContent()) === '0', { timeoutMs: 10_000, intervalMs: 100 });
      await fanPage.reload();
      await waitUntil('read is kept', async () => (await fanPage.getByTestId('unread-count').textContent()) === '0' && (await fanPage.locator('.notifications').getAttribute('data-live')) === 'true', { timeoutMs: 20_000, intervalMs: 100 });
      // Escape closes the panel and gives the focus back to the bell.
      await fanPage.getByRole('button', { name: /^Notifications/ }).click();
      await panel.waitFor();
      await fanPage.keyboard.press('Escape');
      await expect(panel.count()).resolves.toBe(0);
      await expect(fanPage.evaluate(() => (globalThis as unknown as { document: { activeElement: { className: string } | null } }).document.activeElement?.className)).resolves.toBe('bell');
    }, 120_000);

    it('the subscriber watches; the creator sees the view in the Studio chart (SVG and table)', async () => {
      const fanPage = b.page;
      await fanPage.goto(`${base}/watch/${videoId}`);
      await fanPage.getByRole('heading', { name: published }).waitFor();
      const video = fanPage.locator('video');
      await waitUntil('playback starts', async () => (await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) > 0.3, { timeoutMs: 30_000, intervalMs: 100 });

      await page.goto(`${base}/studio`);
      const item = page.getByTestId(`studio-video-${videoId}`);
      await item.getByRole('button', { name: /^Analytics/ }).click();
      const total = item.getByTestId('analytics-total');
      await total.waitFor();
      // Views reach the series when analytics flushes (every 500 ms here): refresh until the view is counted.
      await waitUntil(
        'the view is in the chart',
        async () => {
          if ((await total.textContent())?.startsWith('1 view')) return true;
          await item.getByRole('button', { name: 'Refresh' }).click();
          await total.waitFor();
          return false;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      ).catch(failWithPage(page));
      const chart = item.getByTestId('analytics-chart');
      await chart.waitFor();
      const values = await chart.locator('rect').evaluateAll((rects) => rects.map((r) => Number((r as unknown as { getAttribute(n: string): string | null }).getAttribute('data-value'))));
      expect(values.reduce((x, y) => x + y, 0)).toBe(1);
      const heights = await chart.locator('rect').evaluateAll((rects) => rects.map((r) => Number((r as unknown as { getAttribute(n: string): string | null }).getAttribute('height'))));
      expect(Math.max(...heights)).toBeGreaterThan(0);
      await shootBoth(page, mode, 'studio-analytics');
      // The same numbers as a table (always there for screen readers; shown on request).
      await item.getByRole('button', { name: 'Show as table' }).click();
      const rows = await item.locator('table tbody tr').evaluateAll((trs) => trs.map((tr) => Number((tr as unknown as { children: Array<{ textContent: string }> }).children[1]!.textContent)));
      expect(rows.reduce((x, y) => x + y, 0)).toBe(1);
      await item.getByLabel('Buckets').selectOption('day');
      await waitUntil('the daily series', async () => (await item.getByTestId('analytics-total').textContent())?.startsWith('1 view') === true, { timeoutMs: 10_000, intervalMs: 200 });
      await shootBoth(page, mode, 'studio-analytics-table');
    }, 90_000);

    it("the owner edits the channel; the subscriber's feed, home, trending and search list the video", async () => {
      await page.goto(`${base}${channelPath}`);
      await page.getByRole('button', { name: 'Edit channel' }).click();
      await page.getByLabel('Channel name').fill(`Studio ${suffix}`);
      await page.getByLabel('Channel description').fill('Test patterns, daily.');
      await page.getByRole('button', { name: 'Save channel' }).click();
      await page.getByRole('heading', { name: `Studio ${suffix}` }).waitFor();
      await page.getByText('Test patterns, daily.').waitFor();
      await page.reload();
      await page.getByRole('heading', { name: `Studio ${suffix}` }).waitFor();
      await page.getByRole('link', { name: published }).waitFor({ timeout: 20_000 });
      await shootBoth(page, mode, 'channel-owner');

      const fanPage = b.page;
      await fanPage.goto(`${base}/`);
      await fanPage.getByRole('link', { name: 'Subscriptions' }).click();
      await fanPage.getByRole('heading', { name: 'Subscriptions' }).waitFor();
      await waitUntil(
        'the feed lists the video',
        async () => {
          if ((await fanPage.getByRole('link', { name: published }).count()) > 0) return true;
          await fanPage.reload();
          return false;
        },
        { timeoutMs: 20_000, intervalMs: 1000 },
      );
      await shootBoth(fanPage, mode, 'subscriptions', SIZES.phone);
      await fanPage.goto(`${base}/`);
      await fanPage.getByRole('link', { name: published }).waitFor({ timeout: 20_000 });
      await shootBoth(fanPage, mode, 'home-signed-in', SIZES.phone);
      await fanPage.getByRole('link', { name: 'Trending' }).click();
      await fanPage.getByRole('heading', { name: 'Trending' }).waitFor();
      await shootBoth(fanPage, mode, 'trending', SIZES.phone);
      await fanPage.getByLabel('Search videos').fill('published');
      await fanPage.getByRole('button', { name: 'Search', exact: true }).click();
      await waitUntil('search finds it', async () => (await fanPage.getByRole('link', { name: published }).count()) > 0, { timeoutMs: 20_000, intervalMs: 500 });
      await shootBoth(fanPage, mode, 'search', SIZES.phone);
      // An unknown channel says so.
      await fanPage.goto(`${base}/channel/0190c0de-0000-7000-8000-000000000000`);
      await fanPage.getByRole('heading', { name: 'Channel not found' }).waitFor();
      await shootBoth(fanPage, mode, 'channel-not-found', SIZES.phone);
    }, 120_000);

    it('deletes the video from the Studio after a confirmation; the Studio is then empty', async () => {
      await page.goto(`${base}/studio`);
      const item = page.getByTestId(`studio-video-${videoId}`);
      await item.getByRole('button', { name: /^Edit/ }).click();
      await item.getByRole('button', { name: 'Delete…' }).click();
      const dialog = item.getByRole('alertdialog');
      await dialog.waitFor();
      await shootBoth(page, mode, 'studio-delete-confirm');
      // "Keep it" keeps it.
      await dialog.getByRole('button', { name: 'Keep it' }).click();
      await expect(dialog.count()).resolves.toBe(0);
      await item.getByRole('button', { name: 'Delete…' }).click();
      await item.getByRole('alertdialog').getByRole('button', { name: 'Delete for good' }).click();
      await page.getByText('You have no videos yet.').waitFor();
      await page.reload();
      await page.getByText('You have no videos yet.').waitFor();
      await shootBoth(page, mode, 'studio-empty');
      const gone = await page.evaluate(async (id) => (await fetch(`/api/v1/videos/${id}`)).status, videoId);
      expect(gone).toBe(404);
      // Signed out: the pages that need an account say so.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.goto(`${base}/studio`);
      await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
      await shootBoth(page, mode, 'studio-signed-out');
      await page.goto(`${base}/signin`);
      await shootBoth(page, mode, 'signin');
      await page.goto(`${base}/register`);
      await shootBoth(page, mode, 'register');
      expect(a.pageErrors).toEqual([]);
      expect(b.pageErrors).toEqual([]);
    }, 90_000);
  });
}

journey('embedded', () => startEmbeddedWeb('kinora_web_studio'));
journey('cluster', () => startClusteredWeb(work.dir));

// Where the pictures are, for whoever reads the log.
afterAll(() => console.log(`web studio e2e screenshots: ${join(artifacts)}`));
