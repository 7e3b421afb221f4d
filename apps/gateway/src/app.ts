import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import { createBaseApp, type Logger } from '@kinora/observability';
import { httpJwksFetcher } from './auth/http-jwks.js';
import { createUpstreamPools, gatewayPlugin, type GatewayOptions } from './gateway.plugin.js';

/** Audience of Kinora access tokens (the user service signs them with it). */
export const ACCESS_TOKEN_AUDIENCE = 'kinora-api';

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
 * The gateway as its own process (cluster mode): base app (problems, health, metrics, OpenAPI) and the gateway
 * chain proxying `/api/v1/...` to the upstreams of `<NAME>_SERVICE_URL`, with access tokens verified against the
 * user service's JWKS fetched over HTTP. Nothing listens yet.
 */
export async function buildGateway(config: Config, deps: GatewayDeps): Promise<FastifyInstance> {
  const userUrl = config.upstreams.user;
  if (!userUrl) throw new Error('USER_SERVICE_URL is required: the gateway verifies tokens against its JWKS');
  const app = await createBaseApp({
    logger: deps.logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustedProxies: config.trustedProxies,
    openapi: { title: 'Kinora API', version: '0.1.0', publicUrl: config.publicUrl },
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
