import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { runMigrations } from '@kinora/db';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { createInProcessEventBus, eventsMigrationsDir, partitionFor } from '@kinora/events';
import type { ConsumedBatch, ConsumedMessage, InProcessEventBus, InProcessEventBusOptions, SubscribeOptions, Subscription } from '@kinora/events';
import { describeEventBusContract, sleep, waitFor } from '@kinora/events/testing';

/** Short timings so rebalances and redeliveries happen within a test's bounded waits. */
const FAST: Omit<InProcessEventBusOptions, 'pool'> = { heartbeatIntervalMs: 300, retryBackoff: { initialMs: 50, maxMs: 500 } };

async function migratedDatabase(prefix: string): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await createTestDatabase(prefix);
  const pool = new pg.Pool({ connectionString: db.url, max: 10 });
  await runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir });
  return { db, pool };
}

describeEventBusContract('in-process (PostgreSQL log)', async () => {
  const { db, pool } = await migratedDatabase('events_contract');
  const pools = [pool];
  return {
    bus: createInProcessEventBus({ pool, ...FAST }),
    newBus: async () => {
      const other = new pg.Pool({ connectionString: db.url, max: 5 });
      pools.push(other);
      return createInProcessEventBus({ pool: other, ...FAST });
    },
    cleanup: async () => {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    },
  };
});

describe('in-process event bus (PostgreSQL log)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bus: InProcessEventBus;
  let closeAfterEach: Array<{ close(): Promise<void> }> = [];
  let n = 0;
  const unique = (label: string): string => `${label}.${Date.now().toString(36)}${(n++).toString(36)}`;

  beforeAll(async () => {
    ({ db, pool } = await migratedDatabase('events_adapter'));
    bus = createInProcessEventBus({ pool, ...FAST });
  });

  afterEach(async () => {
    const items = closeAfterEach.reverse();
    closeAfterEach = [];
    for (const item of items) await item.close();
  });

  afterAll(async () => {
    await bus?.close();
    await pool?.end();
    await db?.drop();
  });

  function collect<T>(): { received: ConsumedMessage<T>[]; handler: (batch: ConsumedBatch<T>) => Promise<void> } {
    const received: ConsumedMessage<T>[] = [];
    return { received, handler: async (batch) => void received.push(...batch.messages) };
  }

  async function subscribe<T>(target: InProcessEventBus, opts: SubscribeOptions<T>): Promise<Subscription> {
    const sub = await target.subscribe<T>(opts);
    closeAfterEach.push(sub);
    return sub;
  }

  function otherBus(options: Omit<InProcessEventBusOptions, 'pool'> = FAST): InProcessEventBus {
    const other = new pg.Pool({ connectionString: db.url, max: 5 });
    const b = createInProcessEventBus({ pool: other, ...options });
    closeAfterEach.push({ close: async () => { await b.close(); await other.end(); } });
    return b;
  }

  async function offsetsOf(topic: string): Promise<Array<{ partition: number; count: number; min: string; max: string; next: string }>> {
    const { rows } = await pool.query(
      `SELECT p.partition, count(l."offset")::int AS count, min(l."offset")::text AS min, max(l."offset")::text AS max, p.next_offset::text AS next
       FROM events.partitions p LEFT JOIN events.log l ON l.topic = p.topic AND l.partition = p.partition
       WHERE p.topic = $1 GROUP BY p.partition, p.next_offset ORDER BY p.partition`,
      [topic],
    );
    return rows;
  }

  describe('migrations', () => {
    it('ships its SQL beside the module (src/ and dist/ both resolve ../migrations)', () => {
      expect(eventsMigrationsDir).toMatch(/libs[\\/]events[\\/]migrations$/);
      expect(existsSync(join(eventsMigrationsDir, '0001_init.sql'))).toBe(true);
    });

    it('is applied once by runMigrations from @kinora/db', async () => {
      expect(await runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir })).toEqual([]);
      const { rows } = await pool.query(`SELECT name FROM events.schema_migrations`);
      expect(rows.map((r) => r.name)).toContain('0001_init.sql');
    });
  });

  describe('publish in the caller\'s transaction (outbox)', () => {
    it('delivers nothing and uses up no offset when the transaction rolls back', async () => {
      const topic = unique('outbox.rollback');
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      const c = collect<{ n: number }>();
      await subscribe(bus, { group: unique('g'), topics: [topic], handler: c.handler });

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await bus.publish(topic, [{ key: 'k', value: { n: 1 } }], { client });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await bus.publish(topic, [{ key: 'k', value: { n: 2 } }]);
      await waitFor(() => c.received.length > 0, 10_000, 'the committed message');
      await sleep(300);

      expect(c.received.map((m) => [m.offset, m.value.n])).toEqual([['0', 2]]);
      expect(await offsetsOf(topic)).toEqual([{ partition: 0, count: 1, min: '0', max: '0', next: '1' }]);
    });

    it('delivers the events only once the transaction commits, together with the business row', async () => {
      const topic = unique('outbox.commit');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await pool.query('CREATE TABLE IF NOT EXISTS public.likes (video text, user_id text)');
      const c = collect<{ user: string }>();
      await subscribe(bus, { group: unique('g'), topics: [topic], handler: c.handler });

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO public.likes VALUES ($1, $2)', ['video-1', 'user-1']);
        await bus.publish(topic, [{ key: 'video-1', value: { user: 'user-1' } }], { client });
        await sleep(500);
        expect(c.received).toEqual([]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await waitFor(() => c.received.length === 1, 10_000, 'the message after COMMIT');
      expect(c.received[0]).toMatchObject({ key: 'video-1', value: { user: 'user-1' }, partition: partitionFor('video-1', 3) });
    });

    it('refuses a client that is not inside a transaction', async () => {
      const client = await pool.connect();
      try {
        await expect(bus.publish(unique('outbox.none'), [{ key: 'k', value: 1 }], { client })).rejects.toThrow(/open transaction/);
      } finally {
        client.release();
      }
    });

    it('leaves the caller\'s transaction failed when the publish fails, so the business write cannot commit alone', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // A NUL character cannot be stored in jsonb: the insert fails inside the transaction.
        await expect(bus.publish(unique('outbox.fail'), [{ key: 'k', value: 'nul \u0000' }], { client })).rejects.toThrow(/unsupported Unicode escape/);
        await expect(client.query('SELECT 1')).rejects.toThrow(/current transaction is aborted/);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe('offsets', () => {
    it('stay gap-free and in commit order under concurrent publishers, some of which roll back', async () => {
      const topic = unique('concurrent');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      // A consumer running meanwhile must never see a hole: each batch starts right after the previous one.
      const seen = new Map<number, bigint>();
      const holes: string[] = [];
      await subscribe(bus, {
        group: unique('g'),
        topics: [topic],
        handler: async (batch) => {
          for (const m of batch.messages) {
            const expected = seen.get(m.partition) ?? 0n;
            if (BigInt(m.offset) !== expected) holes.push(`partition ${m.partition}: got ${m.offset}, expected ${expected}`);
            seen.set(m.partition, BigInt(m.offset) + 1n);
          }
        },
      });

      let committed = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 25; i++) {
            const messages = Array.from({ length: 1 + ((w + i) % 3) }, (_, j) => ({ key: `video-${(w * 7 + i + j) % 11}`, value: { w, i, j } }));
            if (i % 5 === 4) {
              const client = await pool.connect();
              try {
                await client.query('BEGIN');
                await bus.publish(topic, messages, { client });
                await sleep(2);
                await client.query('ROLLBACK');
              } finally {
                client.release();
              }
            } else {
              await bus.publish(topic, messages);
              committed += messages.length;
            }
          }
        }),
      );

      const partitions = await offsetsOf(topic);
      expect(partitions.reduce((sum, p) => sum + p.count, 0)).toBe(committed);
      for (const p of partitions) {
        expect(p).toEqual({ partition: p.partition, count: p.count, min: p.count ? '0' : null, max: p.count ? String(p.count - 1) : null, next: String(p.count) });
      }
      await waitFor(() => [...seen.values()].reduce((a, b) => a + b, 0n) === BigInt(committed), 15_000, () => `consumer reaching ${committed} messages, at ${[...seen.values()].join('/')}`);
      expect(holes).toEqual([]);
    });
  });

  describe('topics', () => {
    it('are created on first publish with the configured default partition count', async () => {
      const five = otherBus({ ...FAST, defaultPartitions: 5 });
      const topic = unique('auto');
      await five.publish(topic, [{ key: 'k', value: 1 }]);
      const { rows } = await pool.query('SELECT partitions FROM events.topics WHERE name = $1', [topic]);
      expect(rows).toEqual([{ partitions: 5 }]);
      expect(await offsetsOf(topic)).toHaveLength(5);
    });

    it('default to 3 partitions and keep their count when ensureTopics asks for another', async () => {
      const topic = unique('auto3');
      await bus.publish(topic, [{ key: 'k', value: 1 }]);
      await bus.ensureTopics([{ name: topic, partitions: 8 }]);
      expect(await offsetsOf(topic)).toHaveLength(3);
    });

    it('reject names Kafka would reject', async () => {
      await expect(bus.publish('bad topic', [{ key: 'k', value: 1 }])).rejects.toThrow(/invalid topic name/);
      await expect(bus.ensureTopics([{ name: 'x'.repeat(250), partitions: 1 }])).rejects.toThrow(/invalid topic name/);
      await expect(bus.ensureTopics([{ name: unique('many'), partitions: 2000 }])).rejects.toThrow(/1 to 1024/);
    });
  });

  describe('consumers', () => {
    it('are woken by NOTIFY long before their poll interval', async () => {
      const slow = otherBus({ ...FAST, pollIntervalMs: 60_000, heartbeatIntervalMs: 60_000 });
      const topic = unique('notify');
      await slow.ensureTopics([{ name: topic, partitions: 1 }]);
      const c = collect<number>();
      await subscribe(slow, { group: unique('g'), topics: [topic], handler: c.handler });
      await sleep(200);
      const t0 = Date.now();
      await bus.publish(topic, [{ key: 'k', value: 1 }]);
      await waitFor(() => c.received.length === 1, 5_000, 'the message, woken by NOTIFY');
      expect(Date.now() - t0).toBeLessThan(2_000);
    });

    it('fall back to the group\'s committed offset when the offsetStore has none', async () => {
      const topic = unique('store.null');
      const group = unique('g');
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await bus.publish(topic, [0, 1, 2].map((v) => ({ key: 'k', value: v })));
      const first = collect<number>();
      const sub = await subscribe(bus, { group, topics: [topic], handler: first.handler });
      await waitFor(() => first.received.length === 3, 10_000, 'the first three');
      await sub.close();
      await bus.publish(topic, [{ key: 'k', value: 3 }]);
      const second = collect<number>();
      await subscribe(bus, { group, topics: [topic], handler: second.handler, offsetStore: { load: async () => null } });
      await waitFor(() => second.received.length > 0, 10_000, 'the fourth');
      await sleep(200);
      expect(second.received.map((m) => m.value)).toEqual([3]);
    });

    it('take over the partitions of a member whose session dies, and lose nothing', async () => {
      const topic = unique('crash');
      const group = unique('g');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      const a = collect<number>();
      const b = collect<number>();
      await subscribe(bus, { group, topics: [topic], handler: a.handler });
      const { rows } = await pool.query<{ backend_pid: number }>('SELECT backend_pid FROM events.members WHERE group_id = $1', [group]);
      expect(rows).toHaveLength(1);
      await subscribe(otherBus(), { group, topics: [topic], handler: b.handler });

      let next = 0;
      const publishRound = async (count: number): Promise<void> => {
        await bus.publish(topic, Array.from({ length: count }, () => ({ key: `video-${next % 17}`, value: next++ })));
      };
      await waitFor(async () => {
        await publishRound(17);
        await sleep(100);
        return a.received.length > 0 && b.received.length > 0;
      }, 10_000, 'both members receiving');

      // What a crash looks like to PostgreSQL: the session of member a is gone, and its advisory locks with it.
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.backend_pid]);
      await publishRound(60);
      await waitFor(() => {
        const got = new Set([...a.received, ...b.received].map((m) => m.value));
        return got.size === next;
      }, 15_000, () => `all ${next} messages after the crash (a: ${a.received.length}, b: ${b.received.length})`);
      // Member a reconnects and rejoins on its own.
      await waitFor(async () => (await pool.query('SELECT 1 FROM events.members WHERE group_id = $1', [group])).rowCount === 2, 10_000, 'member a rejoining');
    });

    it('never let two members handle the same partition at once while members join and leave', async () => {
      const topic = unique('exclusive');
      const group = unique('g');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      const inFlight = new Map<number, number>();
      const overlaps: string[] = [];
      const received = new Set<number>();
      const handler = async (batch: ConsumedBatch<number>): Promise<void> => {
        const now = (inFlight.get(batch.partition) ?? 0) + 1;
        inFlight.set(batch.partition, now);
        if (now > 1) overlaps.push(`partition ${batch.partition} handled by ${now} members at once`);
        await sleep(30);
        inFlight.set(batch.partition, inFlight.get(batch.partition)! - 1);
        for (const m of batch.messages) received.add(m.value);
      };
      let next = 0;
      const publishSome = (): Promise<void> => bus.publish(topic, Array.from({ length: 9 }, () => ({ key: `v${next % 13}`, value: next++ })));

      const first = await subscribe(bus, { group, topics: [topic], handler, maxBatchSize: 5 });
      await publishSome();
      const second = await subscribe(otherBus(), { group, topics: [topic], handler, maxBatchSize: 5 });
      await publishSome();
      await sleep(300);
      await subscribe(otherBus(), { group, topics: [topic], handler, maxBatchSize: 5 });
      await publishSome();
      await first.close();
      await publishSome();
      await sleep(300);
      await second.close();
      await publishSome();

      await waitFor(() => received.size === next, 15_000, () => `all ${next} messages, got ${received.size}`);
      expect(overlaps).toEqual([]);
    });

    it('reject invalid subscriptions before touching the database', async () => {
      const handler = async (): Promise<void> => undefined;
      await expect(bus.subscribe({ group: '', topics: ['t'], handler })).rejects.toThrow(/group/);
      await expect(bus.subscribe({ group: 'g', topics: [], handler })).rejects.toThrow(/topic/);
      await expect(bus.subscribe({ group: 'g', topics: ['t'], handler, maxBatchSize: 0 })).rejects.toThrow(/maxBatchSize/);
    });
  });

  it('refuses to publish or subscribe once closed', async () => {
    const closed = otherBus();
    await closed.close();
    await expect(closed.publish('t', [{ key: 'k', value: 1 }])).rejects.toThrow(/closed/);
    await expect(closed.subscribe({ group: 'g', topics: ['t'], handler: async () => undefined })).rejects.toThrow(/closed/);
  });
});
