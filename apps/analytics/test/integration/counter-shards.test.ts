import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { createAnalyticsModule, CounterRepository, type AnalyticsModule } from '@kinora/analytics';
import { countDifferences, engagementTopics, mixedEvents, newExpected, publishAll } from './engagement.fixtures.js';

// COUNTER_SHARDS / COUNTER_TOPIC / COUNTER_CONSUMER_GROUP (what a CounterShardSet gives its aggregators) read through
// libs/config into the service: rows land only in shards [0, N), a read sums every shard so totals stay exact, and
// the count changes on an existing database without losing what the old count wrote.
const logger = createLogger({ level: 'silent' });
const uuids = (n: number): string[] => Array.from({ length: n }, () => randomUUID());

describe('analytics counter shards from the configuration', () => {
  let db: TestDatabase;
  let database: Database;
  let pool: pg.Pool;
  let bus: InProcessEventBus;
  let mod: AnalyticsModule | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('analytics_shards');
    database = new Database({ primaryUrl: db.url, poolMax: 6 });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
    bus = createInProcessEventBus({ pool: database.primary, logger, heartbeatIntervalMs: 300, pollIntervalMs: 100 });
  }, 60_000);

  afterAll(async () => {
    await mod?.close();
    await bus?.close();
    await pool?.end();
    await database?.close();
    await db?.drop();
  });

  async function shardRange(videos: readonly string[], channels: readonly string[]): Promise<{ min: number; max: number; rows: number }> {
    const { rows } = await pool.query<{ min: number; max: number; rows: string }>(
      `SELECT min(shard)::int AS min, max(shard)::int AS max, count(*)::text AS rows FROM (
         SELECT shard FROM analytics.video_counters WHERE video_id = ANY($1::uuid[])
         UNION ALL SELECT shard FROM analytics.channel_counters WHERE channel_id = ANY($2::uuid[])) s`,
      [videos, channels],
    );
    return { min: rows[0]!.min, max: rows[0]!.max, rows: Number(rows[0]!.rows) };
  }

  it('writes rows only in shards [0, COUNTER_SHARDS) of the configured topics and group; totals stay exact when the count changes', async () => {
    const topics = engagementTopics(`shards-${randomUUID().slice(0, 8)}`);
    // The topics as a CounterShardSet's KafkaTopic would make them; their dead-letter twins are the service's to ensure.
    await bus.ensureTopics(topics.all.map((t) => ({ name: t, partitions: 3 })));
    const group = `css-counters-${randomUUID().slice(0, 8)}`;
    const start = async (shards: number): Promise<AnalyticsModule> => {
      const config = loadConfig({ COUNTER_FLUSH_INTERVAL_MS: '100', COUNTER_SHARDS: String(shards), COUNTER_TOPIC: topics.all.join(','), COUNTER_CONSUMER_GROUP: group });
      const m = await createAnalyticsModule({ database, bus, config, logger, relay: { pollIntervalMs: 100 } });
      await m.start();
      return m;
    };
    const expected = newExpected();
    const videos = uuids(20);
    const channels = uuids(5);

    // 5 shards: 3,000 events spread over many flushes.
    mod = await start(5);
    expect(mod.counters.group).toBe(group);
    await publishAll(bus, mixedEvents(3_000, videos, channels, topics, expected), 300);
    let diffs: string[] = [];
    await waitFor(async () => (diffs = await countDifferences(pool, expected, videos)).length === 0, 30_000, () => `exact counts: ${diffs.slice(0, 3).join('; ')}`);
    const five = await shardRange(videos, channels);
    expect(five.min).toBeGreaterThanOrEqual(0);
    expect(five.max).toBeLessThan(5);
    expect(five.rows).toBeGreaterThan(20); // several shards per entity were used, not one
    // Nothing outside the configured topics' group was claimed.
    const { rows: offsets } = await pool.query<{ topic: string }>('SELECT DISTINCT topic FROM analytics.consumer_offsets WHERE group_id = $1', [group]);
    expect(offsets.map((r) => r.topic).sort()).toEqual([...topics.all].sort());
    const { rows: twins } = await pool.query<{ topic: string }>('SELECT DISTINCT topic FROM events.partitions WHERE topic = ANY($1::text[])', [topics.all.map((t) => `${t}.dlq`)]);
    expect(twins.map((r) => r.topic).sort()).toEqual(topics.all.map((t) => `${t}.dlq`).sort());
    await mod.close();

    // The same database at 10,000 shards: the group resumes where it stood, new rows go above the old range,
    // and the sums (old rows in [0, 5) plus new ones) are still exact.
    mod = await start(10_000);
    await publishAll(bus, mixedEvents(3_000, videos, channels, topics, expected), 300);
    await waitFor(async () => (diffs = await countDifferences(pool, expected, videos)).length === 0, 30_000, () => `exact counts: ${diffs.slice(0, 3).join('; ')}`);
    const wide = await shardRange(videos, channels);
    expect(wide.max).toBeLessThan(10_000);
    expect(wide.max).toBeGreaterThanOrEqual(100); // beyond the old fixed 100 (the shard check was widened)
    const totals = await mod.loader.videos(videos);
    for (const t of totals) expect(t.views).toBe(expected.videos.get(t.videoId)?.views ?? 0);
  }, 90_000);

  it('refuses a shard count outside 1-10000 when built directly', () => {
    expect(() => new CounterRepository(database, undefined, { shards: 0 })).toThrow(/between 1 and 10000 \(got 0\)/);
    expect(() => new CounterRepository(database, undefined, { shards: 10_001 })).toThrow(RangeError);
    expect(new CounterRepository(database).shards).toBe(100);
  });
});
