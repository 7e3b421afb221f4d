import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { TokenVerifier } from '@kinora/auth';
import { COUNTER_EVENT_TYPES, SOCIAL_EVENT_TYPES, TOPICS } from '@kinora/contracts';
import { loadConfig } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createInProcessEventBus, eventsMigrationsDir, toEventMessage, type InProcessEventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createLogger } from '@kinora/observability';
import { CountersView, httpCountersLoader, publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { TestIssuer } from '@kinora/projections/testing';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildApp } from '@kinora/analytics';

// The counters read path across processes: the standalone analytics service flushes counts, publishes each changed
// entity's new totals on `analytics.counters` (through its outbox, in the flush transaction), and serves them at
// /internal/v1/counters; another service's CountersView loads them over HTTP behind a breaker and keeps up with the
// events. Then analytics goes away: the view keeps serving what it knew, and the breaker answers fast.
const logger = createLogger({ level: 'silent' });

describe('counters read path: internal API + analytics.counters events', () => {
  let db: TestDatabase;
  let database: Database;
  let bus: InProcessEventBus;
  let app: FastifyInstance;
  let url: string;
  let issuer: TestIssuer;

  beforeAll(async () => {
    db = await createTestDatabase('analytics_counters');
    database = new Database({ primaryUrl: db.url, replicaUrls: [db.replicaUrl], poolMax: 8 });
    await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
    bus = createInProcessEventBus({ pool: database.primary, logger, heartbeatIntervalMs: 300, pollIntervalMs: 50 });
    issuer = await TestIssuer.create();
    const config = loadConfig({ PUBLIC_URL: issuer.issuer, COUNTER_FLUSH_INTERVAL_MS: '200' });
    app = await buildApp(config, { database, logger, bus, verifier: new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetchJwks: () => issuer.jwks() }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await database?.close();
    await db?.drop();
  });

  const like = (videoId: string, likes: number, dislikes = 0) =>
    toEventMessage(
      createEvent({
        type: SOCIAL_EVENT_TYPES.videoRatingChanged,
        key: videoId,
        actor: { type: 'user', id: randomUUID() },
        payload: { videoId, userId: randomUUID(), previous: 'none', value: likes > 0 ? 'like' : 'none', deltas: { likes, dislikes } },
      }),
    );

  it('serves totals with versions, rejects bad ids with a problem, and stays out of the API document', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const res = await app.inject({ method: 'GET', url: `/internal/v1/counters/videos?ids=${a},${b}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: expect.arrayContaining([{ videoId: a, version: '0', views: 0, likes: 0, dislikes: 0, comments: 0 }, { videoId: b, version: '0', views: 0, likes: 0, dislikes: 0, comments: 0 }]) });
    for (const bad of ['', 'ids=nope', `ids=${a},`, `ids=${'-'.repeat(36)}`, `ids=${Array.from({ length: 101 }, () => a).join(',')}`]) {
      const r = await app.inject({ method: 'GET', url: `/internal/v1/counters/videos?${bad}` });
      expect(r.statusCode).toBe(400);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/internal'))).toEqual([]);
  });

  it('pushes exact totals to a view in another service, newest version first, and degrades when analytics is gone', async () => {
    const videoId = randomUUID();
    const loader = httpCountersLoader(url, { timeoutMs: 1_000, breakerFailures: 2, halfOpenAfterMs: 60_000 });
    const view = new CountersView({ loader, bus, group: `test.counters.${randomUUID()}`, logger });
    const moved: Array<{ likes: number; version: string }> = [];
    view.onVideoCounters((updates) => {
      for (const u of updates) if (u.videoId === videoId) moved.push({ likes: u.likes, version: u.version });
    });
    await view.start();
    try {
      expect((await view.statsOf([videoId])).get(videoId)).toEqual({ views: 0, likes: 0, dislikes: 0, comments: 0 });

      await bus.publish(TOPICS.videoLikes, [like(videoId, 1), like(videoId, 1), like(videoId, 1)]);
      await waitFor(async () => moved.some((m) => m.likes === 3), 15_000, 'the flushed totals reach the view');
      expect((await view.statsOf([videoId])).get(videoId)?.likes).toBe(3); // from the event: no reload needed
      await bus.publish(TOPICS.videoLikes, [like(videoId, -1), like(videoId, 0, 1)]);
      await waitFor(async () => (await view.statsOf([videoId])).get(videoId)?.likes === 2, 15_000, 'the second flush');
      expect((await view.statsOf([videoId])).get(videoId)).toEqual({ views: 0, likes: 2, dislikes: 1, comments: 0 });
      // Versions only rise, one per flush that changed the video.
      const versions = moved.map((m) => BigInt(m.version));
      expect(versions).toEqual([...versions].sort((x, y) => (x < y ? -1 : 1)));
      expect(new Set(versions).size).toBe(versions.length);

      // The internal API agrees (read from the replica, so wait for it).
      await waitFor(
        async () => {
          const [row] = await loader.videos([videoId]);
          return row?.likes === 2 && row.dislikes === 1 && row.version === moved.at(-1)!.version;
        },
        10_000,
        'the internal API has the same totals and version',
      );

      // A channel's counts: the video projection's change (a public ready video) is announced too.
      const channelId = randomUUID();
      expect(await view.channelStats(channelId)).toEqual({ subscriberCount: 0, videoCount: 0 });
      await publishVideoChanged(bus, [videoChangedEvent({ videoId: randomUUID(), version: 1, channelId, ownerId: randomUUID(), title: 'Hello', publishedAt: new Date().toISOString() })]);
      await waitFor(async () => (await view.channelStats(channelId)).videoCount === 1, 15_000, 'the channel video count reaches the view');

      // The event itself, as any consumer of the topic sees it.
      const seen = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no counters event')), 15_000);
        void bus
          .subscribe<{ type: string; payload: { videoId?: string } }>({
            group: `test.raw.${randomUUID()}`,
            topics: [TOPICS.counters],
            fromBeginning: true,
            handler: async (batch) => {
              const m = batch.messages.find((x) => x.value.payload.videoId === videoId);
              if (m) {
                clearTimeout(timer);
                resolve({ key: m.key, type: m.value.type, payload: m.value.payload });
              }
            },
          })
          .then((sub) => setTimeout(() => void sub.close(), 16_000).unref());
      });
      expect(seen).toEqual({ key: videoId, type: COUNTER_EVENT_TYPES.videoCountersChanged, payload: { videoId, version: '1', views: 0, likes: moved[0]!.likes, dislikes: 0, comments: 0 } });

      // Analytics stops: the view answers with what it knew, the breaker opens and then fails at once.
      await app.close();
      const other = randomUUID();
      const stale = await view.statsOf([videoId, other]);
      expect(stale.get(videoId)?.likes).toBe(2);
      expect(stale.get(other)).toEqual({ views: 0, likes: 0, dislikes: 0, comments: 0 });
      await view.statsOf([randomUUID()]);
      expect(loader.policy.state).toBe('open');
      const started = performance.now();
      await expect(loader.videos([randomUUID()])).rejects.toThrow(/open/);
      expect(performance.now() - started).toBeLessThan(50);
    } finally {
      await view.close();
      loader.policy.dispose();
    }
  });
});
