import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, createKafkaEventBus, eventsMigrationsDir, type EventBus } from '@kinora/events';
import { sleep, waitFor } from '@kinora/events/testing';
import { createTestDatabase, getTestEnv, type TestDatabase } from '@kinora/testing';
import { AnalyticsMetrics, CounterConsumer, CounterRepository, FactsRepository, migrationsDir } from '@kinora/analytics';
import { countDifferences, engagementTopics, mixedEvents, newExpected, publishAll, type Generated } from './engagement.fixtures.js';

// Exactly-once counting across SIGKILLs, restarts and rebalances, on Kafka and on the in-process bus (embedded).
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
const child = join(root, 'apps/analytics/test/fixtures/counter-consumer.mjs');
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const KAFKA_CONSUMER = { maxWaitTimeInMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 10_000 };

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'apps/analytics')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}, 180_000);

interface Backend {
  name: 'kafka' | 'in-process';
  /** A bus standing for another process on the same backend. */
  bus(): EventBus;
  childEnv(): Record<string, string>;
}

async function waitForExact(pool: pg.Pool, expected: ReturnType<typeof newExpected>, universe: string[], timeoutMs: number, more: () => string): Promise<void> {
  let diffs: string[] = [];
  const t0 = Date.now();
  await waitFor(
    async () => (diffs = await countDifferences(pool, expected, universe)).length === 0,
    timeoutMs,
    () => `exact counts; ${diffs.length} differences, e.g. ${diffs.slice(0, 3).join('; ')} ${more()}`,
  );
  process.stderr.write(`exact after ${Date.now() - t0} ms\n`);
}

const uuids = (n: number): string[] => Array.from({ length: n }, () => randomUUID());

function describeExactness(name: Backend['name']): void {
  describe(`exact counts on ${name}`, () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    const toClose: Array<{ close(): Promise<void> }> = [];
    let backend: Backend;

    beforeAll(async () => {
      db = await createTestDatabase('analytics_exact');
      pool = new pg.Pool({ connectionString: db.url, max: 4 });
      // An idle connection ended by the server ("terminating connection due to administrator command": the
      // database dropped WITH (FORCE) while an ended pool was still closing its connections, now waited for by
      // drop()) must not crash the test process: the pool drops it and the next query reconnects, as Database's
      // pools do. The buses' pools below too.
      pool.on('error', () => {});
      await runMigrations(pool, { schema: 'analytics', dir: migrationsDir });
      if (name === 'kafka') {
        const brokers = getTestEnv().kafkaBrokers;
        backend = {
          name,
          bus: () => createKafkaEventBus({ brokers, logger: silent, consumer: KAFKA_CONSUMER, retryBackoff: { initialMs: 50, maxMs: 500 } }),
          childEnv: () => ({ BUS: 'kafka', KAFKA_BROKERS: brokers.join(',') }),
        };
      } else {
        await runMigrations(pool, { schema: 'events', dir: eventsMigrationsDir });
        backend = {
          name,
          bus: () => {
            const p = new pg.Pool({ connectionString: db.url, max: 4 });
            p.on('error', () => {});
            toClose.push({ close: () => p.end() });
            return createInProcessEventBus({ pool: p, logger: silent, heartbeatIntervalMs: 300, pollIntervalMs: 200, retryBackoff: { initialMs: 50, maxMs: 500 } });
          },
          childEnv: () => ({ BUS: 'in-process' }),
        };
      }
    }, 60_000);

    afterAll(async () => {
      for (const c of toClose.reverse()) await c.close().catch(() => undefined);
      await pool?.end();
      await db?.drop();
    });

    async function topicsOn(bus: EventBus, prefix: string): Promise<ReturnType<typeof engagementTopics>> {
      const topics = engagementTopics(prefix);
      await bus.ensureTopics(topics.all.flatMap((t) => [{ name: t, partitions: 6 }, { name: `${t}.dlq`, partitions: 1 }]));
      return topics;
    }

    /** A counter consumer in this process on `bus`, as the service builds it. */
    function counterConsumer(bus: EventBus, database: Database, opts: { group: string; topics: readonly string[]; members: number; flushIntervalMs: number }): CounterConsumer {
      return new CounterConsumer({
        bus,
        counters: new CounterRepository(database),
        facts: new FactsRepository(database),
        metrics: new AnalyticsMetrics(new Registry()),
        logger: silent,
        factWindow: () => ({ first: 0, last: Date.now() + 86_400_000 }),
        ...opts,
      });
    }

    it('counts 50,000 mixed events over 200 videos exactly, with the consumer process (two members) SIGKILLed 5+ times', async () => {
      const publisher = backend.bus();
      toClose.push(publisher);
      const topics = await topicsOn(publisher, `exact-${randomUUID().slice(0, 8)}`);
      const expected = newExpected();
      const videos = uuids(200);
      const events: Generated[] = mixedEvents(50_000, videos, uuids(50), topics, expected);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        GROUP: `analytics.crash.${randomUUID().slice(0, 8)}`,
        TOPICS: topics.all.join(','),
        FLUSH_MS: '150',
        // Two group members in the process, as the service runs by default (COUNTER_CONSUMER_MEMBERS).
        MEMBERS: '2',
        ...backend.childEnv(),
      };
      let output = '';
      const startChild = async (): Promise<ChildProcess> => {
        const c = spawn(process.execPath, [child], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let ready = false;
        c.stdout!.on('data', (d: Buffer) => (ready ||= d.toString().includes('ready')));
        c.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
        await waitFor(() => ready || c.exitCode !== null, 60_000, 'the consumer process to join its group');
        if (!ready) throw new Error(`the consumer process exited: ${output}`);
        return c;
      };
      const kill = async (c: ChildProcess): Promise<void> => {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        c.kill('SIGKILL');
        await exited;
      };

      let consumer = await startChild();
      let kills = 0;
      const chunk = 10_000;
      try {
        for (let i = 0; i < events.length; i += chunk) {
          await publishAll(publisher, events.slice(i, i + chunk), 2_000);
          // Let it count (and flush) some of the backlog, then kill it at a random moment.
          await sleep(100 + Math.floor(Math.random() * 900));
          await kill(consumer);
          kills++;
          consumer = await startChild();
        }
        expect(kills).toBeGreaterThanOrEqual(5);
        await waitForExact(pool, expected, videos, 90_000, () => `consumer stderr: ${output.slice(-2000)}`);
        // Still exact a few flushes later: nothing is counted twice afterwards.
        await sleep(600);
        expect(await countDifferences(pool, expected, videos)).toEqual([]);
        const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM analytics.video_counters WHERE video_id = ANY($1::uuid[])', [videos]);
        expect(Number(rows[0]!.n)).toBeLessThanOrEqual(200 * 100);
      } finally {
        await kill(consumer).catch(() => undefined);
      }
    }, 240_000);

    it('stays exact with two consumer processes in one group (one with two members) and rebalances in the middle', async () => {
      const publisher = backend.bus();
      toClose.push(publisher);
      const topics = await topicsOn(publisher, `rebalance-${randomUUID().slice(0, 8)}`);
      const expected = newExpected();
      const videos = uuids(100);
      const channels = uuids(20);
      const group = `analytics.rebalance.${randomUUID().slice(0, 8)}`;
      const database = new Database({ primaryUrl: db.url, poolMax: 6 });
      toClose.push(database);
      const consumer = (members = 1): { c: CounterConsumer; bus: EventBus } => {
        const bus = backend.bus();
        toClose.push(bus);
        const c = counterConsumer(bus, database, { group, topics: topics.all, members, flushIntervalMs: 200 });
        return { c, bus };
      };
      const a = consumer();
      await a.c.start();
      await publishAll(publisher, mixedEvents(10_000, videos, channels, topics, expected));
      await waitFor(async () => (await pool.query("SELECT 1 FROM analytics.consumer_offsets WHERE group_id = $1 AND next_offset > 0", [group])).rowCount! > 0, 30_000, 'a first flush');
      const b = consumer(2);
      await b.c.start(); // rebalance: b's two members take partitions a had pending deltas for
      await publishAll(publisher, mixedEvents(10_000, videos, channels, topics, expected));
      await sleep(300);
      await a.c.stop(); // rebalance again: b takes everything
      await publishAll(publisher, mixedEvents(5_000, videos, channels, topics, expected));
      await waitForExact(pool, expected, videos, 60_000, () => '');
      await b.c.stop();
      expect(await countDifferences(pool, expected, videos)).toEqual([]);
    }, 180_000);

    if (name === 'in-process') {
      it('refuses a member count that is not a positive integer, and leaves no member behind when one cannot join', async () => {
        const real = backend.bus();
        toClose.push(real);
        const topics = await topicsOn(real, `members-${randomUUID().slice(0, 8)}`);
        let calls = 0;
        const closed: number[] = [];
        // The real bus, except that the second join of the first start fails.
        const bus: EventBus = {
          ensureTopics: (t) => real.ensureTopics(t),
          publish: (t, m) => real.publish(t, m),
          close: () => real.close(),
          subscribe: async (o) => {
            const n = ++calls;
            if (n === 2) throw new Error('join refused');
            const sub = await real.subscribe(o);
            return {
              close: async () => {
                closed.push(n);
                await sub.close();
              },
            };
          },
        };
        const database = new Database({ primaryUrl: db.url, poolMax: 4 });
        toClose.push(database);
        const make = (members: number): CounterConsumer =>
          counterConsumer(bus, database, { group: `analytics.members.${randomUUID().slice(0, 8)}`, topics: topics.all, members, flushIntervalMs: 100 });
        for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => make(bad)).toThrow(RangeError);

        const c = make(3);
        await expect(c.start()).rejects.toThrow('join refused');
        expect(closed.sort()).toEqual([1, 3]);
        // Nothing half-started: a second start joins three members and counts exactly.
        await c.start();
        expect(calls).toBe(6);
        const expected = newExpected();
        const videos = uuids(20);
        await publishAll(real, mixedEvents(2_000, videos, uuids(5), topics, expected));
        await waitForExact(pool, expected, videos, 30_000, () => '');
        await c.stop();
        expect(closed.sort()).toEqual([1, 3, 4, 5, 6]);
      }, 60_000);
    }
  });
}

describeExactness('kafka');
describeExactness('in-process');
