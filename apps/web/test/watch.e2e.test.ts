import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitUntil } from '@kinora/testing';
import { launchChromium, type Browser } from '@kinora/testing/browser';
import { artifacts, buildAndMakeClip, expectRenditionSwitching, measureWatchPage, register, shootBoth, SIZES, startClusteredWeb, startEmbeddedWeb, WATCH_JS_BUDGET, type Platform } from './support.js';

// The watch page end to end in Debian's Chromium, in both modes (`npm start`: the gateway serves the app; `npm run
// cluster`: the edge serves it from disk). One upload per mode, then: playback (first frame, time advances, every
// rendition offered, switching works, DASH loaded on demand), keyboard controls and storyboard previews; like,
// comments and replies seen live by a second browser (its own profile, phone-sized), subscribe; chat both ways,
// a refused message shown readably, signed-out viewers asked to sign in. Screenshots of the watch page at desktop
// and phone sizes go to .cache/test-artifacts/web/watch-<mode>-*.png, the figures to watch-figures.json there.
const work = buildAndMakeClip('kinora-watch-e2e-');
const figures: Record<string, number> = {};

afterAll(() => {
  if (Object.keys(figures).length > 0) writeFileSync(join(artifacts, 'watch-figures.json'), JSON.stringify(figures, null, 2) + '\n');
});

type VideoEl = { currentTime: number; paused: boolean; muted: boolean; volume: number; duration: number; videoHeight: number; play(): Promise<void>; pause(): void };
const media = (page: Page) => page.locator('video').evaluate((v) => {
  const el = v as unknown as VideoEl;
  return { currentTime: el.currentTime, paused: el.paused, muted: el.muted, volume: el.volume, duration: el.duration, videoHeight: el.videoHeight };
});

function journey(mode: 'embedded' | 'cluster', start: () => Promise<Platform>): void {
  describe(`the watch page, end to end (${mode === 'embedded' ? 'npm start' : 'npm run cluster'})`, () => {
    const suffix = `${mode[0]}${Date.now().toString(36)}`;
    const owner = `own_${suffix}`;
    const fan = `fan_${suffix}`;
    const title = `Watch me ${suffix}`;
    let platform: Platform | undefined;
    let base = '';
    let a: Browser;
    let b: Browser | undefined;
    let watchPath = '';

    const shoot = (page: Page, name: string) => shootBoth(page, `watch-${mode}`, name);

    beforeAll(async () => {
      platform = await start();
      base = platform.url;
      a = await launchChromium({ viewport: SIZES.desktop });
    }, 300_000);

    afterAll(async () => {
      await b?.close();
      await a?.close();
      await platform?.stop();
    }, 120_000);

    it('uploads a clip, then plays it: first frame, time advances, every rendition offered, switching works', async () => {
      const page = a.page;
      await register(page, base, owner);
      await page.getByRole('link', { name: 'Upload' }).click();
      await page.locator('input[name=file]').setInputFiles(work.clip);
      await page.getByLabel('Title').fill(title);
      await page.getByLabel('Description').fill('A generated clip to watch');
      await page.getByRole('button', { name: 'Upload' }).click();
      await page
        .getByText('Your video is ready')
        .waitFor({ timeout: 180_000 })
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\nthe page says: ${await page.locator('main').innerText()}\nthe platform logged: ${platform?.logs()}`);
        });
      watchPath = (await page.getByRole('link', { name: 'Watch it' }).getAttribute('href')) ?? '';
      expect(watchPath).toMatch(/^\/watch\/[\w-]+$/);

      // A full navigation, timed to the first rendered frame; the scripts it asked for until then, gzipped.
      const measured = await measureWatchPage(page, `${base}${watchPath}`);
      const firstFrame = measured.firstFrameMs;
      const jsBytes = measured.initialJsGzipBytes;
      const js = measured.initialScripts;
      figures[`${mode}.watchFirstFrameMs`] = firstFrame;
      figures[`${mode}.watchInitialJsGzipBytes`] = jsBytes;
      figures[`${mode}.watchScripts`] = js.length;
      console.log(`watch e2e figures (${mode}): navigation → first frame ${firstFrame} ms; watch page JS ${(jsBytes / 1024).toFixed(1)} KiB gzipped in ${js.length} files`);
      expect(firstFrame).toBeGreaterThan(0);
      expect(jsBytes).toBeLessThan(WATCH_JS_BUDGET);
      // dash.js is not part of it: its chunk loads only when DASH is chosen.
      expect(js.filter((u) => /dash/i.test(u))).toEqual([]);

      const t0 = (await media(page)).currentTime;
      await waitUntil('playback advances', async () => (await media(page)).currentTime > t0 + 0.5, { timeoutMs: 15_000, intervalMs: 100 });
      await expect(page.getByRole('heading', { name: title }).isVisible()).resolves.toBe(true);
      await expect(page.getByRole('link', { name: owner }).getAttribute('href')).resolves.toMatch(/^\/channel\/[\w-]+$/);
      // Own channel: no subscribe button.
      await expect(page.getByRole('button', { name: /Subscribe to/ }).count()).resolves.toBe(0);

      await expectRenditionSwitching(page);
      await shoot(page, 'playing');
    }, 300_000);

    it('plays with dash.js when DASH is chosen (a chunk loaded then), with its renditions, and back to HLS', async () => {
      const page = a.page;
      const loaded: string[] = [];
      const onResponse = (res: { url(): string; request(): { resourceType(): string } }) => res.request().resourceType() === 'script' && loaded.push(res.url());
      page.on('response', onResponse);
      await page.getByLabel('Streaming format').selectOption('dash');
      await waitUntil('dash.js plays', async () => (await page.locator('.player').getAttribute('data-engine')) === 'dash' && (await page.getByLabel('Quality').locator('option').count()) >= 3, { timeoutMs: 20_000, intervalMs: 100 });
      page.off('response', onResponse);
      expect(loaded.length).toBeGreaterThan(0);
      await page.locator('video').evaluate((v) => {
        const el = v as unknown as VideoEl;
        el.currentTime = 0;
        return el.play();
      });
      const t0 = (await media(page)).currentTime;
      await waitUntil('DASH playback advances', async () => (await media(page)).currentTime > t0 + 0.5, { timeoutMs: 15_000, intervalMs: 100 });
      await page.getByLabel('Quality').selectOption({ label: '144p' });
      await page.locator('video').evaluate((v) => {
        const el = v as unknown as VideoEl;
        el.currentTime = 0;
        return el.play();
      });
      await waitUntil('DASH playing 144p', async () => (await media(page)).videoHeight === 144, { timeoutMs: 20_000, intervalMs: 100 });
      // The choice is kept; HLS again for the rest.
      await page.getByLabel('Streaming format').selectOption('hls');
      await waitUntil('hls.js again', async () => (await page.locator('.player').getAttribute('data-engine')) === 'hls', { timeoutMs: 10_000, intervalMs: 100 });
    }, 90_000);

    it('answers the keyboard (k, 0-9, arrows, j/l, m, f) and previews the storyboard over the seek bar', async () => {
      const page = a.page;
      await page.goto(`${base}${watchPath}`);
      await waitUntil('metadata', async () => (await media(page)).duration > 5, { timeoutMs: 20_000, intervalMs: 100 });
      await page.locator('video').evaluate((v) => (v as unknown as VideoEl).pause());
      await page.locator('video').focus();
      for (const [key, paused] of [['k', false], ['k', true], [' ', false], [' ', true]] as const) {
        await page.keyboard.press(key);
        await waitUntil(`${key === ' ' ? 'space' : key} ${paused ? 'pauses' : 'plays'}`, async () => (await media(page)).paused === paused, { timeoutMs: 5000, intervalMs: 50 });
      }
      const duration = (await media(page)).duration;
      const at = async (key: string, expected: number) => {
        await page.keyboard.press(key);
        await waitUntil(`${key} seeks to ${expected.toFixed(1)} s`, async () => Math.abs((await media(page)).currentTime - expected) < 0.3, { timeoutMs: 5000, intervalMs: 50 });
      };
      await at('5', duration / 2);
      await at('ArrowLeft', Math.max(0, duration / 2 - 5));
      await at('ArrowRight', Math.max(0, duration / 2 - 5) + 5);
      await at('j', Math.max(0, Math.max(0, duration / 2 - 5) + 5 - 10));
      await at('l', Math.min(duration, 10));
      await at('0', 0);
      const muted = (await media(page)).muted;
      await page.keyboard.press('m');
      await waitUntil('m toggles mute', async () => (await media(page)).muted === !muted, { timeoutMs: 5000, intervalMs: 50 });
      await page.keyboard.press('m');
      const volume = (await media(page)).volume;
      await page.keyboard.press('ArrowDown');
      await waitUntil('volume down', async () => Math.abs((await media(page)).volume - Math.max(0, volume - 0.1)) < 0.01, { timeoutMs: 5000, intervalMs: 50 });
      await page.keyboard.press('f');
      await waitUntil('fullscreen', () => page.evaluate(() => (globalThis as unknown as { document: { fullscreenElement: { className: string } | null } }).document.fullscreenElement?.className === 'player'), { timeoutMs: 5000, intervalMs: 50 });
      await page.keyboard.press('f');
      await waitUntil('fullscreen left', () => page.evaluate(() => (globalThis as unknown as { document: { fullscreenElement: unknown } }).document.fullscreenElement === null), { timeoutMs: 5000, intervalMs: 50 });

      // Storyboard: hovering the middle of the seek bar shows the tile of that time, a sprite the server serves.
      const bar = page.getByLabel('Seek');
      const box = (await bar.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      const image = page.getByTestId('storyboard-image');
      await image.waitFor({ timeout: 10_000 });
      const bg = await image.evaluate((el) => (el as unknown as { style: { backgroundImage: string } }).style.backgroundImage);
      const sprite = /url\("(.+)"\)/.exec(bg)?.[1] ?? '';
      expect(sprite).toMatch(/\/storyboard\/sprite_\d+\.jpg$/);
      const res = await page.request.get(sprite);
      expect(res.status()).toBe(200);
      expect(res.headers()['content-type']).toBe('image/jpeg');
      await page.screenshot({ path: join(artifacts, `watch-${mode}-storyboard-desktop.png`) });
      await page.mouse.move(0, 0);
    }, 90_000);

    it('shows a like, a comment and a reply live in a second browser; the fan subscribes', async () => {
      const page = a.page;
      b = await launchChromium({ viewport: SIZES.phone });
      const other = b.page;
      await register(other, base, fan);
      await other.goto(`${base}${watchPath}`);
      await other.getByText(/\d+ watching/).waitFor({ timeout: 20_000 });
      await page.getByText(/\d+ watching/).waitFor({ timeout: 20_000 });

      // Like: at once here, live there.
      await expect(other.getByTestId('likes').textContent()).resolves.toBe('0');
      await page.getByRole('button', { name: / likes$/ }).click();
      await expect(page.getByTestId('likes').textContent()).resolves.toBe('1');
      await waitUntil('the like reaches the second browser', async () => (await other.getByTestId('likes').textContent()) === '1', { timeoutMs: 20_000, intervalMs: 100 });
      // Pushes computed before the like landed never take it back here.
      for (let i = 0; i < 10; i++) {
        expect(await page.getByTestId('likes').textContent()).toBe('1');
        await page.waitForTimeout(100);
      }

      // A comment, live in the second browser; the fan's reply, live here under it.
      const text = `First! ${suffix}`;
      await page.getByLabel('Add a comment').fill(text);
      await page.getByRole('button', { name: 'Comment', exact: true }).click();
      await page.locator('.comment-text', { hasText: text }).waitFor();
      await other.locator('.comment-text', { hasText: text }).waitFor({ timeout: 20_000 });
      const theirs = other.locator('li.comment', { has: other.locator('.comment-text', { hasText: text }) });
      await theirs.getByRole('button', { name: 'Reply' }).click();
      await other.getByLabel(`Reply to ${owner}`).fill(`Welcome ${suffix}`);
      await theirs.locator('form').getByRole('button', { name: 'Reply' }).click();
      await other.locator('.replies .comment-text', { hasText: `Welcome ${suffix}` }).waitFor();
      await page.locator('.replies .comment-text', { hasText: `Welcome ${suffix}` }).waitFor({ timeout: 20_000 });

      // Edit my comment; the fan likes it (the count from the API).
      const mine = page.locator('li.comment', { has: page.locator('> .comment-text', { hasText: text }) });
      await mine.getByRole('button', { name: 'Edit' }).first().click();
      await page.getByLabel('Edit your comment').fill(`${text} (edited)`);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('.comment-text', { hasText: `${text} (edited)` }).waitFor();
      await theirs.getByRole('button', { name: /Like comment/ }).first().click();
      await waitUntil('the comment like is counted', async () => (await theirs.getByTestId('comment-likes').first().textContent()) === '1', { timeoutMs: 10_000, intervalMs: 100 });

      // Subscribe from the fan's browser, kept after a reload.
      const subscribe = other.getByRole('button', { name: `Subscribe to ${owner}` });
      await subscribe.click();
      await other.getByRole('button', { name: `Unsubscribe from ${owner}` }).waitFor();
      await other.reload();
      await other.getByRole('button', { name: `Unsubscribe from ${owner}` }).waitFor({ timeout: 10_000 });
      await other.screenshot({ path: join(artifacts, `watch-${mode}-second-browser-phone.png`), fullPage: true });
      expect(b.pageErrors).toEqual([]);
    }, 120_000);

    it('chats between the two browsers; a refused message is explained; signed out, the chat asks to sign in', async () => {
      const page = a.page;
      const other = b!.page;
      // Both in the video's room (the fan's page was reloaded: its live connection starts after the first frame).
      await other.getByText(/\d+ watching/).waitFor({ timeout: 20_000 });
      await page.getByRole('textbox', { name: 'Chat message' }).fill(`hello from ${owner}`);
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('.chat-list', { hasText: `hello from ${owner}` }).waitFor();
      await other
        .locator('.chat-list', { hasText: `hello from ${owner}` })
        .waitFor({ timeout: 20_000 })
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\nthe second browser's chat: ${await other.locator('.chat').innerText()}\nits errors: ${b!.pageErrors.join('; ')}`);
        });
      await other.getByRole('textbox', { name: 'Chat message' }).fill(`hi ${owner}, from ${fan}`);
      await other.getByRole('button', { name: 'Send' }).click();
      await page.locator('.chat-list', { hasText: `hi ${owner}, from ${fan}` }).waitFor({ timeout: 20_000 });
      // Only control characters: nothing left once cleaned, the server refuses it, the refusal is readable.
      await page.getByRole('textbox', { name: 'Chat message' }).fill('\u0007\u0007');
      await page.getByRole('button', { name: 'Send' }).click();
      const alert = page.locator('.chat [role=alert]');
      await alert.waitFor({ timeout: 10_000 });
      const message = (await alert.textContent()) ?? '';
      expect(message.length).toBeGreaterThan(10);
      expect(message).not.toMatch(/undefined|\[object|^[A-Z_]+$/);
      expect(message).not.toMatch(/^(.+) \(\1\)$/);
      await shoot(page, 'comments-chat');

      // The history is there after a reload, and for a signed-out viewer who is asked to sign in to chat.
      await other.getByRole('button', { name: 'Sign out' }).click();
      await other.goto(`${base}${watchPath}`);
      await other.locator('.chat-list', { hasText: `hello from ${owner}` }).waitFor({ timeout: 10_000 });
      await other
        .getByRole('link', { name: 'Sign in to chat' })
        .waitFor({ timeout: 10_000 })
        .catch(async (err: Error) => {
          await other.screenshot({ path: join(artifacts, `watch-${mode}-signed-out-failed-phone.png`), fullPage: true });
          throw new Error(`${err.message}\nthe page says: ${await other.locator('main').innerText()}\nstored: ${await other.evaluate(() => JSON.stringify((globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('kinora.tokens')))}`);
        });
      await other.getByText('Sign in to comment.').waitFor();
      await expect(other.getByRole('textbox', { name: 'Chat message' }).count()).resolves.toBe(0);
      // Related videos: the section answers (the only other video would be listed; here there is none).
      await other.getByRole('heading', { name: 'Up next' }).waitFor();
      await other.getByText('No other videos yet.').waitFor({ timeout: 10_000 });
      await other.screenshot({ path: join(artifacts, `watch-${mode}-signed-out-phone.png`), fullPage: true });
      expect(a.pageErrors).toEqual([]);
      expect(b!.pageErrors).toEqual([]);
    }, 90_000);
  });
}

journey('embedded', () => startEmbeddedWeb('kinora_watch'));
journey('cluster', () => startClusteredWeb(work.dir));
