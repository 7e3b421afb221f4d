// The video service's read path through the cache and HTTP caching: two instances of the standalone service on
// one database, sharing the test Redis (their own key prefix), so a change made through one is seen by the other.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { getTestEnv, startRedis, type RedisHandle } from '@kinora/testing';
import type { VideoStats } from '@kinora/contracts';
import { buildApp } from '../../src/index.js';
import type { VideoStatsReader } from '../../src/ports.js';
import { silentLogger, startVideoTestEnv, testUsers, waitFor, type TestUser, type TestUsers, type VideoTestEnv } from './video-harness.js';

let env: VideoTestEnv;
let users: TestUsers;
let a: FastifyInstance;
let b: FastifyInstance;
let owner: TestUser;
let other: TestUser;
let prefix: string;

/**
 * Counts as the counters view hands them out: one object per video and version, replaced when they change, and at
 * hand without waiting (`peek`), so reads take the route's synchronous path when the row is cached too.
 */
const ZERO: VideoStats = Object.freeze({ views: 0, likes: 0, dislikes: 0, comments: 0 });
const counts = new Map<string, VideoStats>();
const stats: VideoStatsReader = {
  statsOf: async (ids) => new Map(ids.map((id) => [id, counts.get(id.toLowerCase()) ?? ZERO])),
  peek: (id) => counts.get(id.toLowerCase()) ?? ZERO,
};

async function build(prefix: string, more: { earlyReads?: boolean } = {}): Promise<FastifyInstance> {
  const app = await buildApp(env.config({ REDIS_URL: getTestEnv().redisUrl, CACHE_KEY_PREFIX: prefix }), {
    database: env.database,
    logger: silentLogger,
    store: env.store,
    verifier: users.verifier,
    channels: users.channels,
    stats,
    ...more,
  });
  await app.ready();
  return app;
}

/** A ready video, made so with SQL before anything read it (the transcoder's part is tested elsewhere). */
async function readyVideo(user: TestUser, visibility: 'public' | 'private' | 'unlisted' = 'public'): Promise<string> {
  const res = await a.inject({ method: 'POST', url: '/api/v1/videos', headers: user.auth, payload: { title: 'Cached', visibility } });
  expect(res.statusCode).toBe(201);
  const id = res.json().id as string;
  await env.database.primary.query(
    `UPDATE videos.videos SET state = 'ready', published_at = now(), trending_score = extract(epoch FROM now()) / 45000.0,
       hls_key = 'media/' || id || '/master.m3u8', dash_key = 'media/' || id || '/manifest.mpd' WHERE id = $1`,
    [id],
  );
  return id;
}

async function metric(app: FastifyInstance, line: RegExp): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const m = new RegExp(`^${line.source} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  env = await startVideoTestEnv('video_cache');
  users = await testUsers();
  prefix = `test:video-cache:${randomUUID()}`;
  a = await build(prefix);
  b = await build(prefix);
  owner = await users.register('owner');
  other = await users.register('other');
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await env?.close();
});

describe('GET /api/v1/videos/:id through the cache', () => {
  it('serves repeated reads from the cache (one load), on both instances', async () => {
    const id = await readyVideo(owner);
    const loads = () => metric(a, /kinora_cache_loads_total\{class="video",result="ok"\}/);
    const before = await loads();
    for (let i = 0; i < 5; i++) expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title).toBe('Cached');
    expect((await loads()) - before).toBe(1);
    expect(await metric(a, /kinora_cache_requests_total\{class="video",layer="memory",result="hit"\}/)).toBeGreaterThanOrEqual(4);
    const bLoads = await metric(b, /kinora_cache_loads_total\{class="video",result="ok"\}/);
    expect((await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(200);
    expect(await metric(b, /kinora_cache_loads_total\{class="video",result="ok"\}/)).toBe(bLoads);
    expect(await metric(b, /kinora_cache_requests_total\{class="video",layer="redis",result="hit"\}/)).toBeGreaterThanOrEqual(1);
  });

  it('a change through one instance is seen at once by its writer and, through the invalidation, by the other', async () => {
    const id = await readyVideo(owner);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title).toBe('Cached');
    expect((await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title).toBe('Cached');
    const patched = await a.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { title: 'Renamed' } });
    expect(patched.statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth })).json().title).toBe('Renamed');
    await waitFor('instance b drops its copy', async () => (await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title === 'Renamed', 5_000);
  });

  it('never shows a private video to others through the shared key, even after its owner filled the cache', async () => {
    const id = await readyVideo(owner, 'private');
    const mine = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth });
    expect(mine.statusCode).toBe(200);
    expect(mine.headers['cache-control']).toBe('private, max-age=0');
    for (const app of [a, b]) {
      const anon = await app.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
      expect(anon.statusCode).toBe(404);
      expect(anon.headers['cache-control']).toBe('no-store');
      expect(anon.headers['etag']).toBeUndefined();
      expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: other.auth })).statusCode).toBe(404);
    }
  });

  it('a video made private or deleted is gone for others at once, on both instances', async () => {
    const id = await readyVideo(owner);
    for (const app of [a, b]) expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(200);
    expect((await b.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { visibility: 'private' } })).statusCode).toBe(200);
    expect((await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(404);
    await waitFor('instance a hides it', async () => (await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode === 404, 5_000);
    expect((await a.inject({ method: 'DELETE', url: `/api/v1/videos/${id}`, headers: owner.auth })).statusCode).toBe(204);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth })).statusCode).toBe(404);
  });

  it('remembers an unknown id as not found (one load for repeated misses)', async () => {
    const id = randomUUID();
    const before = await metric(a, /kinora_cache_loads_total\{class="video",result="not_found"\}/);
    for (let i = 0; i < 3; i++) expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(404);
    expect((await metric(a, /kinora_cache_loads_total\{class="video",result="not_found"\}/)) - before).toBe(1);
  });
});

describe('HTTP caching of the video routes', () => {
  it('anonymous reads of a video are public for the CDN, with a weak ETag and 304 on If-None-Match', async () => {
    const id = await readyVideo(owner);
    const first = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=0, s-maxage=30');
    expect(first.headers['vary']).toMatch(/Authorization/);
    const etag = String(first.headers['etag']);
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    const again = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['etag']).toBe(etag);
    // The other instance computes the same validator for the same representation.
    expect((await b.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: { 'if-none-match': `"nope", ${etag}` } })).statusCode).toBe(304);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: { 'if-none-match': '"something-else"' } })).statusCode).toBe(200);

    expect((await a.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { title: 'New title' } })).statusCode).toBe(200);
    const changed = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().title).toBe('New title');
    expect(changed.headers['etag']).not.toBe(etag);
  });

  it('a held video is answered from memory with the same body until its counts or its row change', async () => {
    const id = await readyVideo(owner);
    const first = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
    expect(first.statusCode).toBe(200);
    expect(first.json().stats).toEqual(ZERO);
    const again = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
    expect(again.body).toBe(first.body);
    expect(again.headers['etag']).toBe(first.headers['etag']);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');

    counts.set(id, { views: 7, likes: 2, dislikes: 0, comments: 1 });
    const counted = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
    expect(counted.json().stats).toEqual({ views: 7, likes: 2, dislikes: 0, comments: 1 });
    expect(counted.headers['etag']).not.toBe(first.headers['etag']);
    // Upper-case ids name the same video.
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id.toUpperCase()}` })).body).toBe(counted.body);

    // The owner's answer is their own (the upload URL is never in an anonymous answer; private, not public caching).
    const mine = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth });
    expect(mine.statusCode).toBe(200);
    expect(mine.headers['cache-control']).toBe('private, max-age=0');
    expect(mine.json().stats).toEqual({ views: 7, likes: 2, dislikes: 0, comments: 1 });

    expect((await a.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { title: 'Renamed again' } })).statusCode).toBe(200);
    const renamed = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` });
    expect(renamed.json()).toMatchObject({ title: 'Renamed again', stats: { views: 7, likes: 2 } });
    expect((await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title).toBe('Renamed again');
    // Made private: gone for others at once, although the public body of the old row was held.
    expect((await a.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { visibility: 'private' } })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(404);
    await waitFor('the other instance answers 404', async () => (await b.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode === 404);
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth })).statusCode).toBe(200);
  });

  it('signed-in reads of a video are private; lists are public for everybody; HEAD gets the same headers', async () => {
    const id = await readyVideo(owner);
    const signedIn = await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: other.auth });
    expect(signedIn.headers['cache-control']).toBe('private, max-age=0');
    expect(signedIn.headers['etag']).toBeDefined();
    expect((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: { ...other.auth, 'if-none-match': String(signedIn.headers['etag']) } })).statusCode).toBe(304);
    for (const url of ['/api/v1/videos', '/api/v1/videos?sort=trending', `/api/v1/channels/${owner.channelId}/videos`, '/api/v1/search?q=cached']) {
      const res = await a.inject({ method: 'GET', url, headers: other.auth });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=0, s-maxage=30');
      expect(res.headers['etag']).toMatch(/^W\//);
    }
    const head = await a.inject({ method: 'HEAD', url: `/api/v1/videos/${id}` });
    expect(head.statusCode).toBe(200);
    expect(head.headers['cache-control']).toBe('public, max-age=0, s-maxage=30');
    expect(head.headers['etag']).toBe((await a.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).headers['etag']);
    const bad = await a.inject({ method: 'GET', url: '/api/v1/videos/not-a-uuid' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['cache-control']).toBe('no-store');
  });
});

describe('early answers of the standalone service (real HTTP: they happen before Fastify, out of inject\'s sight)', () => {
  // Instance a answers early (buildApp's default); c is the same service with every request routed, the reference.
  let c: FastifyInstance;
  let baseA: string;
  let baseC: string;
  const early: boolean[] = [];
  const get = (base: string, path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const json = async (res: Response | Promise<Response>) => (await (await res).json()) as { title: string; stats: VideoStats };
  const comparable = (h: Headers) => Object.fromEntries([...h].filter(([k]) => k !== 'date' && k !== 'x-request-id'));
  /** Whether the last request to a was answered early. */
  const wasEarly = () => early.at(-1);

  beforeAll(async () => {
    c = await build(prefix, { earlyReads: false });
    baseA = await a.listen({ port: 0, host: '127.0.0.1' });
    baseC = await c.listen({ port: 0, host: '127.0.0.1' });
    const gets = a.earlyGets!;
    const answer = gets.answer.bind(gets);
    gets.answer = (req, res) => {
      const answered = answer(req, res);
      early.push(answered);
      return answered;
    };
    expect(c.earlyGets!.size).toBe(0);
  });

  afterAll(async () => {
    await c?.close();
  });

  it('an anonymous read of a held public video is answered before routing, with the answer of the route', async () => {
    const id = await readyVideo(owner);
    const path = `/api/v1/videos/${id}`;
    const first = await get(baseA, path);
    expect(first.status).toBe(200);
    expect(wasEarly()).toBe(false); // not held yet: the route loads and renders it
    const held = await get(baseA, path);
    expect(wasEarly()).toBe(true);
    const routed = await get(baseC, path);
    expect(held.status).toBe(200);
    const body = await held.text();
    expect(body).toBe(await first.text());
    expect(body).toBe(await routed.text());
    expect(comparable(held.headers)).toEqual(comparable(routed.headers));
    expect(held.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=30');
    expect(held.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Upper-case ids name the same video, early too.
    expect(await (await get(baseA, path.toUpperCase().replace('/API/V1/VIDEOS/', '/api/v1/videos/'))).text()).toBe(body);
    expect(wasEarly()).toBe(true);

    const etag = held.headers.get('etag')!;
    const notModified = await get(baseA, path, { 'if-none-match': etag });
    expect(wasEarly()).toBe(true);
    const routed304 = await get(baseC, path, { 'if-none-match': etag });
    expect([notModified.status, routed304.status]).toEqual([304, 304]);
    expect(await notModified.text()).toBe('');
    expect(comparable(notModified.headers)).toEqual(comparable(routed304.headers));

    // New counts: a new object, so the route renders it once; then early again, with them.
    counts.set(id, { views: 3, likes: 1, dislikes: 0, comments: 0 });
    expect((await json(get(baseA, path))).stats.views).toBe(3);
    expect(wasEarly()).toBe(false);
    expect((await json(get(baseA, path))).stats.views).toBe(3);
    expect(wasEarly()).toBe(true);
    expect((await get(baseA, path, { 'if-none-match': etag })).status).toBe(200);

    // A change is seen at once (the cache entry is replaced; its first read renders it again).
    expect((await a.inject({ method: 'PATCH', url: path, headers: owner.auth, payload: { title: 'Early news' } })).statusCode).toBe(200);
    expect((await json(get(baseA, path))).title).toBe('Early news');
    expect((await json(get(baseA, path))).title).toBe('Early news');
    expect(wasEarly()).toBe(true);
    expect((await a.inject({ method: 'PATCH', url: path, headers: owner.auth, payload: { visibility: 'private' } })).statusCode).toBe(200);
    expect((await get(baseA, path)).status).toBe(404);
    expect(wasEarly()).toBe(false);
  });

  it('signed-in, read-your-writes and forwarded-identity requests, and everything not a held public video, take the route', async () => {
    const id = await readyVideo(owner);
    const path = `/api/v1/videos/${id}`;
    await get(baseA, path);
    await get(baseA, path);
    expect(wasEarly()).toBe(true);
    const cases: [string, Record<string, string>, number][] = [
      [path, owner.auth, 200],
      [path, { 'kinora-lsn': 'videos=0/0' }, 200],
      [path, { 'x-kinora-identity': 'forged' }, 200],
      [`${path}?fields=title`, {}, 200],
      [`/api/v1/videos/${randomUUID()}`, {}, 404],
      ['/api/v1/videos/not-a-uuid', {}, 400],
      [`/api/v1/videos/urn:uuid:${id}`, {}, 400],
    ];
    for (const [url, headers, status] of cases) {
      const res = await get(baseA, url, headers);
      const ref = await get(baseC, url, headers);
      expect([url, res.status, wasEarly()]).toEqual([url, status, false]);
      expect(res.status).toBe(ref.status);
      expect(res.headers.get('cache-control')).toBe(ref.headers.get('cache-control'));
    }
    expect((await get(baseA, path, owner.auth)).headers.get('cache-control')).toBe('private, max-age=0');
  });
});

describe('feeds through the cache', () => {
  it('a new public video shows up in the recent feed and the channel list once ready, and leaves when made private', async () => {
    const list = async (app: FastifyInstance, url: string) => ((await app.inject({ method: 'GET', url })).json().items as Array<{ id: string }>).map((v) => v.id);
    const id = await readyVideo(owner);
    // The SQL above bypassed the service: the feeds learn of it at the next change of the video.
    await a.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { title: 'Listed' } });
    expect(await list(a, '/api/v1/videos?limit=5')).toContain(id);
    expect(await list(b, `/api/v1/channels/${owner.channelId}/videos`)).toContain(id);
    const loads = await metric(a, /kinora_cache_loads_total\{class="feed",result="ok"\}/);
    expect(await list(a, '/api/v1/videos?limit=3')).toContain(id);
    expect(await metric(a, /kinora_cache_loads_total\{class="feed",result="ok"\}/)).toBe(loads);

    await b.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { visibility: 'private' } });
    expect(await list(b, '/api/v1/videos?limit=5')).not.toContain(id);
    await waitFor('instance a drops it from its feeds', async () => !(await list(a, '/api/v1/videos?limit=5')).includes(id) && !(await list(a, `/api/v1/channels/${owner.channelId}/videos`)).includes(id), 5_000);
  });

  it('pages after the first one and limits beyond the cached page still come from the database', async () => {
    const page = await a.inject({ method: 'GET', url: '/api/v1/videos?limit=1' });
    expect(page.statusCode).toBe(200);
    const { nextCursor } = page.json();
    expect(nextCursor).toEqual(expect.any(String));
    const next = await a.inject({ method: 'GET', url: `/api/v1/videos?limit=1&cursor=${encodeURIComponent(nextCursor)}` });
    expect(next.statusCode).toBe(200);
    expect(next.json().items).toHaveLength(1);
    expect(next.json().items[0].id).not.toBe(page.json().items[0].id);
  });
});

describe('the video service when its Redis stops', () => {
  let redis: RedisHandle;
  let app: FastifyInstance;

  beforeAll(async () => {
    redis = await startRedis();
    app = await buildApp(env.config({ REDIS_URL: redis.url, CACHE_KEY_PREFIX: `test:video-outage:${randomUUID()}` }), {
      database: env.database,
      logger: silentLogger,
      store: env.store,
      verifier: users.verifier,
      channels: users.channels,
      stats: { statsOf: async () => new Map() },
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('keeps answering reads and changes without Redis, then uses it again once it is back', async () => {
    const id = await readyVideo(owner);
    expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(200);

    await redis.stop();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).statusCode).toBe(200);
    const patched = await app.inject({ method: 'PATCH', url: `/api/v1/videos/${id}`, headers: owner.auth, payload: { title: 'Changed while Redis was away' } });
    expect(patched.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${id}` })).json().title).toBe('Changed while Redis was away');
    const other = await readyVideo(owner);
    expect((await app.inject({ method: 'GET', url: `/api/v1/videos/${other}` })).statusCode).toBe(200);
    expect(Date.now() - t0).toBeLessThan(10_000);

    await redis.start();
    // A video this instance has not read yet: its load is stored in Redis again once the layer is back.
    await waitFor('the Redis layer is used again', async () => {
      const fresh = await readyVideo(owner);
      await app.inject({ method: 'GET', url: `/api/v1/videos/${fresh}` });
      const raw = new Redis(redis.url);
      try {
        return (await raw.keys('test:video-outage:*:video:*')).length > 0;
      } finally {
        raw.disconnect();
      }
    }, 15_000);
  }, 60_000);
});
