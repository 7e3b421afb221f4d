import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { runMigrations } from '@kinora/db';
import {
  createEvent,
  createInProcessEventBus,
  createKafkaEventBus,
  eventsMigrationsDir,
  inTransactionPublisher,
  OutboxRelay,
  OutboxWriter,
  outboxMigrationsDir,
  toEventMessage,
  type ConsumedMessage,
  type EventBus,
  type EventEnvelope,
  type InProcessEventBus,
} from '@kinora/events';
import { sleep, waitFor } from '@kinora/events/testing';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';

// The transactional outbox: rows written in the business transaction, drained by a relay to any EventBus,
// at least once and in order, whatever happens between the commit and the publish.
const SCHEMA = 'svc';
let db: TestDatabase;
let pool: pg.Pool;
let bus: InProcessEventBus;
let n = 0;
const unique = (label: string): string => `outbox-test.${label}.${Date.now().toString(36)}${(n++).toString(36)}`;

beforeAll(async () => {
  db = await createTestDatabase('outbox');
  pool = new pg.Pool({ connectionString: db.url, max: 10 });
  await runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir });
  await runMigrations(pool, { schema: SCHEMA, dir: outboxMigrationsDir });
  await pool.query(`CREATE TABLE ${SCHEMA}.things (id text PRIMARY KEY)`);
  bus = createInProcessEventBus({ pool, heartbeatIntervalMs: 300 });
});

afterAll(async () => {
  await bus?.close();
  await pool?.end();
  await db?.drop();
});

const writer = new OutboxWriter({ schema: SCHEMA });

function event(key: string, seq: number): EventEnvelope<{ seq: number }> {
  return createEvent({ type: 'ThingHappened.v1', key, actor: { type: 'service', id: 'test' }, payload: { seq } });
}

/** A business transaction: a row in the service's table and its events in the outbox, committed together. */
async function business(topic: string, events: EventEnvelope<{ seq: number }>[], opts: { rollback?: boolean } = {}): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${SCHEMA}.things (id) VALUES ($1)`, [randomUUID()]);
    await writer.publish(client, topic, events.map((e) => toEventMessage(e)));
    await client.query(opts.rollback ? 'ROLLBACK' : 'COMMIT');
  } finally {
    client.release();
  }
}

async function logOf(topic: string): Promise<EventEnvelope<{ seq: number }>[]> {
  const { rows } = await pool.query<{ value: EventEnvelope<{ seq: number }> }>(
    'SELECT value FROM events.log WHERE topic = $1 ORDER BY partition, "offset"',
    [topic],
  );
  return rows.map((r) => r.value);
}

async function outboxSize(): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SCHEMA}.outbox`)).rows[0]!.n;
}

/** A pool whose connections can be "killed" (their backends terminated) as if their process died. */
function killablePool(): { pool: pg.Pool; kill(): Promise<void> } {
  const name = `relay-${randomUUID().slice(0, 8)}`;
  const p = new pg.Pool({ connectionString: db.url, max: 2, application_name: name });
  p.on('error', () => {});
  return {
    pool: p,
    kill: async () => {
      await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
    },
  };
}

describe('OutboxWriter', () => {
  it('writes the events if and only if the business transaction commits', async () => {
    const topic = unique('atomic');
    await business(topic, [event('k', 1)], { rollback: true });
    await business(topic, [event('k', 2)]);
    const { rows } = await pool.query(`SELECT topic, key, value->'payload'->>'seq' AS seq FROM ${SCHEMA}.outbox WHERE topic = $1`, [topic]);
    expect(rows).toEqual([{ topic, key: 'k', seq: '2' }]);
    await new OutboxRelay({ pool, schema: SCHEMA, bus }).drain();
  });

  it('refuses a client outside a transaction, bad keys and invalid schema names', async () => {
    const client = await pool.connect();
    try {
      await expect(writer.publish(client, 'x', [{ key: 'k', value: 1 }])).rejects.toThrow(/open transaction/);
      await client.query('BEGIN');
      await expect(writer.publish(client, 'x', [{ key: '', value: 1 }])).rejects.toThrow(/key/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(() => new OutboxWriter({ schema: 'x; DROP TABLE y' })).toThrow(/schema/);
  });
});

describe('OutboxRelay', () => {
  it('moves the rows to the bus in order and empties the outbox', async () => {
    const topic = unique('order');
    for (let i = 0; i < 12; i++) await business(topic, [event(`k${i % 3}`, i), event(`k${i % 3}`, i + 100)]);
    const relay = new OutboxRelay({ pool, schema: SCHEMA, bus, batchSize: 5 });
    expect(await relay.drain()).toBe(24);
    expect(await outboxSize()).toBe(0);
    const log = await logOf(topic);
    expect(log).toHaveLength(24);
    for (const key of ['k0', 'k1', 'k2']) {
      const seqs = log.filter((e) => e.key === key).map((e) => e.payload.seq);
      const expected = [...Array(12).keys()].filter((i) => i % 3 === Number(key[1])).flatMap((i) => [i, i + 100]);
      expect(seqs).toEqual(expected);
    }
  });

  it('delivers soon after wake() and finds rows of other processes by polling', async () => {
    const topic = unique('wake');
    const relay = new OutboxRelay({ pool, schema: SCHEMA, bus, pollIntervalMs: 200 });
    relay.start();
    try {
      await business(topic, [event('a', 1)]);
      relay.wake();
      await waitFor(async () => (await logOf(topic)).length === 1, 5_000, 'woken relay');
      await business(topic, [event('a', 2)]); // nobody wakes it: the poll finds it
      await waitFor(async () => (await logOf(topic)).length === 2, 5_000, 'polling relay');
    } finally {
      await relay.close();
    }
  });

  it('survives a crash between the commit and the publish: the next relay delivers the event, exactly once', async () => {
    const topic = unique('crash-before-publish');
    // The service committed, then its process died before its relay ran.
    const e = event('video-1', 1);
    await business(topic, [e]);
    expect(await logOf(topic)).toEqual([]);
    // A relay that dies in the middle of its publish (the bus never answers; its connection is cut).
    const doomed = killablePool();
    const hanging: EventBus = { ...bus, publish: () => new Promise<void>(() => {}) } as EventBus;
    const dying = new OutboxRelay({ pool: doomed.pool, schema: SCHEMA, bus: hanging });
    void dying.drainOnce().catch(() => {});
    await sleep(100);
    await doomed.kill(); // its transaction (and the drain lock) end with its session
    // After the restart a relay runs again.
    const relay = new OutboxRelay({ pool, schema: SCHEMA, bus });
    await waitFor(async () => (await relay.drainOnce()) !== 'busy', 5_000, 'drain lock released by the dead session');
    await relay.drain();
    const log = await logOf(topic);
    expect(log.map((x) => x.id)).toEqual([e.id]);
    expect(log[0]).toEqual(e);
    void doomed.pool.end().catch(() => {}); // its hung publish never gives its client back
  });

  it('survives a crash after the publish but before the outbox commit: delivered again with the same id (at least once)', async () => {
    const topic = unique('crash-after-publish');
    const events = [event('v', 1), event('v', 2)];
    await business(topic, events);
    const doomed = killablePool();
    // The bus stores the events, then the process dies before the relay's transaction commits.
    const crashing: EventBus = {
      ...bus,
      publish: async (t, messages) => {
        await bus.publish(t, messages);
        await doomed.kill();
      },
    } as EventBus;
    await expect(new OutboxRelay({ pool: doomed.pool, schema: SCHEMA, bus: crashing }).drainOnce()).rejects.toThrow();
    expect(await outboxSize()).toBe(2); // nothing was deleted
    await new OutboxRelay({ pool, schema: SCHEMA, bus }).drain();
    const log = await logOf(topic);
    expect(log.map((x) => x.payload.seq)).toEqual([1, 2, 1, 2]);
    // Consumers deduplicate on the envelope id: the distinct events are exactly the ones written.
    expect([...new Set(log.map((x) => x.id))]).toEqual(events.map((x) => x.id));
    await doomed.pool.end().catch(() => {});
  });

  it('keeps the rows while the bus is down and delivers them when it is back', async () => {
    const topic = unique('bus-down');
    let down = true;
    const flaky: EventBus = {
      ...bus,
      publish: async (t, messages) => {
        if (down) throw new Error('broker unreachable');
        await bus.publish(t, messages);
      },
    } as EventBus;
    const relay = new OutboxRelay({ pool, schema: SCHEMA, bus: flaky, pollIntervalMs: 50, retryBackoff: { initialMs: 20, maxMs: 100 } });
    relay.start();
    try {
      await business(topic, [event('x', 1)]);
      relay.wake();
      await sleep(300);
      expect(await logOf(topic)).toEqual([]);
      expect(await outboxSize()).toBe(1);
      down = false;
      await waitFor(async () => (await logOf(topic)).length === 1, 5_000, 'delivery after the bus came back');
    } finally {
      await relay.close();
    }
  });

  it('lets one relay of a schema drain at a time, so concurrent relays keep the order of every key', async () => {
    const topic = unique('concurrent');
    const relays = Array.from({ length: 3 }, () => new OutboxRelay({ pool, schema: SCHEMA, bus, batchSize: 7, pollIntervalMs: 20, busyRetryMs: 5 }));
    for (const r of relays) r.start();
    try {
      const writers = Array.from({ length: 4 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 15; i++) {
            await business(topic, [event(`w${w}`, i)]);
            relays[i % 3]!.wake();
          }
        })(),
      );
      await Promise.all(writers);
      await waitFor(async () => (await logOf(topic)).length >= 60, 10_000, 'all 60 events');
    } finally {
      await Promise.all(relays.map((r) => r.close()));
    }
    const log = await logOf(topic);
    expect(log).toHaveLength(60);
    for (let w = 0; w < 4; w++) expect(log.filter((e) => e.key === `w${w}`).map((e) => e.payload.seq)).toEqual([...Array(15).keys()]);
  });
});

describe('inTransactionPublisher (embedded shortcut)', () => {
  it('appends to the in-process log in the business transaction', async () => {
    const topic = unique('direct');
    const publisher = inTransactionPublisher(bus);
    for (const rollback of [true, false]) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await publisher.publish(client, topic, [toEventMessage(event('d', rollback ? 0 : 1))]);
        await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
      } finally {
        client.release();
      }
    }
    expect((await logOf(topic)).map((e) => e.payload.seq)).toEqual([1]);
  });
});

describe('with the Kafka adapter', () => {
  it('relays the outbox to Kafka, in order per key, across a relay crash', async () => {
    const kafka = createKafkaEventBus({
      brokers: getTestEnv().kafkaBrokers,
      clientId: `outbox-test-${randomUUID().slice(0, 8)}`,
      consumer: { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 10_000 },
    });
    const topic = unique('kafka').replace(/\./g, '-');
    try {
      await kafka.ensureTopics([{ name: topic, partitions: 3 }]);
      const received: ConsumedMessage<EventEnvelope<{ seq: number }>>[] = [];
      const sub = await kafka.subscribe<EventEnvelope<{ seq: number }>>({
        group: `outbox-test-${randomUUID().slice(0, 8)}`,
        topics: [topic],
        handler: async (batch) => {
          received.push(...batch.messages);
        },
      });
      const written: EventEnvelope<{ seq: number }>[] = [];
      for (let i = 0; i < 10; i++) {
        const e = event(`key-${i % 2}`, i);
        written.push(e);
        await business(topic, [e]);
      }
      // The first relay dies after handing half of the rows to Kafka, before its transaction commits.
      const doomed = killablePool();
      const crashing: EventBus = {
        ...kafka,
        publish: async (t: string, messages: unknown[]) => {
          await kafka.publish(t, messages.slice(0, 5) as never);
          await doomed.kill();
        },
      } as unknown as EventBus;
      await expect(new OutboxRelay({ pool: doomed.pool, schema: SCHEMA, bus: crashing }).drainOnce()).rejects.toThrow();
      await new OutboxRelay({ pool, schema: SCHEMA, bus: kafka }).drain();
      await waitFor(async () => new Set(received.map((m) => m.value.id)).size === 10, 30_000, 'every event on Kafka');
      await sub.close();
      for (const key of ['key-0', 'key-1']) {
        // Deduplicated on the envelope id, each key's events arrive in the order they were written.
        const seen = new Set<string>();
        const seqs = received.filter((m) => m.key === key && !seen.has(m.value.id) && seen.add(m.value.id)).map((m) => m.value.payload.seq);
        expect(seqs).toEqual(written.filter((e) => e.key === key).map((e) => e.payload.seq));
      }
      await doomed.pool.end().catch(() => {});
    } finally {
      await kafka.close();
    }
  });
});
