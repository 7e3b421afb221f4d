import type { Redis } from 'ioredis';
import { TtlLru } from '@kinora/resilience';

/** What @fastify/rate-limit asks of a store (its `FastifyRateLimitStore`), with the tier the budget belongs to. */
export interface TierStore {
  incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(params: { tier?: string }): TierStore;
}

/**
 * Fixed windows in Redis, many keys per call: for each key, INCRBY the number of requests it got, PEXPIRE when the
 * key is new, PTTL otherwise. ARGV holds `increment, windowMs` per key. Returns `count, ttl` per key, flat.
 */
const INCR_MANY_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local by = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local current = redis.call('INCRBY', KEYS[i], by)
  local ttl
  if current == by then
    redis.call('PEXPIRE', KEYS[i], window)
    ttl = window
  else
    ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], window)
      ttl = window
    end
  end
  out[2 * i - 1] = current
  out[2 * i] = ttl
end
return out
`;

type IncrCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

type RedisWithScript = Redis & {
  kinoraRateLimitMany(...args: [...(string | number)[], (err: Error | null, res?: number[]) => void]): void;
};

/** Keys per script call; a larger turn is split over several calls. */
const MAX_KEYS_PER_CALL = 256;

/**
 * Collects the checks of one event-loop turn and sends them as ONE script call: the requests that arrived together
 * (parsed in the same poll phase) are counted with one round trip, one command for ioredis to build and parse and
 * one Lua call for Redis, instead of one of each per request. Counting stays exact: a key that got `n` requests in
 * the turn is incremented by `n`, and its requests get the consecutive counts `total - n + 1 … total`, as if they
 * had been sent one by one.
 */
class TurnBatcher {
  private pending = new Map<string, { windowMs: number; callbacks: IncrCallback[] }>();
  private scheduled = false;

  constructor(private readonly client: RedisWithScript) {}

  add(key: string, windowMs: number, cb: IncrCallback): void {
    const entry = this.pending.get(key);
    if (entry) entry.callbacks.push(cb);
    else this.pending.set(key, { windowMs, callbacks: [cb] });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < batch.length; i += MAX_KEYS_PER_CALL) this.send(batch.slice(i, i + MAX_KEYS_PER_CALL));
  };

  private send(batch: [string, { windowMs: number; callbacks: IncrCallback[] }][]): void {
    const args: (string | number)[] = [batch.length];
    for (const [key] of batch) args.push(key);
    for (const [, { windowMs, callbacks }] of batch) args.push(callbacks.length, windowMs);
    this.client.kinoraRateLimitMany(...args, (err, res) => {
      if (err || !Array.isArray(res) || res.length !== batch.length * 2) {
        const failure = err ?? new Error('unexpected answer from Redis');
        for (const [, { callbacks }] of batch) for (const cb of callbacks) cb(failure);
        return;
      }
      batch.forEach(([, { callbacks }], i) => {
        const total = Number(res[2 * i]);
        const ttl = Number(res[2 * i + 1]);
        const first = total - callbacks.length + 1;
        callbacks.forEach((cb, j) => cb(null, { current: first + j, ttl }));
      });
    });
  }
}

/**
 * A store class for @fastify/rate-limit whose keys are `<prefix><tier>:<client>`: one budget per tier and client,
 * shared by every route of the tier and every gateway instance on the same Redis. The checks of one event-loop turn
 * share one round trip ({@link TurnBatcher}).
 */
export function redisTierStore(redis: Redis, prefix: string): new (params: { tier?: string }) => TierStore {
  const client = redis as RedisWithScript;
  // The command's arity varies with the batch: the number of keys is its first argument.
  if (typeof client.kinoraRateLimitMany !== 'function') client.defineCommand('kinoraRateLimitMany', { lua: INCR_MANY_SCRIPT });
  const batcher = new TurnBatcher(client);
  return class RedisTierStore implements TierStore {
    private readonly prefix: string;
    constructor(params: { tier?: string }) {
      this.prefix = `${prefix}${params.tier ?? 'global'}:`;
    }
    incr(key: string, cb: IncrCallback, timeWindow: number): void {
      batcher.add(this.prefix + key, timeWindow, cb);
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
