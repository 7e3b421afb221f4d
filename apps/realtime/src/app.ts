import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Cache } from '@kinora/cache';
import type { Redis } from 'ioredis';
import type { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { createEvent, toEventMessage, type EventBus } from '@kinora/events';
import { REALTIME_EVENT_TYPES, TOPICS } from '@kinora/contracts';
import { type Database, runMigrations } from '@kinora/db';
import type { Logger } from '@kinora/observability';
import { redisFor } from '@kinora/redis';
import { createCountersView, createServiceApp } from '@kinora/service';
import { VideoProjection } from '@kinora/projections';
import { SocialConsumers } from './events/social.consumers.js';
import { RealtimeMetrics } from './metrics.js';
import { zeroCounts, type CountersFeed, type CountsSource, type VideoLookup } from './ports.js';
import { ChatPartitions } from './repositories/chat-partitions.js';
import { InProcessChatRateLimiter, RedisChatRateLimiter, type ChatRateLimiter } from './repositories/chat-rate.limiter.js';
import { ChatRepository } from './repositories/chat.repository.js';
import { LocalPresenceStore, RedisPresenceStore, type PresenceStore } from './repositories/presence.store.js';
import { chatRoutes } from './routes/chat/chat.routes.js';
import { ChatService, type ChatPublisher } from './services/chat.service.js';
import { CountsService } from './services/counts.service.js';
import { VideoAccess } from './services/video-access.js';
import { RealtimeServer } from './socket/realtime.server.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

/** Tuning of the realtime service; every field has a default (see README). */
export interface RealtimeSettings {
  /** Prefix of every Redis key and of the adapter's stream and channels. */
  keyPrefix: string;
  /** Consumer groups are `<prefix>.comments` and `<prefix>.notifications` (shared by every instance). */
  consumerGroupPrefix: string;
  /**
   * How often cross-instance presence (the `watching` count) is synced and the watched videos' counters are re-read
   * from the counters feed's cache (ms); counter changes themselves are pushed when the feed reports them.
   */
  countsPollMs: number;
  /** Least time between two `video:counts` pushes of one video (ms); the contract says once per second. */
  countsMinGapMs: number;
  chatRatePerSec: number;
  chatBurst: number;
  maxRoomsPerSocket: number;
  maxInflightPerSocket: number;
  chatPartitionsAheadDays: number;
  chatRetentionDays: number;
  /** How long a video's visibility is cached (ms). */
  videoCacheMs: number;
  /** XREAD block time of the socket.io adapter (ms). */
  adapterBlockMs: number;
  /** This instance's name in the presence registry (unique per process). */
  instanceId: string;
}

export const defaultRealtimeSettings = (): RealtimeSettings => ({
  keyPrefix: 'kinora:rt:',
  consumerGroupPrefix: 'realtime',
  countsPollMs: 1000,
  countsMinGapMs: 1000,
  chatRatePerSec: 1,
  chatBurst: 5,
  maxRoomsPerSocket: 20,
  maxInflightPerSocket: 8,
  chatPartitionsAheadDays: 7,
  chatRetentionDays: 30,
  videoCacheMs: 2000,
  adapterBlockMs: 5000,
  instanceId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
});

export interface RealtimeModuleOptions {
  database: Database;
  bus: EventBus;
  /** Verifies handshake tokens (the same verifier the gateway uses, embedded). */
  verifier: TokenVerifier;
  logger: Logger;
  config: Pick<Config, 'redis' | 'corsOrigins'>;
  /** Counters of videos, pushed to watchers as soon as the feed reports a change (a `CountersView`). */
  counters?: CountersFeed;
  /** A plain counters source without change reports (tests, benchmarks; `countsChanged` pushes). Ignored with `counters`. */
  counts?: CountsSource;
  /** Who owns and may see a video. Default: realtime's own projection of `video.lifecycle` (schema `realtime`). */
  videos?: VideoLookup;
  /** Redis for the adapter, presence and the chat rate limit; default a client for `config.redis` (closed with the app). */
  redis?: Redis;
  /** The process's cache (video access decisions); default: one of the module's own, in process. */
  cache?: Cache;
  settings?: Partial<RealtimeSettings>;
}

export interface RealtimeModule {
  /** Chat routes, socket.io on the app's HTTP server, consumers and timers; everything stops when the app closes. */
  plugin: FastifyPluginAsync;
  /** Counters of these videos changed (e.g. analytics flushed): push them now where the once-per-second rule allows. */
  countsChanged(videoIds: readonly string[]): void;
  /** The socket.io server once the plugin ran (tests, benchmarks). */
  server(): RealtimeServer | undefined;
  settings: Readonly<RealtimeSettings>;
}

/** Migrates schema `realtime`, creates the chat partitions, and wires the service; the plugin attaches it to an app. */
export async function createRealtimeModule(opts: RealtimeModuleOptions): Promise<RealtimeModule> {
  const settings: RealtimeSettings = { ...defaultRealtimeSettings(), ...opts.settings };
  const { database, logger, bus } = opts;
  await runMigrations(database.primary, { schema: 'realtime', dir: migrationsDir, logger });
  const partitions = new ChatPartitions(database, { aheadDays: settings.chatPartitionsAheadDays, retentionDays: settings.chatRetentionDays });
  await partitions.maintain();

  let projection: VideoProjection | undefined;
  let lookup = opts.videos;
  if (!lookup) {
    const own = new VideoProjection({ database, schema: 'realtime', bus, logger, group: `${settings.consumerGroupPrefix}.video-projection` });
    await own.migrate(logger);
    projection = own;
    lookup = async (id) => {
      const v = await own.get(id);
      return v ? { id: v.id, ownerId: v.ownerId, visibility: v.visibility, state: v.state, deleted: v.deleted } : null;
    };
  }
  const videos = lookup;

  let server: RealtimeServer | undefined;
  let counts: CountsService | undefined;

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    let redis = opts.redis;
    let ownRedis: Redis | undefined;
    if (!redis && opts.config.redis) {
      // The process's shared `queued` client (commands wait through a short reconnect); the socket.io adapter's
      // duplicates (its stream reader and its subscriber) are dedicated `blocking` connections.
      ownRedis = redisFor(opts.config.redis, 'queued', { user: 'realtime', logger });
      redis = ownRedis;
    }

    const rt = new RealtimeServer({
      httpServer: app.server,
      verifier: opts.verifier,
      redis,
      corsOrigins: opts.config.corsOrigins,
      logger,
      keyPrefix: settings.keyPrefix,
      maxRoomsPerSocket: settings.maxRoomsPerSocket,
      adapterBlockMs: settings.adapterBlockMs,
      maxInflightPerSocket: settings.maxInflightPerSocket,
    });
    server = rt;
    const metrics = new RealtimeMetrics(app.metrics, {
      clients: () => rt.clients(),
      authenticatedClients: () => rt.authenticatedClients(),
      videoRooms: () => rt.videoRooms(),
      userRooms: () => rt.userRoomCount(),
    });

    const presence: PresenceStore = redis
      ? new RedisPresenceStore(redis, { keyPrefix: settings.keyPrefix, instanceId: settings.instanceId, ttlMs: Math.max(3 * settings.countsPollMs, 3000) })
      : new LocalPresenceStore();
    let lastLimiterError = 0;
    const limiter: ChatRateLimiter = redis
      ? new RedisChatRateLimiter(redis, {
          ratePerSec: settings.chatRatePerSec,
          burst: settings.chatBurst,
          keyPrefix: settings.keyPrefix,
          onError: (err) => {
            if (Date.now() - lastLimiterError > 60_000) logger.warn({ err: { message: err.message } }, 'chat rate limit: Redis failed, limiting per instance');
            lastLimiterError = Date.now();
          },
        })
      : new InProcessChatRateLimiter({ ratePerSec: settings.chatRatePerSec, burst: settings.chatBurst });

    const publisher: ChatPublisher = {
      posted: (payload, actorId) =>
        bus.publish(TOPICS.liveChat, [toEventMessage(createEvent({ type: REALTIME_EVENT_TYPES.chatMessagePosted, key: payload.videoId, actor: { type: 'user', id: actorId }, payload }))]),
      deleted: (payload, actorId) =>
        bus.publish(TOPICS.liveChat, [toEventMessage(createEvent({ type: REALTIME_EVENT_TYPES.chatMessageDeleted, key: payload.videoId, actor: { type: 'user', id: actorId }, payload }))]),
    };
    const access = new VideoAccess(videos, settings.videoCacheMs, opts.cache);
    const chat = new ChatService({
      repo: new ChatRepository(database),
      partitions,
      limiter,
      access,
      publisher,
      broadcast: rt,
      logger,
      onResult: (result) => metrics.chat.inc({ result }),
    });
    const feed = opts.counters;
    const countsService = new CountsService({
      source: feed ? (ids) => feed.statsOf(ids) : (opts.counts ?? zeroCounts),
      presence,
      localWatchers: () => rt.localWatchers,
      push: (c) => {
        rt.pushCounts(c);
        metrics.countsPushed.inc();
      },
      logger,
      pollMs: settings.countsPollMs,
      minGapMs: settings.countsMinGapMs,
      onFlush: (seconds) => metrics.countsFlush.observe(seconds),
    });
    counts = countsService;
    const unfollow = feed?.onVideoCounters((updates) => countsService.changed(updates.map((u) => u.videoId)));
    rt.bind({ chat, counts: countsService, access }, metrics);

    const consumers = new SocialConsumers({ bus, fanout: rt, logger, groupPrefix: settings.consumerGroupPrefix });
    await consumers.start();
    await projection?.start();
    countsService.start();
    const maintenance = setInterval(() => {
      partitions.maintain().catch((err: unknown) => logger.error({ err }, 'chat partition maintenance failed'));
    }, 3_600_000);
    maintenance.unref();

    if (redis) {
      const r = redis;
      app.readiness.add('redis', async () => {
        await r.ping();
      });
    }
    app.readiness.add('socket.io-adapter', async () => rt.adapterLive());

    // Clients first (they reconnect elsewhere while this instance finishes), then what feeds them.
    app.addHook('preClose', async () => {
      await rt.close();
    });
    app.addHook('onClose', async () => {
      clearInterval(maintenance);
      unfollow?.();
      await countsService.stop();
      await presence.remove().catch(() => {});
      await consumers.close();
      await projection?.close();
      ownRedis?.disconnect();
    });

    await app.register(chatRoutes, { chat });
  };

  return {
    plugin,
    countsChanged: (ids) => counts?.changed(ids),
    server: () => server,
    settings,
  };
}

/** Audience of Kinora access tokens, defined once in libs/auth (re-exported: tests and benches import it from here). */
export { ACCESS_TOKEN_AUDIENCE } from '@kinora/auth';

export interface RealtimeAppDeps {
  database: Database;
  logger: Logger;
  /** Default: Kafka when `KAFKA_BROKERS` is set, else the in-process bus over this database (closed with the app). */
  bus?: EventBus;
  /** Default: tokens verified against the JWKS of `USER_SERVICE_URL` (else `PUBLIC_URL`) over HTTP. */
  verifier?: TokenVerifier;
  /** Default: analytics' counters at `ANALYTICS_SERVICE_URL`, kept current by the `analytics.counters` events. */
  counters?: CountersFeed;
  counts?: CountsSource;
  videos?: VideoLookup;
  redis?: Redis;
  settings?: Partial<RealtimeSettings>;
}

/**
 * The realtime service as its own process: the service app (problems, health, metrics, OpenAPI, the database, the
 * authentication of REST requests: bearer tokens or the identity the gateway forwards), and the module.
 * Nothing listens yet.
 */
export async function buildApp(config: Config, deps: RealtimeAppDeps): Promise<FastifyInstance & { realtime: RealtimeModule }> {
  const { app, bus } = await createServiceApp({
    name: 'realtime',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const counters = deps.counters ?? (deps.counts ? undefined : createCountersView(app, { config, bus, logger: deps.logger, service: 'realtime' }));
  const realtime = await createRealtimeModule({
    database: deps.database,
    bus,
    verifier: app.tokenVerifier,
    logger: deps.logger,
    config,
    ...(counters ? { counters } : {}),
    ...(deps.counts ? { counts: deps.counts } : {}),
    ...(deps.videos ? { videos: deps.videos } : {}),
    ...(deps.redis ? { redis: deps.redis } : {}),
    ...(deps.settings ? { settings: deps.settings } : {}),
  });
  await app.register(realtime.plugin);
  return Object.assign(app, { realtime });
}
