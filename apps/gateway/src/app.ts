import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { ACCESS_TOKEN_AUDIENCE, httpJwksFetcher, TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import type { Logger } from '@kinora/observability';
import { createServiceApp } from '@kinora/service';
import { createUpstreamPools, gatewayPlugin, type GatewayOptions } from './gateway.plugin.js';

/** Defined once in libs/auth; re-exported for the users of this package's former export. */
export { ACCESS_TOKEN_AUDIENCE };

export interface GatewayDeps {
  logger: Logger;
  /** Rate-limit store (default: a client for REDIS_URL). */
  redis?: Redis;
  /** Passed through to the gateway plugin (tests). */
  rateLimitKeyPrefix?: string;
  rateLimitErrorLogIntervalMs?: number;
  /** How long keys fetched from the user service are trusted before a refetch, and the refetch cooldown (ms). */
  jwksMaxAgeMs?: number;
  jwksCooldownMs?: number;
  tokenCache?: GatewayOptions['tokenCache'];
}

/**
 * The gateway as its own process (cluster mode, `createServiceApp` without database, event bus or the kit's
 * authentication): base app (problems, health, metrics, the "Kinora API" OpenAPI document) and the gateway chain
 * proxying `/api/v1/...` to the upstreams of `<NAME>_SERVICE_URL`, with access tokens verified (and cached) against
 * the user service's JWKS fetched through its connection pool. Nothing listens yet.
 */
export async function buildGateway(config: Config, deps: GatewayDeps): Promise<FastifyInstance> {
  const userUrl = config.upstreams.user;
  if (!userUrl) throw new Error('USER_SERVICE_URL is required: the gateway verifies tokens against its JWKS');
  const { app } = await createServiceApp({
    name: 'gateway',
    config,
    logger: deps.logger,
    bus: false,
    // The gateway chain registers authentication itself, behind CORS and with the verified-token cache.
    verifier: false,
    openapi: { title: 'Kinora API' },
  });
  const pools = createUpstreamPools(config.upstreams, Math.min(config.upstreamPolicy.maxConcurrency, 512));
  app.addHook('onClose', async () => {
    await Promise.all([...pools.values()].map((p) => p.close()));
  });
  const verifier = new TokenVerifier({
    issuer: config.publicUrl,
    audience: ACCESS_TOKEN_AUDIENCE,
    fetchJwks: httpJwksFetcher(pools.get('user')!),
    ...(deps.jwksCooldownMs !== undefined ? { cooldownMs: deps.jwksCooldownMs } : {}),
    ...(deps.jwksMaxAgeMs !== undefined ? { maxAgeMs: deps.jwksMaxAgeMs } : {}),
  });
  await app.register(gatewayPlugin, {
    config,
    verifier,
    pools,
    ...(deps.redis ? { redis: deps.redis } : {}),
    ...(deps.rateLimitKeyPrefix ? { rateLimitKeyPrefix: deps.rateLimitKeyPrefix } : {}),
    ...(deps.rateLimitErrorLogIntervalMs !== undefined ? { rateLimitErrorLogIntervalMs: deps.rateLimitErrorLogIntervalMs } : {}),
    ...(deps.tokenCache ? { tokenCache: deps.tokenCache } : {}),
  });
  return app;
}
