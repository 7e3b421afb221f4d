import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { TOPICS } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import { OutboxRelay, type EventBus, type Subscription, type TransactionalPublisher } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { createServiceApp, openServiceSchema } from '@kinora/service';
import { VideoProjection } from '@kinora/projections';
import { NotificationRepository } from './repositories/notification.repository.js';
import { SubscriptionRepository } from './repositories/subscription.repository.js';
import { feedRoutes } from './routes/feed/feed.routes.js';
import { notificationsRoutes } from './routes/notifications/notifications.routes.js';
import { subscriptionsRoutes } from './routes/subscriptions/subscriptions.routes.js';
import { httpChannelDirectory, projectionChannelDirectory, type ChannelDirectory } from './services/channel.directory.js';
import { NotificationService } from './services/notification.service.js';
import { SubscriptionService } from './services/subscription.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
export const SCHEMA = 'subscriptions';
/** Consumer group of the reply notifications on `video.comments`. */
export const COMMENT_REPLIES_GROUP = 'subscriptions.comment-replies';

export interface SubscriptionModuleOptions {
  database: Database;
  bus: EventBus;
  logger?: Logger;
  /** Whether a channel exists and who owns it; default: the channels the video projection knows. */
  channels?: ChannelDirectory;
  /** How events leave the business transaction; default: the `subscriptions.outbox` table drained by a relay to `bus`. */
  publisher?: TransactionalPublisher;
  /** Relay tuning (tests shorten the poll interval). */
  relay?: { pollIntervalMs?: number; batchSize?: number };
}

export interface SubscriptionModule {
  /** The encapsulated routes; registering it starts the consumers and the outbox relay (stopped on close). */
  plugin: FastifyPluginAsync;
  subscriptions: SubscriptionService;
  notifications: NotificationService;
  videos: VideoProjection;
  relay: OutboxRelay;
  /** Starts the consumers without the routes (the plugin does it too). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Migrates the `subscriptions` schema (subscriptions, notifications, outbox, video projection) and wires the service. */
export async function createSubscriptionModule(opts: SubscriptionModuleOptions): Promise<SubscriptionModule> {
  const { database, bus } = opts;
  const log = opts.logger ? { logger: opts.logger } : {};
  const { relay, publisher } = await openServiceSchema({ database, bus, schema: SCHEMA, migrationsDir, logger: opts.logger, relay: opts.relay, publisher: opts.publisher });
  const subscriptionRepo = new SubscriptionRepository(database);
  const notifications = new NotificationService({
    database,
    notifications: new NotificationRepository(database),
    subscriptions: subscriptionRepo,
    publisher,
    ...log,
  });
  const videos = new VideoProjection({
    database,
    schema: SCHEMA,
    bus,
    ...log,
    onChange: notifications.onVideoChange,
    onCommitted: () => publisher.committed(),
  });
  await videos.migrate(opts.logger);
  const subscriptions = new SubscriptionService({
    database,
    subscriptions: subscriptionRepo,
    channels: opts.channels ?? projectionChannelDirectory(videos),
    publisher,
  });

  let replies: Subscription | undefined;
  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    await videos.start();
    replies = await bus.subscribe<unknown>({
      group: COMMENT_REPLIES_GROUP,
      topics: [TOPICS.videoComments],
      fromBeginning: true,
      handler: (batch) => notifications.onCommentEvents(batch),
    });
    relay.start();
  };
  const close = async () => {
    await replies?.close();
    await videos.close();
    await relay.close();
  };
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(subscriptionsRoutes, { subscriptions });
    await app.register(feedRoutes, { subscriptions });
    await app.register(notificationsRoutes, { notifications });
    await start();
    app.addHook('onClose', close);
  };
  return { plugin, subscriptions, notifications, videos, relay, start, close };
}

/**
 * The subscription service as its own process: base app (problems, health, metrics, OpenAPI), the database
 * plugin, authentication (the gateway's signed identity, or a bearer token checked against the user service's
 * JWKS), the routes and the consumers. Channels are looked up at the user service (`USER_SERVICE_URL`) when set.
 * Nothing listens yet.
 */
export async function buildApp(
  config: Config,
  deps: {
    database: Database;
    logger: Logger;
    bus?: EventBus;
    verifier?: TokenVerifier;
    channels?: ChannelDirectory;
    relay?: SubscriptionModuleOptions['relay'];
  },
): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'subscription',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const channels = deps.channels ?? (config.upstreams.user ? httpChannelDirectory(config.upstreams.user) : undefined);
  const mod = await createSubscriptionModule({
    database: deps.database,
    bus,
    logger: deps.logger,
    ...(channels ? { channels } : {}),
    ...(deps.relay ? { relay: deps.relay } : {}),
  });
  await app.register(mod.plugin);
  return app;
}
