import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { ensureFfmpeg } from '@kinora/testing';
import { launchChromium } from '@kinora/testing/browser';
import { repoRootForTests } from './repo-root.js';
import { client, createAndUpload, expectProblemShape, makeClip, register, startPlatform, waitForFinalState, type Account, type Platform } from './support.js';

// Comment and chat text with HTML and control characters: stored and returned as text (JSON, never HTML), control
// characters removed by the documented rules (apps/comment/README.md, apps/realtime/README.md).
let platform: Platform;
let api: ReturnType<typeof client>;
let alice: Account;
let videoId: string;
let socket: Socket;

const HTML = `<script>alert(1)</script><img src=x onerror="alert(2)"> &amp; &lt;b&gt; <a href="javascript:alert(3)">x</a> "quotes" 'single'`;

beforeAll(async () => {
  // The web app as `npm start` serves it (built by Vite unless current), for the Chromium check below.
  const root = repoRootForTests();
  const web = spawnSync(process.execPath, [join(root, 'scripts/build-web.mjs')], { encoding: 'utf8' });
  if (web.status !== 0 || !existsSync(join(root, 'apps/web/dist/index.html'))) throw new Error(`web build failed: ${web.stdout}${web.stderr}`);
  platform = await startPlatform('kinora_sec_text');
  api = client(platform.url);
  alice = await register(platform.url, 'alice');
  // Comments and chat are taken on ready videos only.
  await ensureFfmpeg();
  const dir = mkdtempSync(join(tmpdir(), 'kinora-sec-text-'));
  try {
    makeClip(join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc2=size=192x108:rate=25', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
    videoId = await createAndUpload(platform.url, alice, readFileSync(join(dir, 'clip.mp4')), {}, '<b>title</b>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect((await waitForFinalState(platform.url, alice, videoId)).state).toBe('ready');
  socket = io(`${platform.url}/realtime`, { path: '/socket.io', transports: ['websocket'], auth: { token: alice.token }, forceNew: true, reconnection: false, timeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}, 180_000);

afterAll(async () => {
  socket?.disconnect();
  await platform?.stop();
});

describe('comment text', () => {
  it('stores and returns HTML verbatim as JSON text: nothing escaped, nothing interpreted', async () => {
    const created = await api(`/api/v1/videos/${videoId}/comments`, { method: 'POST', token: alice.token, body: { text: HTML } });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    expect(created.headers.get('x-content-type-options')).toBe('nosniff');
    expect(created.body.text).toBe(HTML);
    const list = await api(`/api/v1/videos/${videoId}/comments?sort=new`);
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
    expect(list.body.items[0].text).toBe(HTML);
    // The raw body carries the characters as JSON strings (no HTML entity encoding on the way out either).
    expect(list.text).toContain('<script>alert(1)</script>');
    const edited = await api(`/api/v1/comments/${created.body.id}`, { method: 'PATCH', token: alice.token, body: { text: `${HTML}!` } });
    expect(edited.body.text).toBe(`${HTML}!`);
  });

  it('removes control characters and bidi overrides by the documented rule, keeps \\n and \\t', async () => {
    const raw = '  a\u0000b\u0007c\u001bd\u007fe\u0085f\r\ng\th\u202Eexe.txt\u202C\u2066i\u2069 ';
    const created = await api(`/api/v1/videos/${videoId}/comments`, { method: 'POST', token: alice.token, body: { text: raw } });
    expect(created.status).toBe(201);
    expect(created.body.text).toBe('abcdef\ng\thexe.txti');
    const list = await api(`/api/v1/videos/${videoId}/comments?sort=new`);
    expect(list.body.items[0].text).toBe('abcdef\ng\thexe.txti');
  });

  it('refuses text that is empty once control characters are removed, and lone surrogates never reach storage', async () => {
    const empty = await api(`/api/v1/videos/${videoId}/comments`, { method: 'POST', token: alice.token, body: { text: '\u0000\u0001\u202E \u0007' } });
    expectProblemShape(empty, 400);
    expect(JSON.stringify(empty.body.errors)).toContain('/body/text');
    // A lone surrogate sent as a JSON escape (PostgreSQL would refuse it): stripped, not a 500.
    const res = await fetch(`${platform.url}/api/v1/videos/${videoId}/comments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: '{"text":"ok \\ud800 fine"}',
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { text: string }).text).toBe('ok  fine');
  });
});

describe('NUL characters anywhere (regression: schemathesis found a NUL in a login name was a 500)', () => {
  it('are 400 problems wherever they would reach the database, never 500s', async () => {
    const attempts = [
      await api('/api/v1/auth/login', { method: 'POST', body: { login: 'f\u0000x', password: 'whatever-password' } }),
      await api('/api/v1/auth/register', { method: 'POST', body: { username: 'nul\u0000user', email: 'nul@example.com', password: 'correct horse battery' } }),
      await api('/api/v1/videos', { method: 'POST', token: alice.token, body: { title: 'a\u0000b' } }),
      await api(`/api/v1/videos/${videoId}`, { method: 'PATCH', token: alice.token, body: { description: 'x\u0000', tags: ['t\u0000'] } }),
      await api('/api/v1/users/me', { method: 'PATCH', token: alice.token, body: { displayName: 'A\u0000' } }),
      await api(`/api/v1/channels/${alice.channelId}`, { method: 'PATCH', token: alice.token, body: { name: 'c\u0000', description: 'd\u0000' } }),
      await api('/api/v1/search?q=a%00b'),
    ];
    const statuses = attempts.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    for (const r of attempts) if (r.status >= 400) expectProblemShape(r, r.status);
    // The writes did not happen.
    const video = await api(`/api/v1/videos/${videoId}`, { token: alice.token });
    expect(video.body.description).not.toContain('\u0000');
  });
});

describe('chat text', () => {
  it('delivers HTML verbatim as text and removes control characters (line breaks become spaces)', async () => {
    await socket.timeout(5000).emitWithAck('video:join', { videoId });
    const html = await socket.timeout(5000).emitWithAck('chat:send', { videoId, text: HTML });
    expect(html).toMatchObject({ ok: true, message: { text: HTML } });
    const ctl = await socket.timeout(5000).emitWithAck('chat:send', { videoId, text: ' a\u0000b\nc\td\u001b\u202Ee\u0085f ' });
    expect(ctl).toMatchObject({ ok: true, message: { text: 'ab c de f' } });
    const empty = await socket.timeout(5000).emitWithAck('chat:send', { videoId, text: '\u0000\u0007\u202E' });
    expect(empty.ok).toBe(false);
    const history = await api(`/api/v1/videos/${videoId}/chat`);
    expect(history.headers.get('content-type')).toMatch(/^application\/json/);
    expect(history.body.items.map((m: { text: string }) => m.text)).toEqual(['ab c de f', HTML]);
  });
});

describe('the web app renders user text as text', () => {
  it('shows an HTML title and description literally in Chromium: no element made, no script run', async () => {
    const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b id="injected">bold</b>`;
    expect((await api(`/api/v1/videos/${videoId}`, { method: 'PATCH', token: alice.token, body: { title: `T ${payload}`, description: `D ${payload}` } })).status).toBe(200);
    const browser = await launchChromium();
    try {
      await browser.page.goto(`${platform.url}/watch/${videoId}`);
      // Browser-side code as strings: the tests are type-checked without the DOM library.
      await browser.page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(`D ${payload}`)})`, undefined, { timeout: 30_000 });
      const seen = (await browser.page.evaluate(`({
        xss: window.__xss ?? null,
        injected: document.querySelectorAll('#injected, img[src="x"]').length + [...document.scripts].filter((x) => (x.textContent ?? '').includes('__xss')).length,
        title: document.body.innerText.includes('T <img src=x'),
      })`)) as { xss: number | null; injected: number; title: boolean };
      expect(seen).toEqual({ xss: null, injected: 0, title: true });
      expect(browser.pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('never hands user content to an HTML sink (innerHTML, dangerouslySetInnerHTML, insertAdjacentHTML, document.write)', () => {
    const root = join(repoRootForTests(), 'apps/web/src');
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(tsx?|jsx?)$/.test(name) && !/\.(spec|test)\./.test(name)) {
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/dangerouslySetInnerHTML|\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|new DOMParser|createContextualFragment/.test(line)) hits.push(`${p}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(root);
    expect(hits).toEqual([]);
  });
});
