import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { TOPICS } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import { OutboxRelay, type EventBus } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { redisFor } from '@kinora/redis';
import { createServiceApp, openServiceSchema } from '@kinora/service';
import { VideoProjection, type CountersLoader } from '@kinora/projections';
import { CounterConsumer, type CounterConsumerOptions } from './events/counter.consumer.js';
import { countsAsChannelVideo } from './events/engagement.mapping.js';
import { AnalyticsMetrics, type LagSource } from './metrics.js';
import { CounterRepository } from './repositories/counter.repository.js';
import { FactsRepository } from './repositories/facts.repository.js';
import { analyticsRoutes } from './routes/analytics/analytics.routes.js';
import { countersRoutes } from './routes/counters/counters.routes.js';
import { viewsRoutes } from './routes/views/views.routes.js';
import { PartitionMaintenance } from './services/partition.maintenance.js';
import { InProcessViewDedupe, RedisViewDedupe, type ViewDedupe } from './services/view.dedupe.js';
import { ViewService } from './services/view.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

const PLATFORM_TOPICS = new Set<string>(Object.values(TOPICS));

/** One view per viewer per video per hour. */
const VIEW_WINDOW_SEC = 3600;

export interface AnalyticsModuleOptions {
  database: Database;
  bus: EventBus;
  config: Pick<Config, 'counterFlushIntervalMs' | 'counterConsumerMembers' | 'analyticsRetentionDays' | 'redis'> &
    Partial<Pick<Config, 'counterShards' | 'counterTopics' | 'counterConsumerGroup'>>;
  logger: Logger;
  /** Where the metrics go (the app's registry); default a private one. */
  registry?: Registry;
  /** Redis for the view dedupe window; default: one from `config.redis` if set, else in-process. */
  redis?: Redis;
  /** End offsets of topics for the lag gauge; default: from the bus (Kafka) or the in-process log. */
  lagSource?: LagSource;
  /** Tuning of the counter consumer (batch size, bounds, dead-letter attempts, a test guard). */
  counters?: Partial<Omit<CounterConsumerOptions, 'bus' | 'counters' | 'facts' | 'metrics' | 'logger' | 'factWindow'>>;
  viewWindowSec?: number;
  /** Relay tuning of the `analytics.outbox` (the counter-change events); tests shorten the poll interval. */
  relay?: { pollIntervalMs?: number };
}

export interface AnalyticsModule {
  /** Routes: POST /api/v1/videos/:id/views, GET /api/v1/videos/:id/analytics (needs the auth plugin). */
  plugin: FastifyPluginAsync;
  /** Service-to-service reads of the totals, `/internal/v1/counters/*` (standalone process only: never public). */
  internalPlugin: FastifyPluginAsync;
  /** Totals with their versions, read in-process (a `CountersView` in the same process loads through it). */
  loader: CountersLoader;
  /** Drains `analytics.outbox` (the `analytics.counters` events) to the bus. */
  relay: OutboxRelay;
  counters: CounterConsumer;
  views: ViewService;
  maintenance: PartitionMaintenance;
  projection: VideoProjection;
  metrics: AnalyticsMetrics;
  /** Creates partitions, joins the consumer groups (counters, video projection), starts the timers. */
  start(): Promise<void>;
  /** Stops consuming and flushes what is pending. Idempotent. */
  close(): Promise<void>;
}

/** Migrates schema `analytics` and wires the service; nothing consumes until `start()`. */
export async function createAnalyticsModule(opts: AnalyticsModuleOptions): Promise<AnalyticsModule> {
  const { database, bus, config, logger } = opts;
  // Every transaction that changes totals records the new totals as `analytics.counters` events in the outbox.
  const { relay, publisher } = await openServiceSchema({ database, bus, schema: 'analytics', migrationsDir, logger, relay: opts.relay });
  const counterRepo = new CounterRepository(database, publisher, {
    shards: config.counterShards,
  });
  const facts = new FactsRepository(database);
  const metrics = new AnalyticsMetrics(opts.registry ?? new Registry());
  const maintenance = new PartitionMaintenance({ database, facts, retentionDays: config.analyticsRetentionDays, logger });
  const projection = new VideoProjection({
    database,
    schema: 'analytics',
    bus,
    logger,
    // The channel's video count follows its public ready videos, exactly once per applied version.
    onChange: async ({ client, previous, current }) => {
      const was = countsAsChannelVideo(previous);
      const is = countsAsChannelVideo(current);
      if (was && (!is || previous!.channelId !== current.channelId)) await counterRepo.addChannelDelta(client, previous!.channelId, { subscribers: 0, videos: -1 });
      if (is && (!was || previous!.channelId !== current.channelId)) await counterRepo.addChannelDelta(client, current.channelId, { subscribers: 0, videos: 1 });
    },
    onCommitted: () => relay.wake(),
  });
  await projection.migrate(logger);
  const counters = new CounterConsumer({
    bus,
    counters: counterRepo,
    facts,
    metrics,
    logger,
    flushIntervalMs: config.counterFlushIntervalMs,
    members: config.counterConsumerMembers,
    ...(config.counterConsumerGroup ? { group: config.counterConsumerGroup } : {}),
    ...(config.counterTopics && config.counterTopics.length > 0 ? { topics: config.counterTopics } : {}),
    factWindow: () => maintenance.writableDays(),
    lagSource: opts.lagSource ?? lagSourceFor(bus, database),
    ...opts.counters,
  });
  let redis = opts.redis;
  const ownRedis =
    !redis && config.redis
      ? // The process's shared fail-fast client: a view whose de-duplication Redis does not answer within 500 ms is
        // counted (ViewService), rather than held.
        redisFor(config.redis, 'fail-fast', { user: 'analytics-views', logger, commandTimeoutMs: 500 })
      : undefined;
  redis ??= ownRedis;
  const windowSec = opts.viewWindowSec ?? VIEW_WINDOW_SEC;
  const dedupe: ViewDedupe = redis ? new RedisViewDedupe(redis, windowSec) : new InProcessViewDedupe(windowSec * 1000);
  const views = new ViewService(dedupe, bus, logger);
  const loader: CountersLoader = { videos: (ids) => counterRepo.videoCounters(ids), channels: (ids) => counterRepo.channelCounters(ids) };

  let started = false;
  let closing: Promise<void> | null = null;
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(viewsRoutes, { views, videos: projection });
    await app.register(analyticsRoutes, { facts, videos: projection });
  };
  const internalPlugin: FastifyPluginAsync = async (app) => {
    await app.register(countersRoutes, { counters: counterRepo });
  };
  return {
    plugin,
    internalPlugin,
    loader,
    relay,
    counters,
    views,
    maintenance,
    projection,
    metrics,
    async start() {
      if (started) return;
      started = true;
      // A topic of COUNTER_TOPIC outside the platform's (a CounterShardSet's own) needs its dead-letter twin; the
      // platform's topics and twins are ensured at process start. Existing topics are left as they are.
      const own = (config.counterTopics ?? []).filter((t) => !PLATFORM_TOPICS.has(t));
      if (own.length > 0) await bus.ensureTopics(own.map((t) => ({ name: `${t}.dlq`, partitions: 1 })));
      await maintenance.runOnce();
      maintenance.start();
      relay.start();
      await projection.start();
      await counters.start();
    },
    close() {
      closing ??= (async () => {
        await views.drain();
        await counters.stop();
        await projection.close();
        await relay.close();
        await maintenance.stop();
        if (ownRedis) await ownRedis.quit().catch(() => ownRedis.disconnect());
      })();
      return closing;
    },
  };
}

/** End offsets for the lag gauge: Kafka's log ends, or the in-process log's partition counters. */
export function lagSourceFor(bus: EventBus, database?: Database): LagSource {
  const kafka = bus as EventBus & { topicOffsets?: (topic: string) => Promise<Array<{ partition: number; high: string }>> };
  if (typeof kafka.topicOffsets === 'function') return { endOffsets: (topic) => kafka.topicOffsets!(topic) };
  if (!database) throw new Error('the in-process bus needs its database to report log ends');
  return {
    async endOffsets(topic) {
      const { rows } = await database.primary.query<{ partition: number; high: string }>(
        'SELECT partition, next_offset::text AS high FROM events.partitions WHERE topic = $1 ORDER BY partition',
        [topic],
      );
      return rows;
    },
  };
}

export interface AnalyticsAppDeps {
  database: Database;
  logger: Logger;
  bus?: EventBus;
  verifier?: TokenVerifier;
  redis?: Redis;
}

/**
 * The analytics service as its own process: base app, database, authentication (tokens verified against the user
 * service's JWKS), the routes, and the consumers started. Nothing listens yet; `app.close()` stops the consumers.
 */
export async function buildApp(config: Config, deps: AnalyticsAppDeps): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'analytics',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const mod = await createAnalyticsModule({ database: deps.database, bus, config, logger: deps.logger, registry: app.metrics, ...(deps.redis ? { redis: deps.redis } : {}) });
  await app.register(mod.plugin);
  await app.register(mod.internalPlugin);
  await mod.start();
  app.addHook('onClose', async () => mod.close());
  return app;
}
