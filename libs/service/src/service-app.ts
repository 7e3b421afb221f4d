import type { FastifyInstance } from 'fastify';
import { ACCESS_TOKEN_AUDIENCE, authPlugin, httpJwksFetcher, TokenVerifier } from '@kinora/auth';
import { DATABASE_ENTITIES, type Config, type DatabaseEntity } from '@kinora/config';
import { dbPlugin, type Database } from '@kinora/db';
import { openEventBus, type EventBus } from '@kinora/events';
import { createBaseApp, type Logger } from '@kinora/observability';

/** Defined once in libs/auth; re-exported because services built on this kit have always imported it from here. */
export { ACCESS_TOKEN_AUDIENCE };

export interface ServiceAppOptions {
  /** Short name: `comment` is "Kinora comment service" in the OpenAPI document and `kinora-comment` to Kafka. */
  name: string;
  config: Config;
  /**
   * The service's database: registered as `app.db` (readiness check, read-your-writes per request). Absent for a
   * service without one (the gateway), which then has no database principal and no default event bus.
   */
  database?: Database;
  logger: Logger;
  /**
   * Default: Kafka when `KAFKA_BROKERS` is set, else the in-process bus over this database; closed with the app.
   * `false`: the service neither publishes nor consumes (user, gateway); `bus` is then undefined.
   */
  bus?: EventBus | false;
  /**
   * Default: tokens checked against the JWKS of `USER_SERVICE_URL` (else of `PUBLIC_URL`, the gateway). `false`: no
   * authentication plugin (the transcoder serves no API; the gateway registers its own, with a token cache).
   */
  verifier?: TokenVerifier | false;
  /**
   * The OpenAPI document at /api/v1/openapi.json: default titled "Kinora `name` service"; another `title` (the
   * gateway's "Kinora API"), or `false` for a process without an API (the transcoder worker).
   */
  openapi?: { title: string } | false;
}

export interface ServiceApp<B extends EventBus | undefined = EventBus> {
  app: FastifyInstance;
  bus: B;
}

/**
 * What every standalone Kinora service starts from: the base app (problems, health, metrics, its own OpenAPI
 * document), the database plugin, the event bus, and authentication (the gateway's signed identity when
 * `GATEWAY_IDENTITY_SECRET` is set, else bearer tokens; the caller becomes the database principal: its reads
 * follow its own writes, see libs/db). Each part can be given or left out (options above). The service then registers its
 * module. Nothing listens yet.
 */
/**
 * The entity (upper case) whose own database this service uses while events would go through the in-process bus:
 * its log would live in that database, out of reach of the services on the others. Undefined when fine.
 */
export function splitDatabaseWithoutKafka(config: Pick<Config, 'kafkaBrokers' | 'databases' | 'databaseUrl'>, database: Pick<Database, 'name'>): string | undefined {
  if (config.kafkaBrokers.length > 0) return undefined;
  if (!(DATABASE_ENTITIES as readonly string[]).includes(database.name)) return undefined;
  const own = config.databases[database.name as DatabaseEntity].url;
  return own !== config.databaseUrl ? database.name.toUpperCase() : undefined;
}

export async function createServiceApp(opts: ServiceAppOptions & { bus: false }): Promise<ServiceApp<undefined>>;
export async function createServiceApp(opts: ServiceAppOptions): Promise<ServiceApp>;
export async function createServiceApp(opts: ServiceAppOptions): Promise<ServiceApp<EventBus | undefined>> {
  const { config, database, logger } = opts;
  const app = await createBaseApp({
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustedProxies: config.trustedProxies,
    ...(opts.openapi === false
      ? {}
      : { openapi: { title: opts.openapi?.title ?? `Kinora ${opts.name} service`, version: '0.1.0', publicUrl: config.publicUrl } }),
  });
  if (database) await app.register(dbPlugin, { database });
  let bus = opts.bus === false ? undefined : opts.bus;
  if (opts.bus === undefined) {
    if (!database) throw new Error(`createServiceApp(${opts.name}): the default event bus needs a database; pass bus (or bus: false)`);
    const split = splitDatabaseWithoutKafka(config, database);
    if (split) {
      await app.close();
      throw new Error(
        `${opts.name}: ${split}_DATABASE_URL is not DATABASE_URL but KAFKA_BROKERS is unset; the in-process event bus keeps its log in one database that every service shares, so per-entity databases need Kafka (or leave ${split}_DATABASE_URL unset)`,
      );
    }
    const own = await openEventBus({
      kafkaBrokers: config.kafkaBrokers,
      pool: database.primary,
      logger,
      clientId: `kinora-${opts.name}`,
      topicPartitions: config.kafkaTopicPartitions,
      replicationFactor: config.kafkaReplicationFactor,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    });
    app.addHook('onClose', async () => own.close());
    bus = own;
  }
  if (opts.verifier !== false) {
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
      ...(database ? { onPrincipal: (_req: unknown, p: { userId: string }) => database.setPrincipal(p.userId) } : {}),
      ...(config.gatewayIdentitySecret ? { gatewayIdentity: { secret: config.gatewayIdentitySecret } } : {}),
    });
  }
  return { app, bus };
}
