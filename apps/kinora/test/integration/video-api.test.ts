import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES } from '@kinora/contracts';
import {
  eventsOf,
  fakeTranscode,
  PUBLIC_URL,
  publishTranscoded,
  silentLogger,
  startVideoTestEnv,
  waitFor,
  type VideoTestEnv,
} from '../../../video/test/integration/video-harness.js';
import { buildKinora } from '../../src/app.js';

// The video service inside the embedded platform (gateway chain, user module), over HTTP with real tokens. Kept with
// the launcher (the one app that mounts others), on the video service's own test harness.
let env: VideoTestEnv;
let app: FastifyInstance;
interface U {
  id: string;
  username: string;
  channelId: string;
  auth: { authorization: string };
}
let owner: U;
let other: U;

async function register(name: string): Promise<U> {
  const username = `${name}${Date.now().toString(36)}`.slice(0, 30);
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, email: `${username}@example.com`, password: 'correct-horse-battery-9', displayName: `${name} Display` } });
  expect(res.statusCode).toBe(201);
  const body = res.json();
  return { id: body.user.id, username, channelId: body.user.channelId, auth: { authorization: `Bearer ${body.accessToken}` } };
}

async function create(user: U, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: user.auth, payload });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function get(id: string, user?: U) {
  return app.inject({ method: 'GET', url: `/api/v1/videos/${id}`, ...(user ? { headers: user.auth } : {}) });
}

/** A small tus upload by the owner, which moves the video to `processing`. */
async function upload(user: U, videoId: string, bytes = Buffer.from('not really a video')) {
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/uploads',
    headers: { ...user.auth, 'tus-resumable': '1.0.0', 'upload-length': String(bytes.length), 'upload-metadata': `videoId ${Buffer.from(videoId).toString('base64')}` },
  });
  expect(created.statusCode).toBe(201);
  const patch = await app.inject({
    method: 'PATCH',
    url: `/api/v1/uploads/${videoId}`,
    headers: { ...user.auth, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    payload: bytes,
  });
  expect(patch.statusCode).toBe(204);
}

/** Anyone's view of a video, once the replicas have caught up with a change made by someone else. */
async function eventually(id: string, predicate: (v: Record<string, any>) => boolean, user?: U): Promise<Record<string, any>> {
  return waitFor(`video ${id}`, async () => {
    const res = await get(id, user);
    if (res.statusCode !== 200) return false;
    const v = res.json();
    return predicate(v) ? v : false;
  });
}

/** A ready video (uploaded, then reported transcoded). */
async function readyVideo(user: U, payload: Record<string, unknown>) {
  const v = await create(user, payload);
  await upload(user, v.id);
  await fakeTranscode(env, v.id);
  return eventually(v.id, (x) => x.state === 'ready', user);
}

beforeAll(async () => {
  env = await startVideoTestEnv('video_api');
  const config = env.config({ RATE_LIMIT_AUTH: 'off', RATE_LIMIT_GENERAL: 'off', RATE_LIMIT_UPLOAD: 'off' });
  app = await buildKinora(config, { database: env.database, logger: silentLogger, scrypt: { N: 1024, r: 8, p: 1 }, store: env.store });
  await app.ready();
  owner = await register('owner');
  other = await register('other');
});

afterAll(async () => {
  await app?.close();
  await env?.close();
});

describe('creating a video', () => {
  it('answers 201 awaiting_upload with the tus endpoint, the channel and zero stats, and publishes VideoChanged.v1', async () => {
    const v = await create(owner, { title: '  My first video ', description: 'About things', tags: ['cats', 'Cats', ' dogs '], visibility: 'unlisted' });
    expect(v).toMatchObject({
      title: 'My first video',
      description: 'About things',
      tags: ['cats', 'dogs'],
      visibility: 'unlisted',
      state: 'awaiting_upload',
      uploadUrl: `${PUBLIC_URL}/api/v1/uploads`,
      channel: { id: owner.channelId, handle: owner.username, name: 'owner Display' },
      stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
    });
    expect(Date.parse(v.createdAt)).not.toBeNaN();
    for (const absent of ['streams', 'thumbnailUrl', 'storyboardUrl', 'publishedAt', 'progress', 'failureReason', 'durationSec']) expect(v).not.toHaveProperty(absent);
    const events = await waitFor('VideoChanged', async () => eventsOf(env, v.id).length > 0 && eventsOf(env, v.id));
    expect(events[0]).toMatchObject({
      type: EVENT_TYPES.videoChanged,
      key: v.id,
      actor: { type: 'user', id: owner.id },
      payload: { videoId: v.id, version: 1, ownerId: owner.id, channelId: owner.channelId, state: 'awaiting_upload', visibility: 'unlisted', deleted: false, publishedAt: null },
    });
  });

  it('defaults to public with no description and no tags', async () => {
    const v = await create(owner, { title: 'Minimal' });
    expect(v).toMatchObject({ visibility: 'public', description: '', tags: [] });
  });

  it.each([
    ['no title', {}],
    ['an empty title', { title: '' }],
    ['a blank title', { title: '   ' }],
    ['a 201-character title', { title: 'x'.repeat(201) }],
    ['a 5001-character description', { title: 't', description: 'd'.repeat(5001) }],
    ['21 tags', { title: 't', tags: Array.from({ length: 21 }, (_, i) => `tag${i}`) }],
    ['a 51-character tag', { title: 't', tags: ['x'.repeat(51)] }],
    ['an empty tag', { title: 't', tags: [''] }],
    ['an unknown visibility', { title: 't', visibility: 'secret' }],
    ['a title that is not a string', { title: { text: 'x' } }],
    ['a NUL character', { title: 'a\u0000b' }],
  ])('refuses %s with 400 and field errors', async (_name, payload) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: owner.auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 400, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    expect(res.json().errors.length).toBeGreaterThan(0);
  });

  it('accepts the limits exactly', async () => {
    const v = await create(owner, { title: 'x'.repeat(200), description: 'd'.repeat(5000), tags: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(50, 'x')) });
    expect(v.tags).toHaveLength(20);
  });

  it('needs a valid token (401)', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/v1/videos', payload: { title: 't' } })).statusCode).toBe(401);
    const bad = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: { authorization: 'Bearer a.b.c' }, payload: { title: 't' } });
    expect(bad.statusCode).toBe(401);
  });
});

describe('visibility and ownership', () => {
  it('hides an unfinished video from everyone but its owner (404)', async () => {
    const v = await create(owner, { title: 'Unfinished', visibility: 'public' });
    expect((await get(v.id, owner)).statusCode).toBe(200);
    expect((await get(v.id, other)).statusCode).toBe(404);
    expect((await get(v.id)).statusCode).toBe(404);
    // Same answer as for a video that does not exist.
    const missing = await get('01900000-0000-7000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe((await get(v.id)).json().code);
    expect((await app.inject({ method: 'GET', url: '/api/v1/videos/not-a-uuid' })).statusCode).toBe(400);
  });

  it('shows ready public and unlisted videos to everyone, ready private ones to the owner only', async () => {
    const pub = await readyVideo(owner, { title: 'Ready public' });
    const unl = await readyVideo(owner, { title: 'Ready unlisted', visibility: 'unlisted' });
    const prv = await readyVideo(owner, { title: 'Ready private', visibility: 'private' });
    await eventually(pub.id, () => true);
    await eventually(pub.id, () => true, other);
    await eventually(unl.id, () => true);
    await eventually(unl.id, () => true, other);
    expect((await get(prv.id, owner)).statusCode).toBe(200);
    expect((await get(prv.id, other)).statusCode).toBe(404);
    expect((await get(prv.id)).statusCode).toBe(404);
    // Only the owner is told where to upload.
    expect((await get(pub.id, other)).json()).not.toHaveProperty('uploadUrl');
  });

  it('lets only the owner change or delete: 401 anonymous, 404 when the video is invisible to the caller, 403 when visible', async () => {
    const unready = await create(owner, { title: 'Unready' });
    const pub = await readyVideo(owner, { title: 'Public one' });
    const unl = await readyVideo(owner, { title: 'Unlisted one', visibility: 'unlisted' });
    const prv = await readyVideo(owner, { title: 'Private one', visibility: 'private' });
    await eventually(pub.id, () => true, other);
    await eventually(unl.id, () => true, other);
    for (const method of ['PATCH', 'DELETE'] as const) {
      const payload = method === 'PATCH' ? { title: 'hijacked' } : undefined;
      const as = (id: string, u?: U) => app.inject({ method, url: `/api/v1/videos/${id}`, ...(u ? { headers: u.auth } : {}), ...(payload ? { payload } : {}) });
      expect((await as(pub.id)).statusCode).toBe(401);
      expect((await as(unready.id, other)).statusCode).toBe(404);
      expect((await as(prv.id, other)).statusCode).toBe(404);
      expect((await as(pub.id, other)).statusCode).toBe(403);
      expect((await as(unl.id, other)).statusCode).toBe(403);
      expect((await as('01900000-0000-7000-8000-000000000000', other)).statusCode).toBe(404);
    }
    expect((await get(pub.id, owner)).json().title).toBe('Public one');
  });

  it('applies the owner’s changes, validates them, bumps the version and publishes each', async () => {
    const v = await create(owner, { title: 'Before', tags: ['a'] });
    const res = await app.inject({ method: 'PATCH', url: `/api/v1/videos/${v.id}`, headers: owner.auth, payload: { title: 'After', description: 'new', tags: ['b', 'c'], visibility: 'private' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ title: 'After', description: 'new', tags: ['b', 'c'], visibility: 'private', state: 'awaiting_upload' });
    for (const payload of [{}, { title: '' }, { tags: ['x'.repeat(51)] }, { visibility: 'everyone' }, { owner: 'me' }]) {
      const bad = await app.inject({ method: 'PATCH', url: `/api/v1/videos/${v.id}`, headers: owner.auth, payload });
      expect(bad.statusCode).toBe(400);
    }
    const versions = await waitFor('two versions', async () => {
      const evs = eventsOf(env, v.id);
      return evs.length >= 2 && evs.map((e) => e.payload['version']);
    });
    expect(versions).toEqual([1, 2]);
    expect(eventsOf(env, v.id)[1]!.payload).toMatchObject({ title: 'After', visibility: 'private' });
  });

  it('publishes a private ready video when the owner makes it public', async () => {
    const v = await readyVideo(owner, { title: 'Later public', visibility: 'private' });
    expect(v).not.toHaveProperty('publishedAt');
    const res = await app.inject({ method: 'PATCH', url: `/api/v1/videos/${v.id}`, headers: owner.auth, payload: { visibility: 'public' } });
    expect(res.json().publishedAt).toBeDefined();
    await eventually(v.id, (x) => x.visibility === 'public');
  });
});

describe('processing reports from the transcoder', () => {
  it('moves to processing on upload, follows progress, becomes ready with streams and renditions, ignores redelivery', async () => {
    const v = await create(owner, { title: 'Lifecycle' });
    await upload(owner, v.id);
    const processing = (await get(v.id, owner)).json();
    expect(processing).toMatchObject({ state: 'processing', progress: 0 });
    expect(processing).not.toHaveProperty('uploadUrl');

    await publishTranscoded(env.bus, EVENT_TYPES.transcodeProgress, { videoId: v.id, progress: 0.4 });
    await eventually(v.id, (x) => x.progress === 0.4, owner);
    // An older progress report arriving late does not move it backwards.
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeProgress, { videoId: v.id, progress: 0.2 });
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeProgress, { videoId: v.id, progress: 0.6 });
    await eventually(v.id, (x) => x.progress === 0.6, owner);

    await fakeTranscode(env, v.id);
    const ready = await eventually(v.id, (x) => x.state === 'ready');
    expect(ready).toMatchObject({
      durationSec: 12.5,
      width: 640,
      height: 360,
      renditions: [
        { height: 144, bandwidth: 200000 },
        { height: 360, bandwidth: 800000 },
      ],
      streams: { hls: `${PUBLIC_URL}/media/${v.id}/master.m3u8`, dash: `${PUBLIC_URL}/media/${v.id}/manifest.mpd` },
      thumbnailUrl: `${PUBLIC_URL}/media/${v.id}/poster.jpg`,
      storyboardUrl: `${PUBLIC_URL}/media/${v.id}/storyboard.vtt`,
    });
    expect(ready).not.toHaveProperty('progress');
    expect(Date.parse(ready.publishedAt)).toBeGreaterThanOrEqual(Date.parse(ready.createdAt));
    const states = () => eventsOf(env, v.id).map((e) => `${e.type}:${e.payload['state'] ?? ''}:${e.payload['version'] ?? ''}`);
    await waitFor('ready event', async () => states().some((s) => s.endsWith(':ready:3')));
    expect(states()).toEqual([`${EVENT_TYPES.videoChanged}:awaiting_upload:1`, `${EVENT_TYPES.videoUploaded}::`, `${EVENT_TYPES.videoChanged}:processing:2`, `${EVENT_TYPES.videoChanged}:ready:3`]);

    // Redelivered success, late failure and late progress change nothing.
    await fakeTranscode(env, v.id);
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeFailed, { videoId: v.id, reason: 'late', attempts: 3 });
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeProgress, { videoId: v.id, progress: 0.9 });
    const marker = await create(owner, { title: 'marker' });
    await upload(owner, marker.id);
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeFailed, { videoId: marker.id, reason: 'marker', attempts: 1 });
    await eventually(marker.id, (x) => x.state === 'failed', owner);
    const after = (await get(v.id, owner)).json();
    expect(after).toMatchObject({ state: 'ready', publishedAt: ready.publishedAt });
    expect(after).not.toHaveProperty('progress');
    expect(states()).toHaveLength(4);
  });

  it('ends failed with the readable reason', async () => {
    const v = await create(owner, { title: 'Broken file' });
    await upload(owner, v.id);
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeFailed, { videoId: v.id, reason: 'The file has no decodable video stream', attempts: 1 });
    const failed = await eventually(v.id, (x) => x.state === 'failed', owner);
    expect(failed.failureReason).toBe('The file has no decodable video stream');
    expect(failed).not.toHaveProperty('streams');
    expect((await get(v.id, other)).statusCode).toBe(404);
  });

  it('skips malformed and unknown reports without blocking the ones behind them', async () => {
    const v = await create(owner, { title: 'After junk' });
    await upload(owner, v.id);
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeSucceeded, { videoId: v.id, durationSec: 'long' });
    await publishTranscoded(env.bus, 'SomethingElse.v1', { videoId: v.id });
    await publishTranscoded(env.bus, EVENT_TYPES.transcodeFailed, { videoId: v.id, reason: 'real reason', attempts: 2 });
    expect((await eventually(v.id, (x) => x.state === 'failed', owner)).failureReason).toBe('real reason');
  });
});

describe('lists and search', () => {
  let a: U;
  const ids: string[] = [];
  beforeAll(async () => {
    a = await register('lister');
    // Sequential: each one is published after the previous.
    for (const [title, description, tags] of [
      ['Volcano eruption footage', 'Lava flows at night', ['geology']],
      ['Cooking pasta', 'A volcano of flavour in every bite', ['food']],
      ['Quiet forest walk', 'Birds and wind', ['volcano', 'nature']],
      ['Ünïcödé 日本語 title', 'Emoji 🎬 description', ['ユニコード']],
      ['Fifth video', 'Nothing special', []],
    ] as const) {
      ids.push((await readyVideo(a, { title, description, tags: [...tags] })).id);
    }
    await readyVideo(a, { title: 'Volcano private', visibility: 'private' });
    await readyVideo(a, { title: 'Volcano unlisted', visibility: 'unlisted' });
    await create(a, { title: 'Volcano unfinished' });
    await waitFor('listed', async () => {
      const res = await app.inject({ method: 'GET', url: `/api/v1/channels/${a.channelId}/videos` });
      return res.json().items.length === 5;
    });
  });

  it('lists a channel’s public ready videos newest first; an unknown channel has none', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/channels/${a.channelId}/videos` });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((v: { id: string }) => v.id)).toEqual([...ids].reverse());
    expect(res.json().nextCursor).toBeNull();
    const none = await app.inject({ method: 'GET', url: '/api/v1/channels/01900000-0000-7000-8000-000000000000/videos' });
    expect(none.json()).toEqual({ items: [], nextCursor: null });
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels/nope/videos' })).statusCode).toBe(400);
  });

  it('pages with stable cursors: new videos published meanwhile neither repeat nor hide older ones', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const res: { json(): { items: { id: string }[]; nextCursor: string | null }; statusCode: number } = await app.inject({
        method: 'GET',
        url: `/api/v1/channels/${a.channelId}/videos?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().items.map((v) => v.id));
      cursor = res.json().nextCursor;
      if (first) {
        first = false;
        await readyVideo(a, { title: 'Published while paging' });
      }
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('lists recent and trending public ready videos of everyone', async () => {
    for (const sort of ['recent', 'trending']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/videos?sort=${sort}&limit=100` });
      expect(res.statusCode).toBe(200);
      const items = res.json().items as { id: string; visibility: string; state: string; title: string }[];
      for (const id of ids) expect(items.map((v) => v.id)).toContain(id);
      expect(items.every((v) => v.visibility === 'public' && v.state === 'ready')).toBe(true);
      expect(items.some((v) => v.title.startsWith('Volcano p') || v.title.startsWith('Volcano u'))).toBe(false);
    }
    // Trending pages too.
    const p1 = (await app.inject({ method: 'GET', url: '/api/v1/videos?sort=trending&limit=2' })).json();
    const p2 = (await app.inject({ method: 'GET', url: `/api/v1/videos?sort=trending&limit=2&cursor=${p1.nextCursor}` })).json();
    expect(p2.items.length).toBe(2);
    expect(p2.items.map((v: { id: string }) => v.id)).not.toContain(p1.items[0].id);
  });

  it.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=abc'],
    ['sort=popular'],
    ['cursor=not-a-cursor!'],
    [`cursor=${Buffer.from('["x","y"]').toString('base64url')}`],
    [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`],
  ])('refuses ?%s with 400', async (query) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/videos?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('searches title over tags over description, public ready videos only', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/search?q=volcano' });
    expect(res.statusCode).toBe(200);
    const titles = res.json().items.map((v: { title: string }) => v.title);
    expect(titles).toEqual(['Volcano eruption footage', 'Quiet forest walk', 'Cooking pasta']);
    // Stemming: "eruptions" finds "eruption".
    expect((await app.inject({ method: 'GET', url: '/api/v1/search?q=eruptions' })).json().items.map((v: { id: string }) => v.id)).toEqual([ids[0]]);
    // Web-search syntax: phrases and exclusions.
    const excl = await app.inject({ method: 'GET', url: `/api/v1/search?q=${encodeURIComponent('volcano -pasta')}` });
    expect(excl.json().items.map((v: { title: string }) => v.title)).not.toContain('Cooking pasta');
    const unicode = await app.inject({ method: 'GET', url: `/api/v1/search?q=${encodeURIComponent('ünïcödé')}` });
    expect(unicode.json().items.map((v: { id: string }) => v.id)).toEqual([ids[3]]);
  });

  it('pages search results by relevance', async () => {
    const p1 = (await app.inject({ method: 'GET', url: '/api/v1/search?q=volcano&limit=2' })).json();
    expect(p1.items).toHaveLength(2);
    const p2 = (await app.inject({ method: 'GET', url: `/api/v1/search?q=volcano&limit=2&cursor=${p1.nextCursor}` })).json();
    expect([...p1.items, ...p2.items].map((v: { title: string }) => v.title)).toEqual(['Volcano eruption footage', 'Quiet forest walk', 'Cooking pasta']);
    expect(p2.nextCursor).toBeNull();
  });

  it.each([["'); DROP TABLE videos.videos; --"], ['a & | !'], ['!!!'], ['"unterminated'], ['(((('], ['the'], ['日本語'], ['\\x00 %00 \u0000 x'], ['or -or "" :*'], ['x'.repeat(256)]])(
    'answers hostile or odd input %j with 200',
    async (q) => {
      const res = await app.inject({ method: 'GET', url: `/api/v1/search?q=${encodeURIComponent(q)}` });
      expect(res.statusCode).toBe(200);
      expect(Array.isArray(res.json().items)).toBe(true);
    },
  );

  it('refuses an empty, blank, missing or too long query with 400', async () => {
    for (const url of ['/api/v1/search?q=', '/api/v1/search?q=%20%20', '/api/v1/search', `/api/v1/search?q=${'x'.repeat(257)}`]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(400);
    }
    // The table is still there.
    expect((await app.inject({ method: 'GET', url: '/api/v1/search?q=volcano' })).json().items.length).toBe(3);
  });
});

describe('deleting a video', () => {
  it('removes its media and upload, answers 404 afterwards and publishes a deleted snapshot', async () => {
    const v = await readyVideo(owner, { title: 'Doomed' });
    expect((await env.store.list(`media/${v.id}/`)).length).toBeGreaterThan(0);
    expect(await env.store.head(`uploads/${v.id}`)).not.toBeNull();
    const res = await app.inject({ method: 'DELETE', url: `/api/v1/videos/${v.id}`, headers: owner.auth });
    expect(res.statusCode).toBe(204);
    expect(await env.store.list(`media/${v.id}/`)).toEqual([]);
    expect(await env.store.head(`uploads/${v.id}`)).toBeNull();
    expect((await get(v.id, owner)).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/videos/${v.id}`, headers: owner.auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/media/${v.id}/master.m3u8` })).statusCode).toBe(404);
    const last = await waitFor('deleted event', async () => eventsOf(env, v.id).find((e) => e.payload['deleted'] === true));
    expect(last.payload).toMatchObject({ videoId: v.id, version: 4, deleted: true });
    // A transcoder finishing after the deletion: its outputs are removed again, the video stays deleted.
    await fakeTranscode(env, v.id);
    await waitFor('late outputs removed', async () => (await env.store.list(`media/${v.id}/`)).length === 0);
    expect((await get(v.id, owner)).statusCode).toBe(404);
  });
});

describe('API document', () => {
  it('lists the video routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
    for (const op of [
      'POST /api/v1/videos',
      'GET /api/v1/videos',
      'GET /api/v1/videos/{id}',
      'PATCH /api/v1/videos/{id}',
      'DELETE /api/v1/videos/{id}',
      'GET /api/v1/search',
      'GET /api/v1/channels/{channelId}/videos',
      'POST /api/v1/uploads',
    ]) {
      expect(ops).toContain(op);
    }
  });
});
