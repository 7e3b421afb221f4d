import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import { TOPICS, type VideoChangedV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createInProcessEventBus, eventsMigrationsDir, toEventMessage, type EventActor, type EventEnvelope, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { TestIssuer, type TestUser } from '@kinora/projections/testing';
import { createTestDatabase, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';
import type { ChannelNames } from '../../src/channel.names.js';

const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent' });
const logger = createLogger({ level: 'silent' });
let tdb: TestDatabase;
let database: Database;
let bus: InProcessEventBus;
let issuer: TestIssuer;
let app: FastifyInstance;
const channelId = uuidv7();
/** The one channel the directory knows (the others answer empty handle and name). */
const channels: ChannelNames = { channel: async (id) => (id === channelId ? { handle: 'cats', name: 'Cat videos' } : null) };

beforeAll(async () => {
  tdb = await createTestDatabase('recommendation');
  database = new Database({ primaryUrl: tdb.url, poolMax: 20 });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  issuer = await TestIssuer.create();
  const verifier = new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetchJwks: () => issuer.jwks(), cooldownMs: 0 });
  app = await buildApp(config, { database, logger, bus, verifier, channels });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await database?.close();
  await tdb?.drop();
});

const json = (r: LightMyRequestResponse): any => JSON.parse(r.body);

function expectProblem(res: LightMyRequestResponse, status: number, code?: string): any {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = json(res);
  expect(p).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) }));
  expect(JSON.stringify(p)).not.toMatch(/stack|SELECT|recommendation\./);
  if (code) expect(p.code).toBe(code);
  return p;
}

/** Publishes a video change (by default a ready public video) and waits until the projection has it. */
async function video(owner: TestUser, patch: Partial<VideoChangedV1> = {}): Promise<string> {
  const videoId = patch.videoId ?? uuidv7();
  const version = patch.version ?? 1;
  await publishVideoChanged(bus, [videoChangedEvent({ videoId, version, channelId: uuidv7(), ownerId: owner.id, ...patch })]);
  await waitUntil(
    'video projection',
    async () => (await database.primary.query('SELECT 1 FROM recommendation.video_projection WHERE video_id = $1 AND version >= $2', [videoId, version])).rowCount === 1,
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  return videoId;
}

/** Publishes engagement envelopes and waits until the consumer applied every one. */
async function engage(topic: string, events: EventEnvelope<unknown>[]): Promise<void> {
  await bus.publish(topic, events.map((e) => toEventMessage(e)));
  const ids = [...new Set(events.map((e) => e.id))];
  await waitUntil(
    'engagement applied',
    async () => (await database.primary.query('SELECT 1 FROM recommendation.processed_events WHERE event_id = ANY($1)', [ids])).rowCount === ids.length,
    { timeoutMs: 10_000, intervalMs: 20 },
  );
}

const viewEvent = (videoId: string, actor: EventActor) =>
  createEvent({ type: 'VideoViewed.v1', key: videoId, actor, payload: { videoId, watchedSec: 12 } });
const views = (videoId: string, users: TestUser[]) => engage(TOPICS.videoViews, users.map((u) => viewEvent(videoId, { type: 'user', id: u.id })));
const anonymousViews = (videoId: string, n: number) =>
  engage(TOPICS.videoViews, Array.from({ length: n }, () => viewEvent(videoId, { type: 'anonymous', id: null })));
const like = (videoId: string, user: TestUser) =>
  engage(TOPICS.videoLikes, [
    createEvent({
      type: 'VideoRatingChanged.v1',
      key: videoId,
      actor: { type: 'user', id: user.id },
      payload: { videoId, userId: user.id, previous: 'none', value: 'like', deltas: { likes: 1, dislikes: 0 } },
    }),
  ]);

const related = (id: string, query = '', user?: TestUser) =>
  app.inject({ method: 'GET', url: `/api/v1/videos/${id}/related${query}`, ...(user ? { headers: user.headers } : {}) });
const home = (user?: TestUser, query = '?limit=100') => app.inject({ method: 'GET', url: `/api/v1/feed/home${query}`, ...(user ? { headers: user.headers } : {}) });
const ids = (res: LightMyRequestResponse): string[] => {
  expect(res.statusCode).toBe(200);
  return json(res).items.map((v: { id: string }) => v.id);
};

describe('GET /api/v1/videos/:id/related', () => {
  it('lists co-engaged videos (most shared users, then weight), then videos sharing tags; never itself, private or deleted ones', async () => {
    const owner = await issuer.user();
    const [u1, u2, u3] = [await issuer.user(), await issuer.user(), await issuer.user()];
    const tag = `t${uuidv7().slice(-8)}`;
    const a = await video(owner, { tags: [tag, 'misc'], channelId, title: 'Seed' });
    const b = await video(owner); // watched by all three viewers of a
    const h = await video(owner); // liked by one of them (heavier)
    const c = await video(owner); // watched by one of them
    const d2 = await video(owner, { tags: [tag.toUpperCase(), 'misc'] }); // two shared tags, no engagement
    const d1 = await video(owner, { tags: ['misc'] }); // one shared tag
    const hidden = await video(owner, { visibility: 'private' }); // co-engaged by everyone, but private
    const gone = await video(owner); // co-engaged, then deleted
    await video(owner, { tags: ['unrelated'] });
    const sibling1 = await video(owner, { channelId, publishedAt: '2026-01-01T00:00:00.000Z' });
    const sibling2 = await video(owner, { channelId, publishedAt: '2026-02-01T00:00:00.000Z' });
    await views(a, [u1, u2, u3]);
    await views(b, [u1, u2, u3]);
    await views(hidden, [u1, u2, u3]);
    await views(gone, [u1, u2, u3]);
    await views(c, [u1]);
    await like(h, u2);
    await video(owner, { videoId: gone, version: 2, deleted: true });

    const res = await related(a);
    expect(ids(res).slice(0, 5)).toEqual([b, h, c, d2, d1]);
    // then the channel's other videos (newest first), then popular ones
    expect(ids(res).slice(5, 7)).toEqual([sibling2, sibling1]);
    expect(ids(res)).not.toContain(a);
    expect(ids(res)).not.toContain(hidden);
    expect(ids(res)).not.toContain(gone);
    expect(json(res).nextCursor).toBeNull();
    // without the video service, items are built from the projection (the contract's Video, zero stats)
    expect(json(res).items[0]).toEqual({
      id: b,
      title: 'A video',
      description: '',
      tags: [],
      visibility: 'public',
      state: 'ready',
      channel: { id: expect.any(String), handle: '', name: '' },
      stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
      createdAt: expect.any(String),
      publishedAt: expect.any(String),
    });
    // the limit cuts the list; a video of the known channel carries its handle and name
    expect(ids(await related(a, '?limit=2'))).toEqual([b, h]);
    const back = json(await related(b)).items.find((v: { id: string }) => v.id === a);
    expect(back.channel).toEqual({ id: channelId, handle: 'cats', name: 'Cat videos' });
  });

  it('answers 404 for an unknown, deleted or someone else’s private video; the owner sees related videos of their own', async () => {
    const owner = await issuer.user();
    const other = await issuer.user();
    const priv = await video(owner, { visibility: 'private' });
    const deleted = await video(owner, { deleted: true });
    expectProblem(await related(uuidv7()), 404, 'VIDEO_NOT_FOUND');
    expectProblem(await related(deleted), 404, 'VIDEO_NOT_FOUND');
    expectProblem(await related(priv), 404, 'VIDEO_NOT_FOUND');
    expectProblem(await related(priv, '', other), 404, 'VIDEO_NOT_FOUND');
    expect((await related(priv, '', owner)).statusCode).toBe(200);
  });

  it('answers 400 problems for a malformed id or limit', async () => {
    const owner = await issuer.user();
    const id = await video(owner);
    expectProblem(await related('not-a-uuid'), 400);
    for (const q of ['?limit=0', '?limit=101', '?limit=abc', '?limit=1.5']) expectProblem(await related(id, q), 400);
  });
});

describe('items from the video service', () => {
  it('shows the video service’s Video where it answers, the projection’s where it does not', async () => {
    const owner = await issuer.user();
    const seedId = await video(owner, { tags: ['detail-test'] });
    const shown = await video(owner, { tags: ['detail-test'], title: 'From projection' });
    const failed = await video(owner, { tags: ['detail-test'] });
    const full = {
      id: shown,
      title: 'From the video service',
      description: 'd',
      tags: ['detail-test'],
      visibility: 'public',
      state: 'ready',
      channel: { id: channelId, handle: 'cats', name: 'Cat videos' },
      thumbnailUrl: 'http://kinora.test/media/x/thumb.jpg',
      stats: { views: 7, likes: 1, dislikes: 0, comments: 2 },
      createdAt: '2026-01-01T00:00:00.000Z',
      publishedAt: '2026-01-01T00:00:00.000Z',
    };
    const asked: string[][] = [];
    const other = await buildApp(config, {
      database,
      logger,
      bus,
      details: { videos: async (ids) => (asked.push(ids), new Map(ids.includes(shown) ? [[shown, full as any]] : [])) },
    });
    try {
      const items = JSON.parse((await other.inject({ method: 'GET', url: `/api/v1/videos/${seedId}/related?limit=2` })).body).items;
      // same tag overlap: newest first
      expect(items).toEqual([expect.objectContaining({ id: failed, stats: { views: 0, likes: 0, dislikes: 0, comments: 0 } }), full]);
      expect(asked[0]?.sort()).toEqual([shown, failed].sort());
    } finally {
      await other.close();
    }
  });
});

describe('GET /api/v1/feed/home', () => {
  it('anonymous: popular videos by trending score (anonymous views count), never private or deleted ones', async () => {
    const owner = await issuer.user();
    const hot = await video(owner);
    const warm = await video(owner);
    const priv = await video(owner, { visibility: 'private' });
    const gone = await video(owner);
    await anonymousViews(warm, 2);
    await anonymousViews(hot, 40);
    await anonymousViews(priv, 60);
    await anonymousViews(gone, 60);
    await video(owner, { videoId: gone, version: 2, deleted: true });
    const list = ids(await home());
    expect(list.indexOf(hot)).toBeGreaterThanOrEqual(0);
    expect(list.indexOf(hot)).toBeLessThan(list.indexOf(warm));
    expect(list).not.toContain(priv);
    expect(list).not.toContain(gone);
    // anonymous views feed trending only, never the per-user model
    expect((await database.primary.query('SELECT 1 FROM recommendation.engagement WHERE video_id = ANY($1)', [[hot, warm]])).rowCount).toBe(0);
    expect(ids(await home(undefined, '?limit=1'))).toHaveLength(1);
    expectProblem(await home(undefined, '?limit=0'), 400);
  });

  it('decays trending scores: engagement a day old counts half, and late events count at their own time', async () => {
    const owner = await issuer.user();
    const old = await video(owner);
    const fresh = await video(owner);
    const day = 24 * 3600 * 1000;
    const at = (ms: number) => new Date(Date.now() - ms);
    const viewAt = (videoId: string, when: Date) => createEvent({ type: 'VideoViewed.v1', key: videoId, actor: { type: 'anonymous', id: null }, payload: { videoId, watchedSec: null }, occurredAt: when });
    // old: 6 views three days ago (0.75 now); fresh: 1 view now, then a late event from two days ago (1.25 now)
    await engage(TOPICS.videoViews, Array.from({ length: 6 }, () => viewAt(old, at(3 * day))));
    await engage(TOPICS.videoViews, [viewAt(fresh, at(0))]);
    await engage(TOPICS.videoViews, [viewAt(fresh, at(2 * day))]);
    const score = async (id: string) =>
      (await database.primary.query<{ s: number }>('SELECT score * power(2, -extract(epoch FROM (now() - updated_at)) / 86400) AS s FROM recommendation.trending WHERE video_id = $1', [id])).rows[0]!.s;
    expect(await score(old)).toBeCloseTo(0.75, 2);
    expect(await score(fresh)).toBeCloseTo(1.25, 2);
    const list = ids(await home());
    expect(list.indexOf(fresh)).toBeGreaterThanOrEqual(0);
    expect(list.indexOf(fresh)).toBeLessThan(list.indexOf(old));
  });

  it('signed in: videos related to what the user watched or liked (not those), then shared tags, then popular', async () => {
    const owner = await issuer.user();
    const me = await issuer.user();
    const [p1, p2] = [await issuer.user(), await issuer.user()];
    const tag = `t${uuidv7().slice(-8)}`;
    const watched = await video(owner, { tags: [tag] });
    const liked = await video(owner);
    const next = await video(owner); // both peers watched it too
    const maybe = await video(owner); // one peer
    const privateToo = await video(owner, { visibility: 'private' }); // the peers watched it, private
    const sameTag = await video(owner, { tags: [tag] });
    await views(watched, [me, p1, p2]);
    await like(liked, me);
    await views(next, [p1, p2]);
    await views(maybe, [p1]);
    await views(privateToo, [p1, p2]);
    const list = ids(await home(me));
    expect(list.slice(0, 3)).toEqual([next, maybe, sameTag]);
    expect(list).not.toContain(privateToo);
    // topped up with popular videos; what `me` watched or liked comes last, after every other published video
    const published = (await database.primary.query(`SELECT 1 FROM recommendation.video_projection WHERE state = 'ready' AND visibility = 'public' AND NOT deleted`)).rowCount!;
    expect(published).toBeLessThanOrEqual(100);
    expect(list).toHaveLength(published);
    expect(list.slice(-2).sort()).toEqual([watched, liked].sort());
    expect(ids(await home(me, `?limit=${published - 2}`))).not.toContain(watched);
    expect(ids(await home(me, `?limit=${published - 2}`))).not.toContain(liked);
    // anonymous callers get the popular list, which may contain what `me` watched
    expect(ids(await home())).toContain(watched);
  });

  it('pages with nextCursor like every list: the pages make up the whole list; foreign cursors are 400 problems', async () => {
    const owner = await issuer.user();
    const me = await issuer.user();
    const mine = await video(owner);
    for (let i = 0; i < 4; i++) await video(owner);
    await views(mine, [me]);
    for (const [who, whole] of [[undefined, ids(await home())], [me, ids(await home(me))]] as const) {
      expect(whole.length).toBeGreaterThan(5);
      const paged: string[] = [];
      let query = '?limit=2';
      for (let n = 0; n < 100; n++) {
        const res = await home(who, query);
        const body = json(res);
        expect(body.items.length).toBeLessThanOrEqual(2);
        paged.push(...ids(res));
        if (body.nextCursor === null) break;
        expect(typeof body.nextCursor).toBe('string');
        query = `?limit=2&cursor=${encodeURIComponent(body.nextCursor)}`;
      }
      expect(paged).toEqual(whole);
    }
    const first = json(await related(mine, '?limit=1'));
    expect(first.items).toHaveLength(1);
    const second = json(await related(mine, `?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`));
    expect(second.items).toHaveLength(1);
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(ids(await related(mine, '?limit=2')).slice(0, 2)).toEqual([first.items[0].id, second.items[0].id]);

    const foreign = Buffer.from(JSON.stringify({ k: 'videos', v: [2] })).toString('base64url');
    const deep = Buffer.from(JSON.stringify({ k: 'recommendation', v: [500] })).toString('base64url');
    for (const cursor of ['nope', foreign, deep, 'x'.repeat(201)]) {
      const p = expectProblem(await home(undefined, `?cursor=${cursor}`), 400, 'VALIDATION_FAILED');
      expect(p.detail).toMatch(/cursor/);
    }
  });

  it('applies a redelivered engagement event once', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    const event = viewEvent(id, { type: 'user', id: viewer.id });
    await engage(TOPICS.videoViews, [event, event]);
    await engage(TOPICS.videoViews, [event]);
    const { rows } = await database.primary.query<{ views: number }>('SELECT views FROM recommendation.engagement WHERE video_id = $1', [id]);
    expect(rows).toEqual([{ views: 1 }]);
  });
});
