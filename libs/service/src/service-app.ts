import type { FastifyInstance } from 'fastify';
import { authPlugin, httpJwksFetcher, TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { dbPlugin, type Database } from '@kinora/db';
import { openEventBus, type EventBus } from '@kinora/events';
import { createBaseApp, type Logger } from '@kinora/observability';

/** The audience of the user service's access tokens (apps/user token.service.ts). */
export const ACCESS_TOKEN_AUDIENCE = 'kinora-api';

export interface ServiceAppOptions {
  /** Short name: `comment` is "Kinora comment service" in the OpenAPI document and `kinora-comment` to Kafka. */
  name: string;
  config: Config;
  database: Database;
  logger: Logger;
  /** Default: Kafka when `KAFKA_BROKERS` is set, else the in-process bus over this database; closed with the app. */
  bus?: EventBus;
  /** Default: tokens checked against the JWKS of `USER_SERVICE_URL` (else of `PUBLIC_URL`, the gateway). */
  verifier?: TokenVerifier;
}

/**
 * What every standalone Kinora service starts from: the base app (problems, health, metrics, its own OpenAPI
 * document), the database plugin, the event bus, and authentication (the gateway's signed identity when
 * `GATEWAY_IDENTITY_SECRET` is set, else bearer tokens; the caller becomes the database principal, so its reads
 * follow its own writes). The service then registers its module. Nothing listens yet.
 */
export async function createServiceApp(opts: ServiceAppOptions): Promise<{ app: FastifyInstance; bus: EventBus }> {
  const { config, database, logger } = opts;
  const app = await createBaseApp({
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustedProxies: config.trustedProxies,
    openapi: { title: `Kinora ${opts.name} service`, version: '0.1.0', publicUrl: config.publicUrl },
  });
  await app.register(dbPlugin, { database });
  let bus = opts.bus;
  if (!bus) {
    const own = await openEventBus({
      kafkaBrokers: config.kafkaBrokers,
      pool: database.primary,
      logger,
      clientId: `kinora-${opts.name}`,
      topicPartitions: config.kafkaTopicPartitions,
      replicationFactor: config.kafkaReplicationFactor,
    });
    app.addHook('onClose', async () => own.close());
    bus = own;
  }
  const verifier =
    opts.verifier ??
    new TokenVerifier({
      issuer: config.publicUrl,
      audience: ACCESS_TOKEN_AUDIENCE,
      fetchJwks: httpJwksFetcher(config.upstreams.user ?? config.publicUrl),
      maxAgeMs: 600_000,
    });
  await app.register(authPlugin, {
    verifier,
    onPrincipal: (_req, p) => database.setPrincipal(p.userId),
    ...(config.gatewayIdentitySecret ? { gatewayIdentity: { secret: config.gatewayIdentitySecret } } : {}),
  });
  return { app, bus };
}
