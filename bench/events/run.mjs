#!/usr/bin/env node
// `npm run bench:events`: 1,000,000 engagement events over 1,000 hot videos through Kafka into the sharded counters
// (one consumer process: this one, after the events were produced), against a baseline of one UPDATE per event on
// the same PostgreSQL (a smaller sample, extrapolated per event). Prints events/s for both, the counter rows
// written and the ratio writes/events. Goals: >= 100,000 events/s, <= 0.1% counter-row writes per event.
//
// Starts its own Kafka (KRaft) and PostgreSQL through @kinora/testing unless BENCH_KAFKA_BROKERS /
// BENCH_DATABASE_URL point at running ones. Knobs: BENCH_FETCH_PARTITION_KB / BENCH_FETCH_KB (consumer fetch sizes), BENCH_EVENTS (1000000), BENCH_VIDEOS (1000), BENCH_PARTITIONS (6),
// BENCH_BATCH (handler batch size, 100), BENCH_MEMBERS (group members in the consumer process, 2 like
// COUNTER_CONSUMER_MEMBERS), BENCH_FLUSH_MS (30000, the default flush interval),
// BENCH_BASELINE_EVENTS (20000), BENCH_BASELINE_CONNECTIONS (8), BENCH_FSYNC (on), BENCH_COMPRESSION (gzip),
// BENCH_CPU_PROFILE (a file for a CPU profile of the consuming phase).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import pg from 'pg';
import { Registry } from 'prom-client';
import { ANALYTICS_EVENT_TYPES } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createKafkaEventBus, OutboxRelay, outboxMigrationsDir, OutboxWriter, toEventMessage } from '@kinora/events';
import { startKafka, startPostgres } from '@kinora/testing';
import { AnalyticsMetrics, CounterConsumer, CounterRepository, FactsRepository, migrationsDir } from '@kinora/analytics';

const env = (name, def) => process.env[name] ?? def;
const EVENTS = Number(env('BENCH_EVENTS', 1_000_000));
const VIDEOS = Number(env('BENCH_VIDEOS', 1_000));
const PARTITIONS = Number(env('BENCH_PARTITIONS', 6));
const BATCH = Number(env('BENCH_BATCH', 100));
const MEMBERS = Number(env('BENCH_MEMBERS', 2));
const FLUSH_MS = Number(env('BENCH_FLUSH_MS', 30_000));
const BASELINE_EVENTS = Number(env('BENCH_BASELINE_EVENTS', 20_000));
const BASELINE_CONNECTIONS = Number(env('BENCH_BASELINE_CONNECTIONS', 8));
const FSYNC = env('BENCH_FSYNC', 'on');
const COMPRESSION = env('BENCH_COMPRESSION', 'gzip');
/** Write a CPU profile of the consuming phase to this file (.cpuprofile, for Chrome DevTools). */
const CPU_PROFILE = env('BENCH_CPU_PROFILE', '');
const silent = { debug() {}, info() {}, warn: (o, m) => console.error('warn', m, o), error: (o, m) => console.error('error', m, o) };
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const log = (line) => console.log(`[bench:events] ${line}`);

const started = [];
let brokers = env('BENCH_KAFKA_BROKERS', '').split(',').filter(Boolean);
let adminUrl = env('BENCH_DATABASE_URL', '');
if (brokers.length === 0) {
  const kafka = await startKafka({ maxHeap: '1g' });
  started.push(kafka);
  brokers = kafka.brokers;
}
if (!adminUrl) {
  const postgres = await startPostgres({ settings: { fsync: FSYNC === 'on', synchronous_commit: FSYNC === 'on' ? 'on' : 'off', shared_buffers: '256MB', max_wal_size: '2GB' } });
  started.push(postgres);
  adminUrl = postgres.url;
}
const dbName = `bench_events_${Date.now().toString(36)}`;
{
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${dbName}`);
  await c.end();
}
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const database = new Database({ primaryUrl: url.toString(), poolMax: 10, applicationName: 'bench-events' });

try {
  await runMigrations(database.primary, { schema: 'analytics', dir: migrationsDir });
  await runMigrations(database.primary, { schema: 'analytics', dir: outboxMigrationsDir });
  const videos = Array.from({ length: VIDEOS }, () => randomUUID());
  const topic = `bench.${Date.now().toString(36)}.video.views`;
  log(`${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; Node ${process.version}; ${fmt(EVENTS)} events over ${fmt(VIDEOS)} videos, ${PARTITIONS} partitions, ${MEMBERS} group member(s) in the consumer process, fsync ${FSYNC}, compression ${COMPRESSION}`);

  // 1. Produce (not part of the consumer's figure).
  const producerBus = createKafkaEventBus({ brokers, logger: silent, producer: { batchSize: 5_000, lingerMs: 2, compression: COMPRESSION } });
  await producerBus.ensureTopics([{ name: topic, partitions: PARTITIONS }, { name: `${topic}.dlq`, partitions: 1 }]);
  const t0 = performance.now();
  const CHUNK = 20_000;
  const inflight = [];
  for (let i = 0; i < EVENTS; i += CHUNK) {
    const messages = [];
    for (let j = i; j < Math.min(EVENTS, i + CHUNK); j++) {
      // Hot videos: a skewed pick (the top 10% get about half of the events).
      const r = Math.random();
      const videoId = videos[Math.floor(r < 0.5 ? Math.random() * VIDEOS * 0.1 : Math.random() * VIDEOS)];
      messages.push(toEventMessage(createEvent({ type: ANALYTICS_EVENT_TYPES.videoViewed, key: videoId, actor: { type: 'anonymous', id: null }, payload: { videoId, watchedSec: 30 } })));
    }
    inflight.push(producerBus.publish(topic, messages));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const produceSec = (performance.now() - t0) / 1000;
  await producerBus.close();
  log(`produced ${fmt(EVENTS)} events in ${produceSec.toFixed(1)} s (${fmt(EVENTS / produceSec)} events/s, idempotent producer, acks=all)`);

  // 2. Consume into the counters: from joining the group to the last flush committed.
  const metrics = new AnalyticsMetrics(new Registry());
  // Fetch sizes: the adapter's defaults (1 MiB per partition, 10 MiB per fetch) unless BENCH_FETCH_PARTITION_KB /
  // BENCH_FETCH_KB say otherwise. Larger fetches were slower here: more messages alive at every scavenge.
  const fetchSizes = {
    ...(process.env.BENCH_FETCH_PARTITION_KB ? { maxBytesPerPartition: Number(process.env.BENCH_FETCH_PARTITION_KB) * 1024 } : {}),
    ...(process.env.BENCH_FETCH_KB ? { maxBytes: Number(process.env.BENCH_FETCH_KB) * 1024 } : {}),
  };
  const bus = createKafkaEventBus({ brokers, logger: silent, consumer: { maxWaitTimeInMs: 200, ...fetchSizes } });
  // As the service runs it: every flush also announces the changed totals (analytics.counters) through the outbox,
  // drained to Kafka by the relay in the same process.
  const relay = new OutboxRelay({ pool: database.primary, schema: 'analytics', bus, logger: silent });
  relay.start();
  const consumer = new CounterConsumer({
    bus,
    counters: new CounterRepository(database, new OutboxWriter({ schema: 'analytics', onCommitted: () => relay.wake() })),
    facts: new FactsRepository(database),
    metrics,
    logger: silent,
    flushIntervalMs: FLUSH_MS,
    factWindow: () => ({ first: 0, last: Date.now() + 86_400_000 }),
    group: `bench.${randomUUID().slice(0, 8)}`,
    topics: [topic],
    maxBatchSize: BATCH,
    members: MEMBERS,
  });
  // Done when every partition's next offset to count is its end offset (the events metric would count the
  // messages a rebalance makes the new owner count again).
  const ends = new Map((await bus.topicOffsets(topic)).map((o) => [o.partition, o.high]));
  const caughtUp = () => {
    const held = consumer.positions().filter((p) => p.topic === topic);
    return held.length === ends.size && held.every((p) => p.next === ends.get(p.partition));
  };
  const profiler = CPU_PROFILE ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const c0 = performance.now();
  const cpu0 = process.cpuUsage();
  await consumer.start();
  while (!caughtUp()) await new Promise((resolve) => setTimeout(resolve, 20));
  const consumedSec = (performance.now() - c0) / 1000;
  await consumer.flush();
  const totalSec = (performance.now() - c0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(CPU_PROFILE, JSON.stringify(profile));
    profiler.disconnect();
  }
  await consumer.stop();
  await relay.close();
  await bus.close();
  const rows = Object.fromEntries((await metrics.rowsWritten.get()).values.map((v) => [v.labels.table, v.value]));
  const flushes = (await metrics.flushDuration.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels.result === 'ok')?.value ?? 0;
  const { rows: check } = await database.primary.query('SELECT sum(views)::text AS views, count(*)::int AS shard_rows FROM analytics.video_counters');
  const counterRows = rows.video_counters ?? 0;
  const eventsPerSec = EVENTS / totalSec;
  log(`consumed ${fmt(EVENTS)} events in ${consumedSec.toFixed(2)} s, flushed after ${totalSec.toFixed(2)} s: ${fmt(eventsPerSec)} events/s (consumer CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)`);
  log(`flushes ${flushes}; counter rows written ${fmt(counterRows)} (${((counterRows / EVENTS) * 100).toFixed(3)}% of events); hourly fact rows ${fmt(rows.video_hourly ?? 0)}; offset rows ${fmt(rows.consumer_offsets ?? 0)}; all rows ${(((counterRows + (rows.video_hourly ?? 0) + (rows.consumer_offsets ?? 0)) / EVENTS) * 100).toFixed(3)}% of events`);
  if (Number(check[0].views) !== EVENTS) throw new Error(`counted ${check[0].views} views, expected ${EVENTS}`);
  log(`check: the shards sum to ${fmt(Number(check[0].views))} views over ${fmt(check[0].shard_rows)} shard rows`);

  // 3. Baseline: one UPDATE (autocommit) per event on the same server.
  await database.primary.query('CREATE TABLE analytics.bench_baseline (video_id uuid PRIMARY KEY, views bigint NOT NULL DEFAULT 0)');
  await database.primary.query('INSERT INTO analytics.bench_baseline (video_id) SELECT unnest($1::uuid[])', [videos]);
  const pool = new pg.Pool({ connectionString: url.toString(), max: BASELINE_CONNECTIONS });
  let next = 0;
  const b0 = performance.now();
  await Promise.all(
    Array.from({ length: BASELINE_CONNECTIONS }, async () => {
      while (next < BASELINE_EVENTS) {
        next++;
        const r = Math.random();
        const videoId = videos[Math.floor(r < 0.5 ? Math.random() * VIDEOS * 0.1 : Math.random() * VIDEOS)];
        await pool.query('UPDATE analytics.bench_baseline SET views = views + 1 WHERE video_id = $1', [videoId]);
      }
    }),
  );
  const baseSec = (performance.now() - b0) / 1000;
  await pool.end();
  const basePerSec = BASELINE_EVENTS / baseSec;
  log(`baseline: ${fmt(BASELINE_EVENTS)} single-row UPDATEs over ${BASELINE_CONNECTIONS} connections in ${baseSec.toFixed(2)} s = ${fmt(basePerSec)} events/s (1 write per event); ${fmt(EVENTS)} events would take ${(EVENTS / basePerSec).toFixed(1)} s`);
  log(`ratio: ${(eventsPerSec / basePerSec).toFixed(1)}x the events/s of the baseline with ${((counterRows / EVENTS) * 100).toFixed(3)}% of its row writes`);
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      events: EVENTS,
      videos: VIDEOS,
      partitions: PARTITIONS,
      handlerBatch: BATCH,
      members: MEMBERS,
      produceEventsPerSec: Math.round(EVENTS / produceSec),
      consumeEventsPerSec: Math.round(eventsPerSec),
      flushes,
      counterRows,
      hourlyRows: rows.video_hourly ?? 0,
      offsetRows: rows.consumer_offsets ?? 0,
      writesPerEvent: counterRows / EVENTS,
      baselineEventsPerSec: Math.round(basePerSec),
      goals: { eventsPerSec: eventsPerSec >= 100_000, writesPerEvent: counterRows / EVENTS <= 0.001 },
    }),
  );
} finally {
  await database.close();
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
}
