import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import type { VideoChangedV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type EventBus, type EventEnvelope, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { TestIssuer, type TestUser } from '@kinora/projections/testing';
import { createTestDatabase, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';

const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent' });
const logger = createLogger({ level: 'silent' });
let tdb: TestDatabase;
let database: Database;
let bus: InProcessEventBus;
let issuer: TestIssuer;
let app: FastifyInstance;

function verifierFor(i: TestIssuer): TokenVerifier {
  return new TokenVerifier({ issuer: i.issuer, audience: i.audience, fetchJwks: () => i.jwks(), cooldownMs: 0 });
}

beforeAll(async () => {
  tdb = await createTestDatabase('likes');
  database = new Database({ primaryUrl: tdb.url, poolMax: 30 });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  issuer = await TestIssuer.create();
  app = await buildApp(config, { database, logger, bus, verifier: verifierFor(issuer), relay: { pollIntervalMs: 100 } });
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
  if (code) expect(p.code).toBe(code);
  return p;
}

/** Publishes a video (by default a ready public one) and waits until the like service's projection has it. */
async function video(owner: TestUser, patch: Partial<VideoChangedV1> = {}, b: EventBus = bus): Promise<string> {
  const videoId = patch.videoId ?? uuidv7();
  const version = patch.version ?? 1;
  await publishVideoChanged(b, [videoChangedEvent({ videoId, version, channelId: uuidv7(), ownerId: owner.id, ...patch })]);
  await waitUntil(
    'video projection',
    async () => (await database.primary.query('SELECT 1 FROM likes.video_projection WHERE video_id = $1 AND version >= $2', [videoId, version])).rowCount === 1,
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  return videoId;
}

const rate = (user: TestUser | undefined, videoId: string, value: unknown) =>
  app.inject({ method: 'PUT', url: `/api/v1/videos/${videoId}/rating`, payload: { value }, ...(user ? { headers: user.headers } : {}) });
const getRating = (user: TestUser | undefined, videoId: string) =>
  app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}/rating`, ...(user ? { headers: user.headers } : {}) });

/** Waits until the outbox is drained, then returns the rating events of these videos (deduplicated by id). */
async function ratingEvents(videoIds: string[]): Promise<EventEnvelope<any>[]> {
  await waitUntil('outbox drained', async () => (await database.primary.query('SELECT 1 FROM likes.outbox LIMIT 1')).rowCount === 0, { timeoutMs: 20_000, intervalMs: 20 });
  const { rows } = await database.primary.query<{ value: EventEnvelope<any> }>(
    `SELECT value FROM events.log WHERE topic = 'video.likes' AND key = ANY($1) ORDER BY partition, "offset"`,
    [videoIds],
  );
  const seen = new Set<string>();
  return rows.map((r) => r.value).filter((e) => !seen.has(e.id) && seen.add(e.id));
}

describe('rating a video', () => {
  it('stores one rating per user and video and answers {value}', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    expect(json(await getRating(viewer, id))).toEqual({ value: 'none' });
    const res = await rate(viewer, id, 'like');
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ value: 'like' });
    expect(json(await getRating(viewer, id))).toEqual({ value: 'like' });
    expect(json(await getRating(owner, id))).toEqual({ value: 'none' });
  });

  it('publishes one event per effective change with the deltas, and nothing for a repeated value', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    for (const v of ['like', 'like', 'dislike', 'dislike', 'none', 'none', 'dislike', 'like']) expect((await rate(viewer, id, v)).statusCode).toBe(200);
    const events = await ratingEvents([id]);
    expect(events.map((e) => [e.payload.previous, e.payload.value, e.payload.deltas.likes, e.payload.deltas.dislikes])).toEqual([
      ['none', 'like', 1, 0],
      ['like', 'dislike', -1, 1],
      ['dislike', 'none', 0, -1],
      ['none', 'dislike', 0, 1],
      ['dislike', 'like', 1, -1],
    ]);
    for (const e of events) {
      expect(e).toEqual(
        expect.objectContaining({ type: 'VideoRatingChanged.v1', key: id, actor: { type: 'user', id: viewer.id }, occurredAt: expect.any(String) }),
      );
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/); // UUIDv7
      expect(e.payload).toEqual(expect.objectContaining({ videoId: id, userId: viewer.id }));
    }
  });

  it('taking back a rating that was never given changes nothing and publishes nothing', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    expect(json(await rate(viewer, id, 'none'))).toEqual({ value: 'none' });
    expect(await ratingEvents([id])).toEqual([]);
    const { rowCount } = await database.primary.query('SELECT 1 FROM likes.video_ratings WHERE video_id = $1', [id]);
    expect(rowCount).toBe(0);
  });

  it('ends concurrent requests of one user in one consistent row whose events sum to it', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    const values = ['like', 'dislike', 'none'];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => rate(viewer, id, values[i % 3])));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const { rows } = await database.primary.query<{ value: string }>('SELECT value FROM likes.video_ratings WHERE video_id = $1', [id]);
    expect(rows).toHaveLength(1);
    const events = await ratingEvents([id]);
    const sum = events.reduce((s, e) => ({ likes: s.likes + e.payload.deltas.likes, dislikes: s.dislikes + e.payload.deltas.dislikes }), { likes: 0, dislikes: 0 });
    expect(sum).toEqual({ likes: rows[0]!.value === 'like' ? 1 : 0, dislikes: rows[0]!.value === 'dislike' ? 1 : 0 });
    // Each event continues from the previous one: previous(n+1) = value(n).
    for (let i = 1; i < events.length; i++) expect(events[i]!.payload.previous).toBe(events[i - 1]!.payload.value);
    expect(events.at(-1)?.payload.value ?? 'none').toBe(rows[0]!.value);
  });

  it('keeps the sum of all deltas equal to the ratings table after 1,000 random operations by many users', async () => {
    const owner = await issuer.user();
    const users = await Promise.all(Array.from({ length: 40 }, () => issuer.user()));
    const videos = await Promise.all(Array.from({ length: 4 }, () => video(owner)));
    // A deterministic pseudo-random sequence (reproducible failures).
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const values = ['like', 'dislike', 'none'];
    const ops = Array.from({ length: 1000 }, () => ({ user: users[rnd(users.length)]!, video: videos[rnd(videos.length)]!, value: values[rnd(3)]! }));
    // Eight at a time: operations of one user on one video regularly run concurrently.
    for (let i = 0; i < ops.length; i += 8) {
      const batch = await Promise.all(ops.slice(i, i + 8).map((o) => rate(o.user, o.video, o.value)));
      for (const r of batch) expect(r.statusCode).toBe(200);
    }
    const events = await ratingEvents(videos);
    const { rows } = await database.primary.query<{ video_id: string; likes: number; dislikes: number }>(
      `SELECT video_id, count(*) FILTER (WHERE value = 'like')::int AS likes, count(*) FILTER (WHERE value = 'dislike')::int AS dislikes
       FROM likes.video_ratings WHERE video_id = ANY($1) GROUP BY video_id`,
      [videos],
    );
    for (const v of videos) {
      const table = rows.find((r) => r.video_id === v) ?? { likes: 0, dislikes: 0 };
      const mine = events.filter((e) => e.key === v);
      const likes = mine.reduce((s, e) => s + e.payload.deltas.likes, 0);
      const dislikes = mine.reduce((s, e) => s + e.payload.deltas.dislikes, 0);
      expect({ video: v, likes, dislikes }).toEqual({ video: v, likes: table.likes, dislikes: table.dislikes });
    }
    // Every event is an effective change.
    expect(events.every((e) => e.payload.previous !== e.payload.value)).toBe(true);
  });
});

describe('who may rate what', () => {
  it('answers 401 without a token or with a bad one', async () => {
    const owner = await issuer.user();
    const id = await video(owner);
    expectProblem(await rate(undefined, id, 'like'), 401, 'UNAUTHENTICATED');
    expectProblem(await getRating(undefined, id), 401, 'UNAUTHENTICATED');
    const forged = await (await TestIssuer.create()).user();
    expectProblem(await rate(forged, id, 'like'), 401, 'INVALID_TOKEN');
    const expired = await issuer.sign({ userId: owner.id, username: owner.username, expiresInSec: -60 });
    expectProblem(await app.inject({ method: 'PUT', url: `/api/v1/videos/${id}/rating`, payload: { value: 'like' }, headers: { authorization: `Bearer ${expired}` } }), 401, 'TOKEN_EXPIRED');
  });

  it('answers 400 for an invalid value, id or body', async () => {
    const user = await issuer.user();
    const id = await video(user);
    const p = expectProblem(await rate(user, id, 'love'), 400, 'VALIDATION_FAILED');
    expect(p.errors.map((e: { field: string }) => e.field)).toContain('/body/value');
    expectProblem(await rate(user, 'not-a-uuid', 'like'), 400, 'VALIDATION_FAILED');
    expectProblem(await getRating(user, 'not-a-uuid'), 400, 'VALIDATION_FAILED');
    expectProblem(await app.inject({ method: 'PUT', url: `/api/v1/videos/${id}/rating`, payload: {}, headers: user.headers }), 400, 'VALIDATION_FAILED');
  });

  it('accepts ratings only on videos the caller can see: others get 404 for private, unfinished, deleted and unknown videos', async () => {
    const owner = await issuer.user();
    const other = await issuer.user();
    const cases: Array<[string, Partial<VideoChangedV1>, number]> = [
      ['public', {}, 200],
      ['unlisted', { visibility: 'unlisted' }, 200],
      ['private', { visibility: 'private' }, 404],
      ['processing', { state: 'processing' }, 404],
      ['awaiting upload', { state: 'awaiting_upload' }, 404],
      ['failed', { state: 'failed' }, 404],
      ['deleted', { deleted: true }, 404],
    ];
    for (const [label, patch, forOthers] of cases) {
      const id = await video(owner, patch);
      const put = await rate(other, id, 'like');
      const get = await getRating(other, id);
      expect([label, put.statusCode, get.statusCode]).toEqual([label, forOthers, forOthers]);
      if (forOthers === 404) {
        expect(json(put).code).toBe('VIDEO_NOT_FOUND');
        // The owner sees (and may rate) its own video unless it is deleted.
        expect([label, (await rate(owner, id, 'like')).statusCode]).toEqual([label, patch.deleted ? 404 : 200]);
      }
    }
    expectProblem(await rate(other, uuidv7(), 'like'), 404, 'VIDEO_NOT_FOUND');
  });

  it('follows the video: newer versions win, older or repeated ones change nothing', async () => {
    const owner = await issuer.user();
    const other = await issuer.user();
    const id = await video(owner, { visibility: 'public', version: 3 });
    expect((await rate(other, id, 'like')).statusCode).toBe(200);
    await video(owner, { videoId: id, version: 4, visibility: 'private' });
    expectProblem(await rate(other, id, 'dislike'), 404, 'VIDEO_NOT_FOUND');
    // A late, older event (redelivery or reordering) does not bring the old state back.
    const late = videoChangedEvent({ videoId: id, version: 2, channelId: uuidv7(), ownerId: owner.id, visibility: 'public' });
    await publishVideoChanged(bus, [late]);
    await waitUntil(
      'old event consumed',
      async () => {
        const { rows } = await database.primary.query(
          `SELECT 1 FROM events.log l JOIN events.consumer_offsets o ON o.topic = l.topic AND o.partition = l.partition
           WHERE o.group_id = 'likes.video-projection' AND l.topic = 'video.lifecycle' AND l.value->>'id' = $1 AND o.next_offset > l."offset"`,
          [late.id],
        );
        return rows.length === 1;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expectProblem(await rate(other, id, 'dislike'), 404, 'VIDEO_NOT_FOUND');
    expect(json(await getRating(owner, id))).toEqual({ value: 'none' });
  });
});

describe('outbox', () => {
  it('delivers an event whose relay died between the commit and the publish once a relay runs again', async () => {
    const owner = await issuer.user();
    const viewer = await issuer.user();
    const id = await video(owner);
    // A second process of the like service whose bus is gone: its writes commit, its relay cannot publish.
    const deadBus: EventBus = {
      ensureTopics: async () => {},
      publish: async () => {
        throw new Error('connection lost');
      },
      subscribe: async () => ({ close: async () => {} }),
      close: async () => {},
    };
    const crashed = await buildApp(config, { database, logger, bus: deadBus, verifier: verifierFor(issuer), relay: { pollIntervalMs: 60_000 } });
    await crashed.ready();
    // It has no projection consumer of its own (dead bus), but shares the database, so it sees the video.
    const res = await crashed.inject({ method: 'PUT', url: `/api/v1/videos/${id}/rating`, payload: { value: 'dislike' }, headers: viewer.headers });
    expect(res.statusCode).toBe(200);
    await crashed.close(); // the process is gone; its event is still in the outbox or already relayed by the live one
    const events = await ratingEvents([id]);
    expect(events.map((e) => e.payload.value)).toEqual(['dislike']);
  });
});
