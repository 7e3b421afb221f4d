import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';
import { openEventBus, platformTopics, type EventBus } from '@kinora/events';
import { waitFor } from '@kinora/events/testing';

// Every standalone service and the launcher pick their bus through openEventBus: Kafka when brokers are
// configured (topics created first), the in-process bus otherwise.
const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;
let tdb: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  tdb = await createTestDatabase('open_bus');
  pool = new pg.Pool({ connectionString: tdb.url });
});

afterAll(async () => {
  await pool?.end();
  await tdb?.drop();
});

async function roundTrip(bus: EventBus, topic: string): Promise<unknown[]> {
  const got: unknown[] = [];
  const sub = await bus.subscribe({ group: `g-${Date.now()}`, topics: [topic], handler: async (b) => void got.push(...b.messages.map((m) => m.value)) });
  await bus.publish(topic, [{ key: 'k1', value: { n: 1 } }]);
  await waitFor(() => got.length === 1, 30_000, 'the published message');
  await sub.close();
  return got;
}

describe('openEventBus', () => {
  it('uses the in-process bus over PostgreSQL without brokers', async () => {
    const bus = await openEventBus({ kafkaBrokers: [], pool, logger: silent, clientId: 't', topicPartitions: 3, replicationFactor: 1 });
    try {
      expect(await roundTrip(bus, 'video.views')).toEqual([{ n: 1 }]);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM events.schema_migrations`);
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await bus.close();
    }
  });

  it('uses Kafka with every platform topic and its .dlq twin created when brokers are given', async () => {
    const brokers = getTestEnv().kafkaBrokers;
    const bus = await openEventBus({ kafkaBrokers: brokers, pool, logger: silent, clientId: 'open-bus-test', topicPartitions: 2, replicationFactor: 1 });
    const admin = new Kafka({ brokers, clientId: 'open-bus-check', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      for (const t of platformTopics(2, 1)) expect(topics).toContain(t.name);
      expect(topics).toContain('video.views.dlq');
      expect(await roundTrip(bus, 'live.chat')).toEqual([{ n: 1 }]);
    } finally {
      await admin.disconnect();
      await bus.close();
    }
  });
});
