import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import type { RateLimitFailMode, RateLimitTier } from '@kinora/config';
import { commonErrors, type RateLimitTierName } from '@kinora/http';
import { localTierStore, redisTierStore } from './rate-limit.stores.js';

export type CountedTier = Exclude<RateLimitTierName, 'none'>;

export interface GatewayRateLimitOptions {
  /** Budgets per tier (`null` = not limited). */
  tiers: Readonly<Record<CountedTier, RateLimitTier | null>>;
  /** Shared store; without it every process counts on its own (embedded mode without Redis). */
  redis?: Redis;
  /** What to do when the store fails: serve anyway (`open`) or answer 503 (`closed`). */
  failMode: RateLimitFailMode;
  /** Redis key prefix (default `kinora:rl:`). */
  keyPrefix?: string;
  /** Store failures are logged at most once per interval (default 60 s); every one is counted. */
  errorLogIntervalMs?: number;
  /** The tier a request spends. */
  tierOf: (request: FastifyRequest) => RateLimitTierName;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** The client a budget belongs to: the user when a valid token came with the request, else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.principal ? `u:${request.principal.userId}` : `ip:${normalizeIP(request.ip)}`;
}

/**
 * Per-tier budgets with @fastify/rate-limit, counted in Redis when one is given. Runs in `onRequest` after the
 * authentication hook (so an authenticated client is counted as its user), before the body is read. Every counted
 * response carries `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`; over the budget the answer
 * is a 429 problem with `Retry-After`.
 */
export const gatewayRateLimitPlugin = fp(
  async function gatewayRateLimit(app: FastifyInstance, opts: GatewayRateLimitOptions) {
    const storeErrors = new Counter({
      name: 'gateway_rate_limit_store_errors_total',
      help: 'Rate-limit checks that could not reach the store, by what happened to the request (served = fail-open)',
      labelNames: ['outcome'] as const,
      registers: [app.metrics],
    });
    const rejected = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests answered 429 by the gateway, by rate-limit tier',
      labelNames: ['tier'] as const,
      registers: [app.metrics],
    });
    storeErrors.inc({ outcome: opts.failMode === 'open' ? 'served' : 'rejected' }, 0);

    const store = opts.redis ? redisTierStore(opts.redis, opts.keyPrefix ?? 'kinora:rl:') : localTierStore();
    await app.register(rateLimit, {
      global: false,
      // The plugin's own option type names its public store interface; ours adds the tier to the key.
      store: store as never,
      skipOnError: false,
      keyGenerator: rateLimitKey,
    });

    const limiters: Partial<Record<CountedTier, Limiter>> = {};
    for (const tier of ['general', 'auth', 'upload'] as const) {
      const budget = opts.tiers[tier];
      if (!budget) continue;
      limiters[tier] = app.createRateLimit({ max: budget.max, timeWindow: budget.windowMs, keyGenerator: rateLimitKey, tier } as never);
    }

    const logEvery = opts.errorLogIntervalMs ?? 60_000;
    let lastLogged = 0;
    let unlogged = 0;
    const storeFailed = (err: unknown, request: FastifyRequest): void => {
      storeErrors.inc({ outcome: opts.failMode === 'open' ? 'served' : 'rejected' });
      unlogged++;
      const now = Date.now();
      if (now - lastLogged >= logEvery) {
        request.log.warn(
          { err: { message: (err as Error).message }, failures: unlogged, failMode: opts.failMode },
          opts.failMode === 'open' ? 'rate-limit store unavailable: serving without limits (fail-open)' : 'rate-limit store unavailable: refusing requests (fail-closed)',
        );
        lastLogged = now;
        unlogged = 0;
      }
      if (opts.failMode === 'closed') {
        throw commonErrors.SERVICE_UNAVAILABLE('Rate limits cannot be checked right now; try again shortly', undefined, { 'retry-after': '1' });
      }
    };

    app.addHook('onRequest', async (request, reply) => {
      const tier = opts.tierOf(request);
      if (tier === 'none') return;
      const limiter = limiters[tier];
      if (!limiter) return;
      let r: Awaited<ReturnType<Limiter>>;
      try {
        r = await limiter(request);
      } catch (err) {
        storeFailed(err, request);
        return;
      }
      if (r.isAllowed) return;
      const reset = String(Math.max(0, r.ttlInSeconds));
      if (!r.isExceeded) {
        reply.header('x-ratelimit-limit', String(r.max));
        reply.header('x-ratelimit-remaining', String(r.remaining));
        reply.header('x-ratelimit-reset', reset);
        return;
      }
      rejected.inc({ tier });
      const retryAfter = String(Math.max(1, r.ttlInSeconds));
      throw commonErrors.RATE_LIMITED(`Too many requests (${tier} budget: ${r.max} per ${Math.round(r.timeWindow / 1000)} s); retry in ${retryAfter} s`, undefined, {
        'retry-after': retryAfter,
        'x-ratelimit-limit': String(r.max),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': reset,
      });
    });
  },
  { name: '@kinora/gateway/rate-limit', fastify: '5.x', dependencies: ['@kinora/observability', '@kinora/http/problem'] },
);
