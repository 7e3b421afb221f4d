import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { authPlugin, TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { type Database, dbPlugin, runMigrations } from '@kinora/db';
import {
  openEventBus,
  OutboxRelay,
  OutboxWriter,
  outboxMigrationsDir,
  type EventBus,
  type TransactionalPublisher,
} from '@kinora/events';
import { createBaseApp, type Logger } from '@kinora/observability';
import { VideoProjection } from '@kinora/projections';
import { RatingRepository } from './repositories/rating.repository.js';
import { ratingsRoutes } from './routes/ratings/ratings.routes.js';
import { RatingService } from './services/rating.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));
export const SCHEMA = 'likes';

export interface LikeModuleOptions {
  database: Database;
  bus: EventBus;
  logger?: Logger;
  /** How events leave the business transaction; default: the `likes.outbox` table drained by a relay to `bus`. */
  publisher?: TransactionalPublisher;
  /** Relay tuning (tests shorten the poll interval). */
  relay?: { pollIntervalMs?: number; batchSize?: number };
}

export interface LikeModule {
  /** The encapsulated routes; registering it starts the projection consumer and the outbox relay (stopped on close). */
  plugin: FastifyPluginAsync;
  ratings: RatingService;
  videos: VideoProjection;
  relay: OutboxRelay;
  /** Starts the consumers without the routes (the plugin does it too). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Migrates the `likes` schema (ratings, outbox, video projection) and wires the service. */
export async function createLikeModule(opts: LikeModuleOptions): Promise<LikeModule> {
  const { database, bus } = opts;
  const log = opts.logger ? { logger: opts.logger } : {};
  await runMigrations(database.primary, { schema: SCHEMA, dir: migrationsDir, ...log });
  await runMigrations(database.primary, { schema: SCHEMA, dir: outboxMigrationsDir, ...log });
  const videos = new VideoProjection({ database, schema: SCHEMA, bus, ...log });
  await videos.migrate(opts.logger);
  const relay = new OutboxRelay({ pool: database.primary, schema: SCHEMA, bus, ...log, ...(opts.relay ?? {}) });
  const publisher = opts.publisher ?? new OutboxWriter({ schema: SCHEMA, onCommitted: () => relay.wake() });
  const ratings = new RatingService({ database, ratings: new RatingRepository(database), videos, publisher });

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
    await app.register(ratingsRoutes, { ratings });
    await start();
    app.addHook('onClose', close);
  };
  return { plugin, ratings, videos, relay, start, close };
}

/** JWKS of the user service over HTTP (standalone process): `USER_SERVICE_URL` + `/.well-known/jwks.json`. */
function httpJwks(baseUrl: string | undefined): () => Promise<JSONWebKeySet> {
  return async () => {
    if (!baseUrl) throw new Error('USER_SERVICE_URL is not set: access tokens cannot be verified');
    const res = await fetch(`${baseUrl}/.well-known/jwks.json`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
    return (await res.json()) as JSONWebKeySet;
  };
}

/**
 * The like service as its own process: base app (problems, health, metrics, OpenAPI), the database plugin,
 * authentication (the gateway's signed identity, or a bearer token checked against the user service's JWKS), the
 * routes and the consumers. Nothing listens yet.
 */
export async function buildApp(
  config: Config,
  deps: { database: Database; logger: Logger; bus?: EventBus; verifier?: TokenVerifier; relay?: LikeModuleOptions['relay'] },
): Promise<FastifyInstance> {
  const app = await createBaseApp({
    logger: deps.logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustedProxies: config.trustedProxies,
    openapi: { title: 'Kinora like service', version: '0.1.0', publicUrl: config.publicUrl },
  });
  let bus = deps.bus;
  if (!bus) {
    // Kafka when KAFKA_BROKERS is set, else the in-process bus over this database.
    const own = await openEventBus({
      kafkaBrokers: config.kafkaBrokers,
      pool: deps.database.primary,
      logger: deps.logger,
      clientId: 'kinora-like',
      topicPartitions: config.kafkaTopicPartitions,
      replicationFactor: config.kafkaReplicationFactor,
    });
    app.addHook('onClose', async () => own.close());
    bus = own;
  }
  const mod = await createLikeModule({ database: deps.database, bus, logger: deps.logger, ...(deps.relay ? { relay: deps.relay } : {}) });
  await app.register(dbPlugin, { database: deps.database });
  const verifier =
    deps.verifier ?? new TokenVerifier({ issuer: config.publicUrl, audience: 'kinora-api', fetchJwks: httpJwks(config.upstreams.user), maxAgeMs: 600_000 });
  await app.register(authPlugin, {
    verifier,
    onPrincipal: (_req, p) => deps.database.setPrincipal(p.userId),
    ...(config.gatewayIdentitySecret ? { gatewayIdentity: { secret: config.gatewayIdentitySecret } } : {}),
  });
  await app.register(mod.plugin);
  return app;
}
