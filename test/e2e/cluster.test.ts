import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { formatLsnToken, LSN_HEADER, parseLsnToken } from '@kinora/db';
import { startCluster, startEmbedded, waitUntil, type ClusterHandle, type EmbeddedHandle } from '@kinora/testing';
import { launchChromium, playInPage, startPlaybackServer, type Browser, type PlaybackServer } from '@kinora/testing/browser';

// One user's journey through the whole platform, in both modes, with the same answers expected:
// - cluster mode (`npm run cluster`): every service its own process on Kafka, Redis and a PostgreSQL primary +
//   replica, two gateways and two realtime instances behind the nginx edge; counts checked exactly through the API
//   and on a socket held by the OTHER realtime instance than the one the chat REST routes use; then a service is
//   killed: its breaker opens and everything else keeps serving;
// - embedded mode (`npm start`): the launcher, one process, on the in-process bus.

let cluster: ClusterHandle;
let clipDir: string;
/** Where the journey's requests go: the cluster's edge, or the embedded launcher. */
let base: string;
/** The ready public video of the cluster journey (the breaker test breaks and mends the comment service around it). */
let readyVideoId: string | undefined;
const sockets: Socket[] = [];
/** Real playback: Debian's Chromium with hls.js and dash.js on a loopback page, the media from the platform. */
let browser: Browser;
let playerPage: PlaybackServer;

const COMMON_ENV = {
  RATE_LIMIT_AUTH: 'off',
  RATE_LIMIT_GENERAL: 'off',
  COUNTER_FLUSH_INTERVAL_MS: '500',
  TRANSCODE_PRESET: 'ultrafast',
};

beforeAll(async () => {
  clipDir = mkdtempSync(join(tmpdir(), 'kinora-e2e-'));
  // 3.2 s of 426x240 test pattern with a tone: rungs 144p and 240p. 3.2 s is 80 video frames at 25 fps and exactly
  // 150 AAC frames at 48 kHz, so both tracks end together: with an audio track a few ms longer than the video (3 s:
  // 3.008 s), dash.js 5 sometimes pauses itself at the video's end and seeks back 0.5 s on a loaded machine (seen
  // in CI; see the session notes), which is a player quirk this suite is not about.
  const ff = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3.2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', join(clipDir, 'clip.mp4')],
    { encoding: 'utf8' },
  );
  if (ff.status !== 0) throw new Error(`ffmpeg could not make the test clip: ${ff.stderr ?? ff.error}`);
  playerPage = await startPlaybackServer();
  browser = await launchChromium();
  await browser.page.goto(`${playerPage.origin}/`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await playerPage?.close();
  for (const s of sockets) s.disconnect();
  if (clipDir) rmSync(clipDir, { recursive: true, force: true });
});

interface Account {
  id: string;
  channelId: string;
  token: string;
  headers: Record<string, string>;
}

/** The read-your-writes token (`Kinora-Lsn`), echoed the way the web app's API client does it. */
let lsnToken = '';

async function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(lsnToken ? { [LSN_HEADER]: lsnToken } : {}),
      ...(init.headers ?? {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  // Answers may arrive in any order: parseLsnToken keeps the higher of a database's repeated positions.
  const answered = res.headers.get(LSN_HEADER);
  if (answered) lsnToken = formatLsnToken(parseLsnToken([lsnToken, answered]));
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

async function register(name: string): Promise<Account> {
  const r = await api('/api/v1/auth/register', { method: 'POST', body: { username: name, email: `${name}@example.com`, password: 'correct horse battery' } });
  expect(r.status).toBe(201);
  // The write's position comes back through the edge and the gateway (the users database, or the one of `npm start`).
  expect(r.headers.get(LSN_HEADER)).toMatch(/\b(users|main)=[0-9A-F]+\/[0-9A-F]+/);
  return { id: r.body.user.id, channelId: r.body.user.channelId, token: r.body.accessToken, headers: { authorization: `Bearer ${r.body.accessToken}` } };
}

function connect(url: string, token: string): Promise<Socket> {
  const socket = io(`${url}/realtime`, { path: '/socket.io', transports: ['websocket'], auth: { token }, forceNew: true, reconnection: false, timeout: 5000 });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const ask = (s: Socket, event: string, payload: unknown): Promise<any> => s.timeout(5000).emitWithAck(event, payload);

interface Target {
  name: string;
  /** Two realtime endpoints: Bob watches on the second, Alice on the first (the same one in embedded mode). */
  realtime: [string, string];
  /** Extra checks once the counts are exact (cluster: the internal API of the other analytics instance). */
  afterCounts?: (videoId: string, expected: Record<string, number>) => Promise<void>;
}

/**
 * One user's journey, the same in both modes: register → tus upload → transcode → HLS/DASH played in Chromium →
 * subscribe, view, like,
 * comment, reply → exact counts in the API and pushed on sockets → notification → chat. Returns the video's id.
 */
async function journey(target: Target): Promise<string> {
    const suffix = Date.now().toString(36);
    const alice = await register(`alice_${suffix}`);
    const bob = await register(`bob_${suffix}`);

    // Alice creates a video and uploads it with tus, through the edge and a gateway.
    const created = await api('/api/v1/videos', { method: 'POST', headers: alice.headers, body: { title: `Clip (${target.name})`, tags: ['e2e'] } });
    expect(created.status).toBe(201);
    const videoId: string = created.body.id;
    const bytes = readFileSync(join(clipDir, 'clip.mp4'));
    const upload = await fetch(`${base}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...alice.headers, 'tus-resumable': '1.0.0', 'upload-length': String(bytes.length), 'upload-metadata': `videoId ${Buffer.from(videoId).toString('base64')}` },
    });
    expect(upload.status).toBe(201);
    const location = upload.headers.get('location')!;
    expect(location).toContain(videoId);
    const patch = await fetch(new URL(new URL(location).pathname, base), {
      method: 'PATCH',
      headers: { ...alice.headers, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: bytes,
    });
    expect(patch.status).toBe(204);
    expect(patch.headers.get('upload-offset')).toBe(String(bytes.length));

    // The transcoder (its own process) makes the ladder; the video service learns it from Kafka.
    const ready = await waitUntil(
      'the video is ready',
      async () => {
        const v = await api(`/api/v1/videos/${videoId}`, { headers: alice.headers });
        if (v.body?.state === 'failed') throw new Error(`transcoding failed: ${v.body.failureReason}`);
        return v.body?.state === 'ready' ? v.body : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(ready.renditions.map((r: { height: number }) => r.height)).toEqual([144, 240]);

    // HLS and DASH through the edge: master → media playlist → init + first segment; the MPD.
    const hls = new URL(ready.streams.hls);
    const master = await fetch(new URL(hls.pathname + hls.search, base));
    const masterText = await master.text();
    expect({ status: master.status, url: master.url, body: masterText.slice(0, 300) }).toMatchObject({ status: 200 });
    expect(masterText).toContain('#EXTM3U');
    const variant = masterText.split('\n').find((l) => l && !l.startsWith('#'))!;
    const variantUrl = new URL(variant, master.url);
    const media = await (await fetch(variantUrl)).text();
    expect(media).toMatch(/#EXT-X-TARGETDURATION:[1-4]\b/);
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(media)![1]!;
    const firstSegment = media.split('\n').find((l) => l && !l.startsWith('#'))!;
    for (const part of [init, firstSegment]) {
      const seg = await fetch(new URL(part, variantUrl));
      expect(seg.status).toBe(200);
      expect(seg.headers.get('cache-control')).toContain('immutable');
      expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const dash = new URL(ready.streams.dash);
    const mpd = await fetch(new URL(dash.pathname + dash.search, base));
    expect(mpd.status).toBe(200);
    expect(await mpd.text()).toContain('<MPD');

    // Played for real in Chromium (hls.js and dash.js on another origin, as on a third-party site), top rung forced.
    for (const [player, src] of [['hls', new URL(hls.pathname + hls.search, base).href], ['dash', new URL(dash.pathname + dash.search, base).href]] as const) {
      const played = await playInPage(browser.page, { player, src, level: 1, rate: 2, timeoutMs: 30_000 });
      await browser.page.evaluate(() => (globalThis as unknown as { kinoraStop(): void }).kinoraStop());
      if (!played.ended) process.stderr.write(`[e2e playback] ${player}: ${JSON.stringify({ ...played, log: undefined })}\n  ${played.log.join('\n  ')}\n`);
      expect({ player, ended: played.ended, height: played.videoHeight, fatal: played.errors.filter((e) => e.fatal) }).toEqual({ player, ended: true, height: 240, fatal: [] });
      expect(played.currentTime).toBeGreaterThanOrEqual(played.duration - 0.5);
    }
    expect(browser.pageErrors).toEqual([]);

    // Bob watches on realtime-2 directly (the chat REST routes go to realtime-1), Alice on realtime-1.
    const bobSocket = await connect(target.realtime[1], bob.token);
    const aliceSocket = await connect(target.realtime[0], alice.token);
    const counts: any[] = [];
    const notifications: any[] = [];
    bobSocket.on('video:counts', (c) => counts.push(c));
    bobSocket.on('notification', (n) => notifications.push(n));
    expect(await ask(bobSocket, 'video:join', { videoId })).toMatchObject({ ok: true, counts: { videoId, views: 0, likes: 0, comments: 0 } });
    expect(await ask(aliceSocket, 'video:join', { videoId })).toMatchObject({ ok: true });

    // Engagement through the edge: subscribe, view, like, comment; Alice replies.
    expect((await api(`/api/v1/channels/${alice.channelId}/subscription`, { method: 'PUT', headers: bob.headers })).status).toBe(204);
    expect((await api(`/api/v1/videos/${videoId}/views`, { method: 'POST', headers: bob.headers, body: {} })).status).toBe(202);
    expect((await api(`/api/v1/videos/${videoId}/views`, { method: 'POST', headers: bob.headers, body: {} })).status).toBe(202); // same viewer, same hour
    expect((await api(`/api/v1/videos/${videoId}/views`, { method: 'POST', body: { viewerId: `anon-${suffix}` } })).status).toBe(202);
    expect((await api(`/api/v1/videos/${videoId}/rating`, { method: 'PUT', headers: bob.headers, body: { value: 'like' } })).body).toEqual({ value: 'like' });
    expect((await api(`/api/v1/videos/${videoId}/rating`, { method: 'PUT', headers: alice.headers, body: { value: 'dislike' } })).body).toEqual({ value: 'dislike' });
    const comment = await api(`/api/v1/videos/${videoId}/comments`, { method: 'POST', headers: bob.headers, body: { text: 'Nice clip' } });
    expect(comment.status).toBe(201);
    const reply = await api(`/api/v1/videos/${videoId}/comments`, { method: 'POST', headers: alice.headers, body: { text: 'Thanks!', parentId: comment.body.id } });
    expect(reply.status).toBe(201);

    const expected = { views: 2, likes: 1, dislikes: 1, comments: 2 };
    // Exact in the API (the video service reads analytics' counters, fed by its events)…
    const stats = await waitUntil(
      'exact stats in the API',
      async () => {
        const v = await api(`/api/v1/videos/${videoId}`);
        const s = v.body?.stats;
        return s && s.views === expected.views && s.likes === expected.likes && s.dislikes === expected.dislikes && s.comments === expected.comments ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(stats).toEqual(expected);
    // …and pushed to the socket on the other realtime instance (watching: Bob and Alice, one on each instance).
    await waitUntil('exact counts pushed to the socket on the other instance', async () => counts.some((c) => c.views === 2 && c.likes === 1 && c.dislikes === 1 && c.comments === 2 && c.watching === 2), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(counts.every((c) => c.videoId === videoId)).toBe(true);
    await target.afterCounts?.(videoId, expected);
    const channel = await waitUntil(
      'channel counts',
      async () => {
        const c = (await api(`/api/v1/channels/${alice.channelId}`)).body;
        return c?.subscriberCount === 1 && c?.videoCount === 1 ? c : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(channel).toMatchObject({ id: alice.channelId, subscriberCount: 1, videoCount: 1 });

    // Recommendations (consumed from video.lifecycle, video.views, video.likes): the anonymous home lists the video
    // as the video service shows it (its exact stats); it is never its own related video.
    const recommended = await waitUntil(
      'the home feed lists the video with its stats',
      async () => {
        const items = (await api('/api/v1/feed/home')).body?.items as Array<{ id: string; stats?: { views: number } }> | undefined;
        const v = items?.find((x) => x.id === videoId);
        return v?.stats?.views === expected.views ? v : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(recommended).toMatchObject({ id: videoId, channel: { id: alice.channelId }, stats: expected });
    const related = await api(`/api/v1/videos/${videoId}/related`);
    expect(related.status).toBe(200);
    expect(related.body.items.map((x: { id: string }) => x.id)).not.toContain(videoId);

    // Bob's notifications: the reply, on his socket and in the REST list.
    await waitUntil('reply notification on the socket', async () => notifications.some((n) => n.kind === 'comment.reply'), { timeoutMs: 30_000, intervalMs: 100 });
    const listed = await api('/api/v1/notifications', { headers: bob.headers });
    expect(listed.body.items.map((n: { kind: string }) => n.kind)).toContain('comment.reply');

    // Live chat across instances: Alice (realtime-1) says hello, Bob (realtime-2) gets it.
    const chat = new Promise<any>((resolve) => bobSocket.once('chat:message', resolve));
    expect(await ask(aliceSocket, 'chat:send', { videoId, text: 'hello from realtime-1' })).toMatchObject({ ok: true });
    expect((await chat).message.text).toBe('hello from realtime-1');
    return videoId;
}

describe('cluster mode (npm run cluster)', () => {
  beforeAll(async () => {
    cluster = await startCluster({
      logLevel: 'warn',
      env: { ...COMMON_ENV, BREAKER_FAILURE_THRESHOLD: '3', BREAKER_HALF_OPEN_AFTER_MS: '2000', UPSTREAM_RETRIES: '0' },
      edgeEnv: { EDGE_RATE_LIMIT: 'off', EDGE_MEDIA_RATE_LIMIT: 'off', EDGE_CONN_LIMIT: 'off' },
    });
    base = cluster.url;
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('register → tus upload → transcode → HLS/DASH → engagement → exact counts in the API and on sockets of both realtime instances → notification', async () => {
    readyVideoId = await journey({
      name: 'cluster',
      realtime: [cluster.processes.get('realtime-1')!.url, cluster.processes.get('realtime-2')!.url],
      afterCounts: async (videoId) => {
        // The internal counters API answers service to service, never through the edge and the gateways.
        expect((await api(`/internal/v1/counters/videos?ids=${videoId}`)).status).toBe(404);
        await waitUntil(
          'the internal API of the other analytics instance agrees (replica reads)',
          async () => {
            const res = await fetch(`${cluster.processes.get('analytics-2')!.url}/internal/v1/counters/videos?ids=${videoId}`);
            const [row] = ((await res.json()) as { items: Array<Record<string, unknown>> }).items;
            return row && row['views'] === 2 && row['likes'] === 1 && row['dislikes'] === 1 && row['comments'] === 2;
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        );
      },
    });
  }, 240_000);

  it('a killed service: its breaker opens (fast 503 problems) and the rest keeps serving; it recovers when the service returns', async () => {
    const owner = await register(`carol_${Date.now().toString(36)}`);
    const created = await api('/api/v1/videos', { method: 'POST', headers: owner.headers, body: { title: 'Draft' } });
    expect(created.status).toBe(201);
    expect(readyVideoId).toBeDefined();
    const commentsUrl = `/api/v1/videos/${readyVideoId}/comments`;
    expect((await api(commentsUrl)).status).toBe(200);
    const comment = cluster.processes.get('comment')!;
    await comment.stop('SIGKILL');

    // A read the gateways answered before is served from their stale-if-error copy, marked as such.
    await waitUntil('a stale copy of the comments', async () => (await api(commentsUrl)).headers.get('x-kinora-stale') === 'true', { timeoutMs: 10_000, intervalMs: 100 });

    // A read never answered before fails; each gateway opens its breaker after 3 failures, then answers at once.
    const unknownVideo = '01890a5d-ac96-774b-bcce-b302099a8057';
    const answers: Array<{ status: number; ms: number; type?: string }> = [];
    for (let i = 0; i < 12; i++) {
      const t = performance.now();
      const r = await api(`/api/v1/videos/${unknownVideo}/comments`);
      answers.push({ status: r.status, ms: performance.now() - t, type: r.body?.type });
    }
    expect(answers.filter((a) => a.status !== 503 && a.status !== 502)).toEqual([]);
    const last = answers.slice(-4);
    expect(last.map((a) => a.status)).toEqual([503, 503, 503, 503]);
    expect(last.every((a) => typeof a.type === 'string' && a.type.startsWith('docs/errors.md#'))).toBe(true);
    expect(Math.max(...last.map((a) => a.ms))).toBeLessThan(250);
    const metrics = await Promise.all(['gateway-1', 'gateway-2'].map(async (g) => (await fetch(`${cluster.processes.get(g)!.url}/metrics`)).text()));
    expect(metrics.every((m) => /gateway_circuit_breaker_state\{[^}]*upstream="comment"[^}]*\} 1\b/.test(m))).toBe(true);

    // Everything else still answers.
    expect((await api(`/api/v1/videos/${created.body.id}`, { headers: owner.headers })).status).toBe(200);
    expect((await api('/api/v1/users/me', { headers: owner.headers })).status).toBe(200);
    expect((await api(`/api/v1/channels/${owner.channelId}`)).status).toBe(200);
    expect((await api(`/api/v1/videos/${readyVideoId}/rating`, { method: 'PUT', headers: owner.headers, body: { value: 'like' } })).status).toBe(200);

    // Back: after the half-open delay a probe passes and the breaker closes (the comment service's own 404).
    await comment.start();
    await waitUntil('comments answer again', async () => (await api(`/api/v1/videos/${unknownVideo}/comments`)).status === 404, { timeoutMs: 30_000, intervalMs: 500 });
    expect((await api(commentsUrl)).headers.get('x-kinora-stale')).toBeNull();
  }, 120_000);
});

describe('embedded mode (npm start)', () => {
  let embedded: EmbeddedHandle | undefined;

  beforeAll(async () => {
    // The launcher as `npm start` runs it, on a test database with its streaming replica.
    embedded = await startEmbedded({ databasePrefix: 'kinora_e2e', env: COMMON_ENV });
    base = embedded.url;
  }, 240_000);

  afterAll(async () => {
    await embedded?.stop();
  }, 60_000);

  it('gives the same answers to the same journey (one process, in-process bus, the same counters view)', async () => {
    await journey({ name: 'embedded', realtime: [base, base] });
  }, 240_000);
});
