import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { loadConfig } from '@kinora/config';
import { TOPICS } from '@kinora/contracts';
import { Database } from '@kinora/db';
import { createEvent, createKafkaEventBus, platformTopics, toEventMessage, type KafkaEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { createTestDatabase, getTestEnv, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';

// The same consumers on the Kafka adapter (the harness's broker): the service is built on the EventBus port, so
// this checks the wiring (topics, groups, batches in one transaction) against a real broker, end to end.
const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent' });
const logger = createLogger({ level: 'silent' });
let tdb: TestDatabase;
let database: Database;
let bus: KafkaEventBus;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase('recommendation_kafka');
  database = new Database({ primaryUrl: tdb.url, poolMax: 10 });
  bus = createKafkaEventBus({
    brokers: getTestEnv().kafkaBrokers,
    consumer: { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000 },
  });
  await bus.ensureTopics(platformTopics(3, 1));
  app = await buildApp(config, { database, logger, bus });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await database?.close();
  await tdb?.drop();
});

describe('on Kafka', () => {
  it('consumes video.lifecycle, video.views and video.likes into related videos and the home feed', async () => {
    const owner = uuidv7();
    const [u1, u2] = [uuidv7(), uuidv7()];
    const [seed, pair, single] = [uuidv7(), uuidv7(), uuidv7()];
    await publishVideoChanged(
      bus,
      [seed, pair, single].map((videoId) => videoChangedEvent({ videoId, version: 1, channelId: uuidv7(), ownerId: owner })),
    );
    const view = (videoId: string, userId: string) =>
      toEventMessage(createEvent({ type: 'VideoViewed.v1', key: videoId, actor: { type: 'user', id: userId }, payload: { videoId, watchedSec: 5 } }));
    await bus.publish(TOPICS.videoViews, [view(seed, u1), view(seed, u2), view(pair, u1), view(pair, u2)]);
    await bus.publish(TOPICS.videoLikes, [
      toEventMessage(
        createEvent({
          type: 'VideoRatingChanged.v1',
          key: single,
          actor: { type: 'user', id: u1 },
          payload: { videoId: single, userId: u1, previous: 'none', value: 'like', deltas: { likes: 1, dislikes: 0 } },
        }),
      ),
    ]);
    await waitUntil(
      'the five engagement events applied',
      async () => (await database.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation.processed_events')).rows[0]!.n === 5,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await waitUntil(
      'the three videos projected',
      async () => (await database.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM recommendation.video_projection')).rows[0]!.n === 3,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const related = await app.inject({ method: 'GET', url: `/api/v1/videos/${seed}/related` });
    // pair: both viewers of seed; single: one of them (liked)
    expect(JSON.parse(related.body).items.map((v: { id: string }) => v.id)).toEqual([pair, single]);
    const home = JSON.parse((await app.inject({ method: 'GET', url: '/api/v1/feed/home?limit=3' })).body).items.map((v: { id: string }) => v.id);
    // trending: seed and pair have two views each, single one like (3)
    expect(home[0]).toBe(single);
    expect(home.slice(1).sort()).toEqual([seed, pair].sort());
  }, 60_000);
});
