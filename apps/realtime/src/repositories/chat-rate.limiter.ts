import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  /** When the next message would be accepted (0 when allowed). */
  retryAfterMs: number;
}

export interface ChatRateLimiter {
  take(userId: string): Promise<RateDecision>;
}

export interface TokenBucketOptions {
  /** Tokens added per second (messages per second in the long run). */
  ratePerSec: number;
  /** Bucket size (messages that may be sent at once after a quiet period). */
  burst: number;
}

/** Token bucket in one process (embedded mode, or when Redis fails). */
export class InProcessChatRateLimiter implements ChatRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly opts: TokenBucketOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async take(userId: string): Promise<RateDecision> {
    return this.takeSync(userId);
  }

  takeSync(userId: string): RateDecision {
    const now = this.now();
    const perMs = this.opts.ratePerSec / 1000;
    const b = this.buckets.get(userId) ?? { tokens: this.opts.burst, at: now };
    b.tokens = Math.min(this.opts.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(userId, b);
    if (this.buckets.size > 100_000) this.prune(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - b.tokens) / perMs) };
  }

  private prune(now: number): void {
    const fullAfterMs = (this.opts.burst * 1000) / this.opts.ratePerSec;
    for (const [k, b] of this.buckets) if (now - b.at > fullAfterMs) this.buckets.delete(k);
  }
}

// One round trip, atomic: refill by elapsed time (Redis clock, so every instance agrees), take a token if there is
// one, remember the bucket until it would be full again anyway.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMs = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * perMs) end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / perMs) + 1000)
return {allowed, retry}
`;

/**
 * The chat token bucket shared by every instance (a Redis hash per user, updated by one Lua script). When Redis does
 * not answer, the decision falls back to this process's own bucket: chat keeps working, only the limit is then per
 * instance.
 */
export class RedisChatRateLimiter implements ChatRateLimiter {
  private readonly local: InProcessChatRateLimiter;
  constructor(
    private readonly redis: Redis,
    private readonly opts: TokenBucketOptions & { keyPrefix: string; onError?: (err: Error) => void },
  ) {
    this.local = new InProcessChatRateLimiter(opts);
  }

  async take(userId: string): Promise<RateDecision> {
    try {
      const [allowed, retry] = (await this.redis.eval(TAKE, 1, `${this.opts.keyPrefix}chat-rate:${userId}`, String(this.opts.ratePerSec / 1000), String(this.opts.burst))) as [number, number];
      return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : retry };
    } catch (err) {
      this.opts.onError?.(err as Error);
      return this.local.takeSync(userId);
    }
  }
}
