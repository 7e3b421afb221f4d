import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import type { Database } from '@kinora/db';
import { OutboxRelay, type EventBus, type TransactionalPublisher } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { createServiceApp, openServiceSchema } from '@kinora/service';
import { VideoProjection } from '@kinora/projections';
import { CommentRepository } from './repositories/comment.repository.js';
import { commentsRoutes } from './routes/comments/comments.routes.js';
import { CommentService, type AuthorProfiles } from './services/comment.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
export const SCHEMA = 'comments';

export interface CommentModuleOptions {
  database: Database;
  bus: EventBus;
  logger?: Logger;
  /** Display names of authors at comment time; without it the username stands in. */
  profiles?: AuthorProfiles;
  /** How events leave the business transaction; default: the `comments.outbox` table drained by a relay to `bus`. */
  publisher?: TransactionalPublisher;
  /** Relay tuning (tests shorten the poll interval). */
  relay?: { pollIntervalMs?: number; batchSize?: number };
}

export interface CommentModule {
  /** The encapsulated routes; registering it starts the projection consumer and the outbox relay (stopped on close). */
  plugin: FastifyPluginAsync;
  comments: CommentService;
  videos: VideoProjection;
  relay: OutboxRelay;
  /** Starts the consumers without the routes (the plugin does it too). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Migrates the `comments` schema (comments, likes, outbox, video projection) and wires the service. */
export async function createCommentModule(opts: CommentModuleOptions): Promise<CommentModule> {
  const { database, bus } = opts;
  const log = opts.logger ? { logger: opts.logger } : {};
  const { relay, publisher } = await openServiceSchema({ database, bus, schema: SCHEMA, migrationsDir, logger: opts.logger, relay: opts.relay, publisher: opts.publisher });
  const videos = new VideoProjection({ database, schema: SCHEMA, bus, ...log });
  await videos.migrate(opts.logger);
  const comments = new CommentService({
    database,
    comments: new CommentRepository(database),
    videos,
    publisher,
    ...(opts.profiles ? { profiles: opts.profiles } : {}),
  });

  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    await videos.start();
    relay.start();
  };
  const close = async () => {
    await relay.close();
    await videos.close();
  };
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(commentsRoutes, { comments });
    await start();
    app.addHook('onClose', close);
  };
  return { plugin, comments, videos, relay, start, close };
}

/**
 * The comment service as its own process: base app (problems, health, metrics, OpenAPI), the database plugin,
 * authentication (the gateway's signed identity, or a bearer token checked against the user service's JWKS), the
 * routes and the consumers. Nothing listens yet.
 */
export async function buildApp(
  config: Config,
  deps: {
    database: Database;
    logger: Logger;
    bus?: EventBus;
    verifier?: TokenVerifier;
    profiles?: AuthorProfiles;
    relay?: CommentModuleOptions['relay'];
  },
): Promise<FastifyInstance> {
  const { app, bus } = await createServiceApp({
    name: 'comment',
    config,
    database: deps.database,
    logger: deps.logger,
    ...(deps.bus ? { bus: deps.bus } : {}),
    ...(deps.verifier ? { verifier: deps.verifier } : {}),
  });
  const mod = await createCommentModule({
    database: deps.database,
    bus,
    logger: deps.logger,
    ...(deps.profiles ? { profiles: deps.profiles } : {}),
    ...(deps.relay ? { relay: deps.relay } : {}),
  });
  await app.register(mod.plugin);
  return app;
}
