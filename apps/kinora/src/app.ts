import type { FastifyInstance } from 'fastify';
import { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { type Database, dbPlugin, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type EventBus } from '@kinora/events';
import { createStore, type ObjectStore } from '@kinora/storage';
import { gatewayPlugin } from '@kinora/gateway';
import { createBaseApp, type Logger } from '@kinora/observability';
import { accessTokenIssuer, createUserModule, type ScryptParams } from '@kinora/user';

export interface KinoraDeps {
  database: Database;
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
  await app.register(dbPlugin, { database: deps.database });

  let bus = deps.bus;
  if (!bus) {
    await runMigrations(deps.database.primary, { schema: 'events', dir: eventsMigrationsDir, logger: deps.logger });
    const own = createInProcessEventBus({ pool: deps.database.primary, logger: deps.logger });
    app.addHook('onClose', async () => own.close());
    bus = own;
  }
  const ctx: PlatformContext = { config, database: deps.database, logger: deps.logger, bus, store: deps.store ?? createStore(config.storageUrl) };

  const user = await createUserModule({
    database: deps.database,
    config,
    logger: deps.logger,
    ...(deps.scrypt ? { scrypt: deps.scrypt } : {}),
  });
  // Embedded: the gateway reads the user service's keys in-process (cached there, so no refetch cooldown is
  // needed) instead of fetching the JWKS over HTTP.
  const verifier = new TokenVerifier({ ...accessTokenIssuer(config.publicUrl), fetchJwks: () => user.jwks(), cooldownMs: 0, maxAgeMs: 10_000 });
  await app.register(gatewayPlugin, { config, verifier, onPrincipal: (_req, p) => deps.database.setPrincipal(p.userId) });

  // Service modules: each mounts its encapsulated routes and starts its consumers (stopped on close).
  if (config.services.includes('user')) await app.register(user.plugin);
  void ctx; // the services below share it
  return app;
}
