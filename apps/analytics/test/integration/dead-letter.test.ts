import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { ANALYTICS_EVENT_TYPES } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createKafkaEventBus, toEventMessage, type ConsumedMessage, type KafkaEventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';
import { AnalyticsMetrics, CounterConsumer, type CounterConsumerOptions, CounterRepository, DLQ_HEADERS, FactsRepository, lagSourceFor, migrationsDir, replayDeadLetters } from '@kinora/analytics';

// A message that cannot be processed goes to <topic>.dlq with its metadata; the partition keeps moving; a replay
// puts it back.
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('dead letters (Kafka)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let database: Database;
  let bus: KafkaEventBus;

  beforeAll(async () => {
    db = await createTestDatabase('analytics_dlq');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await runMigrations(pool, { schema: 'analytics', dir: migrationsDir });
    database = new Database({ primaryUrl: db.url, poolMax: 4 });
    bus = createKafkaEventBus({
      brokers: getTestEnv().kafkaBrokers,
      logger: silent,
      consumer: { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000 },
    });
  });

  afterAll(async () => {
    await bus?.close();
    await database?.close();
    await pool?.end();
    await db?.drop();
  });

  const views = async (videoId: string): Promise<number> => {
    const { rows } = await pool.query<{ n: string | null }>('SELECT sum(views)::text AS n FROM analytics.video_counters WHERE video_id = $1', [videoId]);
    return Number(rows[0]?.n ?? 0);
  };

  const viewOf = (videoId: string) =>
    createEvent({ type: ANALYTICS_EVENT_TYPES.videoViewed, key: videoId, actor: { type: 'anonymous', id: null }, payload: { videoId, watchedSec: 1 } });

  /** A counter consumer of `topic` alone, flushing every 100 ms, in a group of its own. */
  const consumerOf = (topic: string, group: string, metrics: AnalyticsMetrics, more: Partial<CounterConsumerOptions> = {}) =>
    new CounterConsumer({
      bus,
      counters: new CounterRepository(database),
      facts: new FactsRepository(database),
      metrics,
      logger: silent,
      flushIntervalMs: 100,
      factWindow: () => ({ first: 0, last: Date.now() + 86_400_000 }),
      group: `${group}.${randomUUID().slice(0, 8)}`,
      topics: [topic],
      ...more,
    });

  it('counts an event published twice (a publish retried after a failure the broker had written) once', async () => {
    const topic = `dup-${randomUUID().slice(0, 8)}.video.views`;
    await bus.ensureTopics([{ name: topic, partitions: 1 }]);
    const videoId = randomUUID();
    const view = () => viewOf(videoId);
    const first = Array.from({ length: 10 }, view);
    const metrics = new AnalyticsMetrics(new Registry());
    const consumer = consumerOf(topic, 'analytics.dup', metrics);
    await consumer.start();
    try {
      await bus.publish(topic, first.map((e) => toEventMessage(e)));
      // The retry: four of the same envelopes again, among two new events.
      const again = [view(), ...first.slice(3, 7), view()];
      await bus.publish(topic, again.map((e) => toEventMessage(e)));
      await waitFor(async () => (await views(videoId)) >= 12 && consumer.pendingEvents() === 0, 30_000, '12 distinct views counted');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await views(videoId)).toBe(12);
      expect((await metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0)).toBe(4);
    } finally {
      await consumer.stop();
    }
  });

  it('counts a copy published after a restart once: the new member refills the window from before its stored position', async () => {
    const topic = `dup-restart-${randomUUID().slice(0, 8)}.video.views`;
    await bus.ensureTopics([{ name: topic, partitions: 1 }, { name: `${topic}.dlq`, partitions: 1 }]);
    const videoId = randomUUID();
    const first = Array.from({ length: 10 }, () => viewOf(videoId));
    // Also an event the first member dead-letters (its videoId is not a UUID): not counted, so not remembered, and a
    // fixed copy of it (the same id, as a replay brings it) after the restart must count.
    const poison = { ...viewOf(videoId), payload: { videoId: 'not-a-uuid', watchedSec: 1 } };
    const group = `analytics.dup-restart.${randomUUID().slice(0, 8)}`;
    const before = consumerOf(topic, group, new AnalyticsMetrics(new Registry()), { group, deadLetter: { attempts: 1 } });
    await before.start();
    try {
      await bus.publish(topic, [...first, poison].map((e) => toEventMessage(e)));
      await waitFor(async () => (await views(videoId)) === 10 && before.pendingEvents() === 0 && before.positions()[0]?.next === '11', 30_000, 'the first ten views counted and flushed');
    } finally {
      await before.stop();
    }
    const metrics = new AnalyticsMetrics(new Registry());
    const after = consumerOf(topic, group, metrics, { group });
    await after.start();
    try {
      // The retry lands after the restart: four of the counted envelopes again, among two new events and the fix.
      const again = [viewOf(videoId), ...first.slice(3, 7), viewOf(videoId), { ...poison, payload: { videoId, watchedSec: 1 } }];
      await bus.publish(topic, again.map((e) => toEventMessage(e)));
      await waitFor(async () => (await views(videoId)) >= 13 && after.pendingEvents() === 0 && after.positions()[0]?.next === '18', 30_000, 'the new views counted');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await views(videoId)).toBe(13);
      expect((await metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0)).toBe(4);
      expect((await metrics.events.get()).values.reduce((n, v) => n + v.value, 0)).toBe(3);
    } finally {
      await after.stop();
    }
  }, 90_000);

  it('dead-letters a poison message with its metadata after retries, counts the rest of its partition, and replays it', async () => {
    const topic = `dlq-${randomUUID().slice(0, 8)}.video.views`;
    await bus.ensureTopics([{ name: topic, partitions: 1 }, { name: `${topic}.dlq`, partitions: 1 }]);
    const videoId = randomUUID();
    const events = Array.from({ length: 50 }, () => viewOf(videoId));
    const poisoned = new Set([events[20]!.id]);
    const attempts = new Map<string, number>();
    const metrics = new AnalyticsMetrics(new Registry());
    const consumer = consumerOf(topic, 'analytics.dlq', metrics, {
      deadLetter: { attempts: 3, initialBackoffMs: 10 },
      guard: (m: ConsumedMessage<unknown>) => {
        const id = (m.value as { id: string }).id;
        if (!poisoned.has(id)) return;
        attempts.set(id, (attempts.get(id) ?? 0) + 1);
        throw new Error('injected: this event cannot be processed');
      },
    });
    await consumer.start();
    try {
      await bus.publish(topic, events.map((e) => toEventMessage(e)));
      // Also a value that is not JSON at all, from a foreign producer.
      const kafka = new Kafka({ brokers: getTestEnv().kafkaBrokers, logLevel: logLevel.NOTHING });
      const raw = kafka.producer();
      await raw.connect();
      await raw.send({ topic, messages: [{ key: videoId, value: '{broken' }] });
      await raw.disconnect();

      await waitFor(async () => (await views(videoId)) === 49, 30_000, 'the 49 good views of the partition counted');
      expect(attempts.get(events[20]!.id)).toBe(3);

      const dead: ConsumedMessage<unknown>[] = [];
      const reader = await bus.subscribe({ group: `reader.${randomUUID().slice(0, 8)}`, topics: [`${topic}.dlq`], handler: async (b) => void dead.push(...b.messages) });
      await waitFor(() => dead.length === 2, 20_000, 'two dead letters');
      await reader.close();
      const poison = dead.find((m) => (m.value as { id?: string }).id === events[20]!.id)!;
      expect(poison.key).toBe(videoId);
      expect(poison.headers).toMatchObject({
        [DLQ_HEADERS.topic]: topic,
        [DLQ_HEADERS.partition]: '0',
        [DLQ_HEADERS.offset]: '20',
        [DLQ_HEADERS.attempts]: '3',
        [DLQ_HEADERS.error]: expect.stringContaining('injected'),
        'event-id': events[20]!.id,
      });
      const broken = dead.find((m) => m !== poison)!;
      expect(broken.value).toBe('{broken');
      expect(broken.headers[DLQ_HEADERS.error]).toMatch(/not JSON/);
      expect(broken.headers[DLQ_HEADERS.offset]).toBe('50');
      expect((await metrics.deadLettered.get()).values.reduce((n, v) => n + v.value, 0)).toBe(2);

      // Fixed: the replay puts both back; the poison now counts, the broken one is dead-lettered again.
      poisoned.clear();
      const result = await replayDeadLetters({ bus, topic, endOffsets: lagSourceFor(bus), logger: silent, idleMs: 5_000 });
      expect(result).toEqual({ replayed: 2, duplicates: 0 });
      await waitFor(async () => (await views(videoId)) === 50, 30_000, 'the replayed view counted');
      // A second replay starts after what the first one replayed.
      const again = await replayDeadLetters({ bus, topic, endOffsets: lagSourceFor(bus), logger: silent, idleMs: 2_000 });
      expect(again.replayed).toBeLessThanOrEqual(1); // only the broken message, dead-lettered again meanwhile
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await views(videoId)).toBe(50);
    } finally {
      await consumer.stop();
    }
  }, 120_000);
});
