import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import type { Redis } from 'ioredis';
import { Pool } from 'undici';
import { authPlugin, type TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import type { Principal } from '@kinora/contracts';
import type { RateLimitTierName } from '@kinora/http';
import { redisFor, type RedisErrorLog, type RedisTarget } from '@kinora/redis';
import { cacheVerifiedTokens, type TokenCacheOptions } from './auth/token-cache.js';
import { proxyPlugin } from './proxy/proxy.plugin.js';
import { TIER_EXTENSION } from './proxy/openapi-routes.js';
import { gatewayRateLimitPlugin } from './rate-limit/rate-limit.plugin.js';
import { upstreamsPlugin } from './resilience/upstreams.plugin.js';
import { defaultTierOf, RouteTable, stripQuery, type OwnerRule } from './routing/route-table.js';
import { webAppPlugin } from './web/web-app.plugin.js';

export type GatewayConfig = Pick<
  Config,
  'corsOrigins' | 'rateLimits' | 'redis' | 'rateLimitFailMode' | 'rateLimitStoreTimeoutMs' | 'upstreamPolicy' | 'upstreams' | 'gatewayIdentitySecret'
>;

export interface GatewayOptions {
  config: GatewayConfig;
  verifier: TokenVerifier;
  /** Called once a request is authenticated (e.g. to route its reads to the primary after it wrote). */
  onPrincipal?: (request: FastifyRequest, principal: Principal) => void;
  /**
   * Cluster mode: proxy the routes of these upstreams (name → connection pool, see {@link createUpstreamPools}).
   * Absent in embedded mode, where the service plugins registered after the gateway are guarded in-process.
   */
  pools?: ReadonlyMap<string, Pool>;
  /**
   * Rate-limit store; default: a handle on the process's shared fail-fast client for `config.redis` (released with
   * the app), else in-process counters.
   */
  redis?: Redis;
  /** Redis key prefix of the rate-limit counters (tests isolate themselves with it). */
  rateLimitKeyPrefix?: string;
  /** Store failures are logged at most once per interval (default 60 s). */
  rateLimitErrorLogIntervalMs?: number;
  /** Which upstream owns which path (default: the contract's services). */
  routeOwners?: readonly OwnerRule[];
  tokenCache?: TokenCacheOptions;
  /** The built web app to serve at `/` (static files, client-side routes fall back to index.html); none when absent. */
  webRoot?: string;
}

/** One keep-alive connection pool per upstream base URL. */
export function createUpstreamPools(upstreams: Readonly<Record<string, string | undefined>>, connections = 128): Map<string, Pool> {
  const pools = new Map<string, Pool>();
  for (const [name, url] of Object.entries(upstreams)) {
    if (url) pools.set(name, new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 10_000, connectTimeout: 2_000 }));
  }
  return pools;
}

/**
 * The rate-limit store's Redis: a handle on the process's shared `fail-fast` client (no offline queue, no retries,
 * this caller's own command timeout), so a check never waits for Redis to come back. Connection errors go to
 * `logger` at most once a minute: ioredis reports every failed reconnect, and the rate-limit hook already logs
 * outages once per interval. `disconnect()`/`quit()` releases the handle; the last user closes the connection.
 */
export function createRateLimitRedis(target: RedisTarget, commandTimeoutMs: number, logger?: RedisErrorLog): Redis {
  return redisFor(target, 'fail-fast', { user: 'gateway-rate-limit', commandTimeoutMs, ...(logger ? { logger } : {}) });
}

/**
 * The gateway chain every API request passes before a service sees it, the same in both modes:
 * CORS for the configured web origins → authentication of bearer tokens (verified tokens cached until they expire)
 * → rate limits per tier (Redis) → per-upstream resilience (timeout, bulkhead, circuit breaker, stale-if-error).
 * Embedded, it wraps the service plugins registered after it; in cluster mode (`pools`) it proxies to them,
 * forwarding the identity as a signed header. Registered at the root (fastify-plugin) so the services share
 * `request.principal` and `app.requireUser`.
 */
export const gatewayPlugin = fp(
  async function gateway(app: FastifyInstance, opts: GatewayOptions) {
    const { config } = opts;
    // Every request of this app passes CORS, authentication and the rate limits: no service plugin registered after
    // the gateway (embedded mode) may answer before them.
    app.earlyGets?.refuse('the gateway runs CORS, authentication and rate limits on every request');
    const routes = new RouteTable(opts.routeOwners);

    // Tiers are decided once per route where the route allows it; the others (catch-alls, routes registered before
    // the gateway) are looked up per request.
    app.addHook('onRoute', (route) => {
      const url = route.url ?? route.path;
      if (route.config?.rateLimitTier === undefined && typeof route.method === 'string' && !url.includes('*')) {
        route.config = { ...route.config, rateLimitTier: defaultTierOf(route.method, url) };
      }
      const tier = route.config?.rateLimitTier;
      const schema = route.schema as Record<string, unknown> | undefined;
      if (tier && schema && !schema['hide'] && routes.ownerOf(url) !== undefined) schema[TIER_EXTENSION] = tier;
    });
    const tierOf = (request: FastifyRequest): RateLimitTierName =>
      request.routeOptions.config.rateLimitTier ?? defaultTierOf(request.method, stripQuery(request.url));

    const origins = config.corsOrigins;
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : [...origins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'traceparent', 'kinora-lsn', 'tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset', 'upload-concat', 'upload-defer-length'],
      exposedHeaders: ['x-request-id', 'retry-after', 'kinora-lsn', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'location', 'upload-offset', 'upload-length', 'tus-resumable'],
      maxAge: 600,
      credentials: false,
    });

    const verifier = cacheVerifiedTokens(opts.verifier, opts.tokenCache);
    await app.register(authPlugin, { verifier, ...(opts.onPrincipal ? { onPrincipal: opts.onPrincipal } : {}) });

    let redis = opts.redis;
    if (!redis && config.redis) {
      const own = createRateLimitRedis(config.redis, config.rateLimitStoreTimeoutMs, app.log);
      app.addHook('onClose', async () => {
        own.disconnect();
      });
      redis = own;
    }
    if (redis && redis.status !== 'ready') {
      // Give the first connection a moment so the first requests are counted; past that, fail-open/closed applies.
      const r = redis;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 2_000);
        function done() {
          clearTimeout(t);
          r.off('ready', done);
          resolve();
        }
        r.once('ready', done);
      });
    }
    await app.register(gatewayRateLimitPlugin, {
      tiers: config.rateLimits,
      ...(redis ? { redis } : {}),
      failMode: config.rateLimitFailMode,
      tierOf,
      ...(opts.rateLimitKeyPrefix ? { keyPrefix: opts.rateLimitKeyPrefix } : {}),
      ...(opts.rateLimitErrorLogIntervalMs !== undefined ? { errorLogIntervalMs: opts.rateLimitErrorLogIntervalMs } : {}),
    });

    await app.register(upstreamsPlugin, { policy: config.upstreamPolicy, routes });

    if (opts.pools && opts.pools.size > 0) {
      if (!config.gatewayIdentitySecret) throw new Error('GATEWAY_IDENTITY_SECRET is required to proxy to upstreams');
      await app.register(proxyPlugin, {
        pools: opts.pools,
        identitySecret: config.gatewayIdentitySecret,
        routes,
        discoveryTimeoutMs: config.upstreamPolicy.discoveryTimeoutMs,
      });
    }
    // Encapsulated: its catch-all route yields to every more specific route of the platform.
    if (opts.webRoot) await app.register(webAppPlugin, { root: opts.webRoot });
  },
  { name: '@kinora/gateway', fastify: '5.x', dependencies: ['@kinora/http/problem', '@kinora/observability'] },
);
