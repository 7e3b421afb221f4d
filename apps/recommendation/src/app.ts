import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { TOPICS } from '@kinora/contracts';
import { type Database, runMigrations } from '@kinora/db';
import type { EventBus, Subscription } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { createServiceApp } from '@kinora/service';
import { VideoProjection } from '@kinora/projections';
import { httpChannelNames, noChannelNames, type ChannelNames } from './channel.names.js';
import { applyEngagement } from './engagement.js';
import { RecommendationRepository } from './recommendation.repository.js';
import { recommendationRoutes } from './routes.js';
import { RecommendationService } from './recommendation.service.js';
import { httpVideoDetails, type VideoDetails } from './video.details.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
export const SCHEMA = 'recommendation';
/** Consumer group of the engagement events (`video.views`, `video.likes`). */
export const ENGAGEMENT_GROUP = 'recommendation.engagement';

export interface RecommendationModuleOptions {
  database: Database;
  bus: EventBus;
  logger?: Logger;
  /** Channel handles and names of the items the video service could not show; default: none known (empty strings). */
  channels?: ChannelNames;
  /** The items' full `Video` (the video service's); default: built from the projection (zero stats, no thumbnail). */
  details?: VideoDetails;
}

export interface RecommendationModule {
  /** The encapsulated routes; registering it starts the consumers (stopped on close). */
  plugin: FastifyPluginAsync;
  recommendations: RecommendationService;
  videos: VideoProjection;
  /** Starts the consumers without the routes (the plugin does it too). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Migrates the `recommendation` schema (engagement, trending, processed events, video projection) and wires the service. */
export async function createRecommendationModule(opts: RecommendationModuleOptions): Promise<RecommendationModule> {
  const { database, bus } = opts;
  const log = opts.logger ? { logger: opts.logger } : {};
  await runMigrations(database.primary, { schema: SCHEMA, dir: migrationsDir, ...log });
  const videos = new VideoProjection({ database, schema: SCHEMA, bus, ...log });
  await videos.migrate(opts.logger);
  const recommendations = new RecommendationService({ videos, repo: new RecommendationRepository(database),
    channels: opts.channels ?? noChannelNames,
    ...(opts.details ? { details: opts.details } : {}),
  });

  let engagement: Subscription | undefined;
  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    await videos.start();
    engagement = await bus.subscribe<unknown>({
      group: ENGAGEMENT_GROUP,
      topics: [TOPICS.videoViews, TOPICS.videoLikes],
      fromBeginning: true,
      // One transaction per batch: the effects and the processed event ids commit together (redeliveries skip).
      handler: async (batch) => {
        await database.transaction((client) => applyEngagement(client, batch));
      },
    });
  };
  const close = async () => {
    await engagement?.close();
    await videos.close();
  };
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(recommendationRoutes, { recommendations });
    await start();
    app.addHook('onClose', close);
  };
  return { plugin, recommendations, videos, start, close };
}

/**
 * The recommendation service as its own process: base app (problems, health, metrics, OpenAPI), the database
 * plugin, authentication (the gateway's signed identity, or a bearer token checked against the user service's
 * JWKS), the routes and the consumers. The items come from the video service (`VIDEO_SERVICE_URL`), channel names
 * of the items it cannot show from the user service (`USER_SERVICE_URL`), when set.
 * Nothing listens yet.
 */
export async function buildApp(
  config: Config,
  deps: { database: Database; logger: Logger; bus?: EventBus; verifier?: TokenVerifier; channels?: ChannelNames; details?: VideoDetails },
): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'recommendation',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const channels = deps.channels ?? (config.upstreams.user ? httpChannelNames(config.upstreams.user) : undefined);
  const details = deps.details ?? (config.upstreams.video ? httpVideoDetails(config.upstreams.video) : undefined);
  const mod = await createRecommendationModule({
    database: deps.database,
    bus,
    logger: deps.logger,
    ...(channels ? { channels } : {}),
    ...(details ? { details } : {}),
  });
  await app.register(mod.plugin);
  return app;
}
