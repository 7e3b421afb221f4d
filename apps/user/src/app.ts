import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, TokenVerifier } from '@kinora/auth';
import type { Cache } from '@kinora/cache';
import type { Config } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import type { EventBus } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { createCache, createCountersView, createServiceApp } from '@kinora/service';
import { KeyDirectory } from './repositories/key-files.repository.js';
import { KeyRepository } from './repositories/key.repository.js';
import { SessionRepository } from './repositories/session.repository.js';
import { UserRepository } from './repositories/user.repository.js';
import { authRoutes } from './routes/auth/auth.routes.js';
import { channelsRoutes } from './routes/channels/channels.routes.js';
import { jwksRoutes } from './routes/jwks/jwks.routes.js';
import { usersRoutes } from './routes/users/users.routes.js';
import { AccountService, type ChannelStatsReader } from './services/account.service.js';
import { PasswordHasher, type ScryptParams } from './services/password.hasher.js';
import { TokenService } from './services/token.service.js';

export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

export interface UserModuleOptions {
  database: Database;
  config: Pick<Config, 'publicUrl' | 'accessTokenTtlSec' | 'refreshTokenTtlSec'> & Partial<Pick<Config, 'jwtKeysDir'>>;
  logger?: Logger;
  /** Password hashing cost (tests lower it). */
  scrypt?: ScryptParams;
  stats?: ChannelStatsReader;
  /** How long an instance caches the signing keys (default 10 s): rotations elsewhere reach it within this time. */
  keyCacheMs?: number;
  /** How often the key folder (`JWT_KEYS_DIR`) is checked for changes (default 10 s). */
  keyDirPollMs?: number;
  /** The process's cache (channels); without it every channel read queries the database. */
  cache?: Cache;
}

export interface UserModule {
  /** The encapsulated routes; expects `request.principal`/`app.requireUser` from the auth plugin and `app.db`. */
  plugin: FastifyPluginAsync;
  /** The published signing keys, for in-process token verification. */
  jwks(): Promise<JSONWebKeySet>;
  tokens: TokenService;
  accounts: AccountService;
  /** Stops watching the key folder (the plugin does it when its app closes). */
  close(): void;
}

/** Issuer and audience of Kinora access tokens, shared by signer and verifiers. */
export function accessTokenIssuer(publicUrl: string): { issuer: string; audience: string } {
  return { issuer: publicUrl, audience: ACCESS_TOKEN_AUDIENCE };
}

/**
 * Migrates the `users` schema, makes sure a signing key exists (or, with `JWT_KEYS_DIR`, reads the key files: a
 * bad folder fails here, naming the file), and wires the service.
 */
export async function createUserModule(opts: UserModuleOptions): Promise<UserModule> {
  await runMigrations(opts.database.primary, { schema: 'users', dir: migrationsDir, ...(opts.logger ? { logger: opts.logger } : {}) });
  const keyDir = opts.config.jwtKeysDir
    ? await KeyDirectory.open(opts.config.jwtKeysDir, { ...(opts.keyDirPollMs !== undefined ? { pollMs: opts.keyDirPollMs } : {}), ...(opts.logger ? { log: opts.logger } : {}) })
    : undefined;
  if (keyDir) opts.logger?.info({ dir: keyDir.dir, signer: keyDir.current().signer.kid, published: keyDir.current().jwks.keys.length }, 'JWT signing keys from JWT_KEYS_DIR');
  const tokens = new TokenService(keyDir ?? new KeyRepository(opts.database), {
    issuer: opts.config.publicUrl,
    accessTokenTtlSec: opts.config.accessTokenTtlSec,
    ...(opts.keyCacheMs !== undefined ? { cacheMs: opts.keyCacheMs } : {}),
  });
  await tokens.ensureKey();
  const accounts = new AccountService(
    new UserRepository(opts.database),
    new SessionRepository(opts.database),
    tokens,
    new PasswordHasher(opts.scrypt),
    { refreshTokenTtlSec: opts.config.refreshTokenTtlSec, ...(opts.stats ? { stats: opts.stats } : {}), ...(opts.cache ? { cache: opts.cache } : {}) },
  );
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onClose', async () => keyDir?.close());
    await app.register(jwksRoutes, { tokens });
    await app.register(authRoutes, { accounts });
    await app.register(usersRoutes, { accounts });
    await app.register(channelsRoutes, { accounts });
  };
  return { plugin, jwks: () => tokens.jwks(), tokens, accounts, close: () => keyDir?.close() };
}

/**
 * The user service as its own process (`createServiceApp`): base app (problems, health, metrics, OpenAPI), the
 * database plugin, authentication against its own keys in-process (no HTTP round trip to itself), the counters view
 * of its channels (`ANALYTICS_SERVICE_URL` + the `analytics.counters` events of the bus), and the routes. Nothing
 * listens yet.
 */
export async function buildApp(
  config: Config,
  deps: {
    database: Database;
    logger: Logger;
    scrypt?: ScryptParams;
    keyCacheMs?: number;
    keyDirPollMs?: number;
    /** Channel counts; default: analytics' counters at `ANALYTICS_SERVICE_URL`, kept current by `analytics.counters` events. */
    stats?: ChannelStatsReader;
    /** The bus the default `stats` follows; default: Kafka when `KAFKA_BROKERS` is set, else the in-process bus (closed with the app). */
    bus?: EventBus;
  },
): Promise<FastifyInstance> {
  // Tokens are checked against the service's own keys in-process (no HTTP round trip to itself); behind the
  // cluster-mode gateway, createServiceApp also accepts the identity it forwards (HMAC-signed, ADR 0001).
  let mod: UserModule | undefined;
  const verifier = new TokenVerifier({ ...accessTokenIssuer(config.publicUrl), fetchJwks: () => mod!.jwks(), cooldownMs: 0, maxAgeMs: deps.keyCacheMs ?? 10_000 });
  // The only events it reads are analytics' counter totals (channel counts), for the default counters view.
  const { app, bus } = deps.stats
    ? await createServiceApp({ name: 'user', config, database: deps.database, logger: deps.logger, bus: false, verifier })
    : await createServiceApp({ name: 'user', config, database: deps.database, logger: deps.logger, verifier, ...(deps.bus ? { bus: deps.bus } : {}) });
  const stats = deps.stats ?? createCountersView(app, { config, bus: bus!, logger: deps.logger, service: 'user' });
  mod = await createUserModule({
    database: deps.database,
    config,
    logger: deps.logger,
    stats,
    cache: createCache(app, { config, logger: deps.logger, service: 'user' }),
    ...(deps.scrypt ? { scrypt: deps.scrypt } : {}),
    ...(deps.keyCacheMs !== undefined ? { keyCacheMs: deps.keyCacheMs } : {}),
    ...(deps.keyDirPollMs !== undefined ? { keyDirPollMs: deps.keyDirPollMs } : {}),
  });
  await app.register(mod.plugin);
  return app;
}
