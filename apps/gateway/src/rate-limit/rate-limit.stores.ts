import type { Redis } from 'ioredis';
import { TtlLru } from '@kinora/resilience';

/** What @fastify/rate-limit asks of a store (its `FastifyRateLimitStore`), with the tier the budget belongs to. */
export interface TierStore {
  incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(params: { tier?: string }): TierStore;
}

/** Fixed window in Redis: INCR, PEXPIRE on the first hit, PTTL otherwise; one round trip (a Lua script). */
const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
end
return {current, ttl}
`;

type RedisWithScript = Redis & {
  kinoraRateLimit(key: string, windowMs: number, cb: (err: Error | null, res?: [number, number]) => void): void;
};

/**
 * A store class for @fastify/rate-limit whose keys are `<prefix><tier>:<client>`: one budget per tier and client,
 * shared by every route of the tier and every gateway instance on the same Redis. One round trip per counted request
 * (ioredis pipelines the commands of concurrent requests into one write).
 */
export function redisTierStore(redis: Redis, prefix: string): new (params: { tier?: string }) => TierStore {
  const client = redis as RedisWithScript;
  if (typeof client.kinoraRateLimit !== 'function') client.defineCommand('kinoraRateLimit', { numberOfKeys: 1, lua: INCR_SCRIPT });
  return class RedisTierStore implements TierStore {
    private readonly prefix: string;
    constructor(params: { tier?: string }) {
      this.prefix = `${prefix}${params.tier ?? 'global'}:`;
    }
    incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      client.kinoraRateLimit(this.prefix + key, timeWindow, (err, res) => {
        if (err || !res) cb(err ?? new Error('empty answer from Redis'));
        else cb(null, { current: Number(res[0]), ttl: Number(res[1]) });
      });
    }
    child(params: { tier?: string }): TierStore {
      return new RedisTierStore(params);
    }
  };
}

/** The in-process fallback when no Redis is configured (embedded mode): budgets per process, bounded memory. */
export function localTierStore(maxClients = 50_000): new (params: { tier?: string }) => TierStore {
  return class LocalTierStore implements TierStore {
    private readonly windows = new TtlLru<string, { count: number; resetAt: number }>(maxClients);
    constructor(_params: { tier?: string }) {}
    incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = Date.now();
      let w = this.windows.get(key);
      if (!w || w.resetAt <= now) {
        w = { count: 0, resetAt: now + timeWindow };
        this.windows.set(key, w, timeWindow);
      }
      w.count++;
      cb(null, { current: w.count, ttl: w.resetAt - now });
    }
    child(params: { tier?: string }): TierStore {
      return new LocalTierStore(params);
    }
  };
}
