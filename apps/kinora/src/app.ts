import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { type Database, type DatabaseEntity, dbPlugin } from '@kinora/db';
import { openEventBus, type EventBus } from '@kinora/events';
import { createAnalyticsModule, lagSourceFor, type AnalyticsModule } from '@kinora/analytics';
import { createStore, type ObjectStore } from '@kinora/storage';
import { gatewayPlugin } from '@kinora/gateway';
import { createBaseApp, type Logger } from '@kinora/observability';
import { createCache, createCountersView } from '@kinora/service';
import { accessTokenIssuer, createUserModule, type ScryptParams } from '@kinora/user';
import { createVideoModule } from '@kinora/video';
import { createTranscoderModule } from '@kinora/transcoder';
import { createRealtimeModule } from '@kinora/realtime';
import { createCommentModule } from '@kinora/comment';
import { createLikeModule } from '@kinora/like';
import { createSubscriptionModule } from '@kinora/subscription';
import { createRecommendationModule, moduleVideoDetails } from '@kinora/recommendation';

export interface KinoraDeps {
  /** The process's database (`DATABASE_URL`): the in-process event log, and every entity without its own. */
  database: Database;
  /** Entity databases of their own (`USERS_DATABASE_URL`, …); an entity left out uses `database`. */
  databases?: Partial<Record<DatabaseEntity, Database>>;
  logger: Logger;
  /** Password hashing cost (tests lower it). */
  scrypt?: ScryptParams;
  /** The event bus; default: the in-process bus whose log lives in the database (closed with the app). */
  bus?: EventBus;
  /** Media and uploads; default: the store `STORAGE_URL` names. */
  store?: ObjectStore;
}

/** What every service module of this process shares. */
export interface PlatformContext {
  config: Config;
  database: Database;
  logger: Logger;
  bus: EventBus;
  store: ObjectStore;
}

/** The web app of this checkout (apps/web/dist, built by `npm start`/`npm run build`), when there is one. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** `WEB_ROOT` when set (`off`: none), else this checkout's build when it exists (a checkout built without it serves the API only). */
function webRootOf(config: Config): string | undefined {
  if (config.webRoot === null) return undefined;
  if (config.webRoot !== undefined) return config.webRoot;
  return existsSync(`${DEFAULT_WEB_ROOT}/index.html`) ? DEFAULT_WEB_ROOT : undefined;
}

/**
 * The whole platform in one Fastify instance: base app (problems, health, metrics, OpenAPI), the database, the
 * gateway chain (CORS, authentication), then every service plugin this process is configured to run.
 */
export async function buildKinora(config: Config, deps: KinoraDeps): Promise<FastifyInstance> {
  const app = await createBaseApp({
    logger: deps.logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustedProxies: config.trustedProxies,
    openapi: { title: 'Kinora API', version: '0.1.0', publicUrl: config.publicUrl },
  });
  const entityDb = (entity: DatabaseEntity): Database => deps.databases?.[entity] ?? deps.database;
  const own = [...new Set(Object.values(deps.databases ?? {}))].filter((d) => d !== deps.database);
  await app.register(dbPlugin, { database: deps.database, ...(own.length > 0 ? { more: own } : {}) });

  let bus = deps.bus;
  if (!bus) {
    // Cluster mode: Kafka with the platform's topics (and their .dlq twins) created first; embedded: the
    // in-process bus whose log lives in this database.
    const own = await openEventBus({
      kafkaBrokers: config.kafkaBrokers,
      pool: deps.database.primary,
      logger: deps.logger,
      clientId: 'kinora',
      topicPartitions: config.kafkaTopicPartitions,
      replicationFactor: config.kafkaReplicationFactor,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    });
    app.addHook('onClose', async () => own.close());
    bus = own;
  }
  const ctx: PlatformContext = { config, database: entityDb('videos'), logger: deps.logger, bus, store: deps.store ?? createStore(config.storageUrl) };

  // Analytics first: the counters it owns reach the user (channel counts), video (video stats) and realtime (live
  // counts) modules through one counters view, the same one the standalone services use: loaded in-process here
  // (over HTTP from ANALYTICS_SERVICE_URL when analytics runs elsewhere), kept current by `analytics.counters` events.
  let analytics: AnalyticsModule | undefined;
  if (config.services.includes('analytics')) {
    const mod = await createAnalyticsModule({
      database: entityDb('analytics'),
      bus,
      config,
      logger: deps.logger,
      registry: app.metrics,
      // The in-process log lives in the process's database, which need not be the analytics one.
      lagSource: lagSourceFor(bus, deps.database),
    });
    app.addHook('onReady', async () => mod.start());
    app.addHook('onClose', async () => mod.close());
    analytics = mod;
  }
  const counters = createCountersView(app, { config, bus, logger: deps.logger, service: 'kinora', ...(analytics ? { loader: analytics.loader } : {}) });
  // One cache for the modules of this process: in process, over Redis when REDIS_URL is set (several replicas).
  const cache = createCache(app, { config, logger: deps.logger, service: 'kinora' });

  const user = await createUserModule({
    database: entityDb('users'),
    config,
    logger: deps.logger,
    stats: counters,
    cache,
    ...(deps.scrypt ? { scrypt: deps.scrypt } : {}),
  });
  app.addHook('onClose', async () => user.close());
  // Embedded: the gateway reads the user service's keys in-process (cached there, so no refetch cooldown is
  // needed) instead of fetching the JWKS over HTTP.
  const verifier = new TokenVerifier({ ...accessTokenIssuer(config.publicUrl), fetchJwks: () => user.jwks(), cooldownMs: 0, maxAgeMs: 10_000 });
  const webRoot = webRootOf(config);
  await app.register(gatewayPlugin, {
    config,
    verifier,
    onPrincipal: (_req, p) => {
      for (const d of new Set([deps.database, ...Object.values(deps.databases ?? {})])) d.setPrincipal(p.userId);
    },
    ...(webRoot ? { webRoot } : {}),
  });

  // Service modules: each mounts its encapsulated routes and starts its consumers (stopped on close).
  if (config.services.includes('user')) await app.register(user.plugin);
  let video: Awaited<ReturnType<typeof createVideoModule>> | undefined;
  if (config.services.includes('video')) {
    video = await createVideoModule({
      ...ctx,
      stats: counters,
      cache,
      // The uploader's channel, from the user module in-process (kept with the video when it is created).
      channels: {
        channelOf: async (principal) => {
          const me = await user.accounts.me(principal).catch(() => null);
          if (!me) return null;
          const channel = await user.accounts.channel(me.channelId).catch(() => null);
          return channel ? { id: channel.id, handle: channel.handle, name: channel.name } : null;
        },
      },
    });
    await app.register(video.plugin);
  }
  // Transcoder worker: starts when the app is ready, gives its running jobs back when it closes.
  if (config.services.includes('transcoder')) await app.register(createTranscoderModule({ ...ctx, metrics: app.metrics }).plugin);
  // Realtime: socket.io on this same server (path /socket.io, namespace /realtime), chat routes, live counts pushed
  // when the counters view reports a change.
  if (config.services.includes('realtime')) {
    await app.register((await createRealtimeModule({ ...ctx, verifier, counters, cache })).plugin);
  }
  // Social layer: comments, ratings, subscriptions and notifications. Each keeps its own projection of the videos
  // (from video.lifecycle) and publishes through its outbox table, relayed to the bus.
  if (config.services.includes('comment')) {
    const comment = await createCommentModule({
      ...ctx,
      // Authors' display names, from the user module in-process (a snapshot is stored with each comment).
      profiles: { displayName: async (userId) => (await user.accounts.me({ userId, username: '', sessionId: '' }).catch(() => null))?.displayName ?? null },
    });
    await app.register(comment.plugin);
  }
  if (config.services.includes('like')) await app.register((await createLikeModule(ctx)).plugin);
  if (config.services.includes('subscription')) {
    const subscription = await createSubscriptionModule({
      ...ctx,
      // Channels (existence, owner, handle, name) from the user module in-process.
      channels: {
        channel: async (id) => {
          const ch = await user.accounts.channel(id).catch((err: { code?: string }) => {
            if (err?.code === 'CHANNEL_NOT_FOUND') return null;
            throw err;
          });
          return ch ? { id: ch.id, ownerId: ch.ownerId, handle: ch.handle, name: ch.name } : null;
        },
      },
    });
    await app.register(subscription.plugin);
  }
  // Recommendations: related videos and the home feed, from its own projection and the engagement topics.
  if (config.services.includes('recommendation')) {
    const recommendation = await createRecommendationModule({
      ...ctx,
      // The items as the video module shows them, channel handles and names from the user module, in-process.
      ...(video ? { details: moduleVideoDetails((id) => video.videos.get(null, id)) } : {}),
      channels: {
        channel: async (id) => {
          const ch = await user.accounts.channel(id).catch(() => null);
          return ch ? { handle: ch.handle, name: ch.name } : null;
        },
      },
    });
    await app.register(recommendation.plugin);
  }
  if (analytics) await app.register(analytics.plugin);
  void ctx; // the services below share it
  return app;
}
