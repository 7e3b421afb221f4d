// Real browser playback for tests (`@kinora/testing/browser`): Debian's Chromium driven by playwright-core, and a
// loopback page with hls.js and dash.js as published, whose window.kinoraPlay(options) plays a stream to its end with
// a forced level and reports what happened. Used by libs/media's playback tests (media served by the page's own
// server) and by the end-to-end suite (media through the edge: the media routes answer any origin).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ensureDebianPackage } from './internal/system.js';
import { repoRoot } from './internal/workspace.js';

/** Debian's Chromium: it plays H.264/AAC, unlike Playwright's own builds (which cannot be downloaded here anyway). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Returns the path of Debian's `chromium`, installing the package with apt-get (as root) when it is missing. */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  await ensureDebianPackage({ binary: 'chromium', packages: ['chromium'], logFile: join(tmpdir(), 'kinora-chromium-install.log') });
  return CHROMIUM_PATH;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile and the flags this machine needs (no sandbox as root, no background
 * networking: the closed network refuses it), autoplay allowed.
 */
export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const executablePath = await ensureChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'kinora-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
    viewport: opts.viewport ?? { width: 854, height: 480 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  return {
    context,
    page,
    pageErrors,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What window.kinoraPlay reports (see browser/player.html). */
export interface PlayResult {
  ended: boolean;
  timedOut: boolean;
  currentTime: number;
  duration: number;
  videoHeight: number;
  frameHeights: number[];
  heightsAfterSwitch: number[];
  switchedAt: number | null;
  levels: number[];
  errors: Array<{ source: string; fatal: boolean; type?: string; details: string }>;
  stalls: Array<{ source: string; details: string; t: number }>;
  waiting: number;
  log: string[];
}

export interface PlayOptions {
  player: 'hls' | 'dash';
  /** The master playlist or MPD: a path on the page's server, or an absolute URL (another origin must allow CORS). */
  src: string;
  /** Index in ascending bandwidth. */
  level: number;
  switchTo?: number;
  switchAfterSec?: number;
  rate: number;
  timeoutMs: number;
}

/** Plays one stream in the page (loaded from {@link startPlaybackServer}) and returns what happened. */
export async function playInPage(page: Page, options: PlayOptions): Promise<PlayResult> {
  await page.waitForFunction(() => typeof (globalThis as unknown as { kinoraPlay?: unknown }).kinoraPlay === 'function');
  return page.evaluate((o) => (globalThis as unknown as { kinoraPlay(o: PlayOptions): Promise<PlayResult> }).kinoraPlay(o), options);
}

const PAGE = fileURLToPath(new URL('../browser/player.html', import.meta.url));

/** The players as published: hls.js' UMD build and dash.js' modern UMD build (globals `Hls` and `dashjs`). */
function playerScripts(): Record<string, string> {
  const root = repoRoot();
  return {
    '/lib/hls.js': join(root, 'node_modules/hls.js/dist/hls.min.js'),
    '/lib/dash.js': join(root, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
  };
}

export interface PlaybackServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/**
 * A plain node:http server on loopback: the page at `/`, the players under `/lib/`, and, when `mediaRoot` is given,
 * that folder under `/media/` (whole files, GET/HEAD only) with the content types `contentType` gives.
 */
export async function startPlaybackServer(opts: { mediaRoot?: string; contentType?: (file: string) => string } = {}): Promise<PlaybackServer> {
  const scripts = playerScripts();
  const root = opts.mediaRoot;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (status: number, body: string | Buffer, type: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', 'text/plain');
    let file: string | undefined;
    let type = 'application/octet-stream';
    if (path === '/' || path === '/index.html') {
      file = PAGE;
      type = 'text/html; charset=utf-8';
    } else if (scripts[path]) {
      file = scripts[path];
      type = 'text/javascript; charset=utf-8';
    } else if (root && path.startsWith('/media/')) {
      const candidate = normalize(join(root, path.slice('/media/'.length)));
      if (candidate.startsWith(root + sep)) {
        file = candidate;
        type = opts.contentType?.(candidate) ?? type;
      }
    }
    if (!file) return send(404, 'not found', 'text/plain');
    readFile(file).then(
      (body) => send(200, body, type),
      () => send(404, `not found: ${extname(path)}`, 'text/plain'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
