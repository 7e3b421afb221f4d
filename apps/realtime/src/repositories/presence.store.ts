import type { Redis } from 'ioredis';

/**
 * How many clients watch each video on the OTHER realtime instances. Each instance publishes its own per-video
 * counts; a dead instance's counts disappear after the TTL, so `watching` never keeps ghosts of a crashed pod.
 */
export interface PresenceStore {
  /** Publishes this instance's counts (replacing the previous ones) and returns the others' counts of `videoIds`. */
  sync(local: ReadonlyMap<string, number>, videoIds: readonly string[]): Promise<Map<string, number>>;
  /** The others' counts of `videoIds`, without publishing. */
  peek(videoIds: readonly string[]): Promise<Map<string, number>>;
  /** Withdraws this instance (graceful shutdown). */
  remove(): Promise<void>;
}

/** A single instance: nobody else watches. */
export class LocalPresenceStore implements PresenceStore {
  async sync(): Promise<Map<string, number>> {
    return new Map();
  }
  async peek(): Promise<Map<string, number>> {
    return new Map();
  }
  async remove(): Promise<void> {}
}

// ARGV: prefix, self, ttlMs, n, video_1, count_1, …, video_n, count_n, query_1, …, query_m (n = -1: read only).
// Instances are members of a sorted set scored by their last sync (Redis clock); each has a hash video → count that
// expires with the same TTL. Keys are derived from the prefix (not declared), which is fine on a single Redis or a
// primary/replica pair; with Redis Cluster, give the prefix a hash tag ({rt}) so every key lands on one slot.
const SYNC = `
local prefix, self, ttl, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local members = prefix .. 'instances'
local q = 5
if n >= 0 then
  local own = prefix .. 'watching:' .. self
  redis.call('DEL', own)
  local i = 5
  local last = 4 + 2 * n
  while i <= last do
    local stop = math.min(i + 999, last)
    redis.call('HSET', own, unpack(ARGV, i, stop))
    i = stop + 1
  end
  if n > 0 then redis.call('PEXPIRE', own, ttl) end
  redis.call('ZADD', members, now, self)
  q = last + 1
end
redis.call('ZREMRANGEBYSCORE', members, '-inf', now - ttl)
local sums = {}
local m = #ARGV - q + 1
for k = 1, m do sums[k] = 0 end
if m > 0 then
  for _, inst in ipairs(redis.call('ZRANGE', members, 0, -1)) do
    if inst ~= self then
      local key = prefix .. 'watching:' .. inst
      local s = q
      while s <= #ARGV do
        local e = math.min(s + 999, #ARGV)
        local vals = redis.call('HMGET', key, unpack(ARGV, s, e))
        for k, v in ipairs(vals) do
          if v then sums[s - q + k] = sums[s - q + k] + tonumber(v) end
        end
        s = e + 1
      end
    end
  end
end
return sums
`;

export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { keyPrefix: string; instanceId: string; ttlMs: number },
  ) {}

  async sync(local: ReadonlyMap<string, number>, videoIds: readonly string[]): Promise<Map<string, number>> {
    const args: (string | number)[] = [this.opts.keyPrefix, this.opts.instanceId, this.opts.ttlMs, local.size];
    for (const [v, c] of local) args.push(v, c);
    return this.run(args, videoIds);
  }

  async peek(videoIds: readonly string[]): Promise<Map<string, number>> {
    return this.run([this.opts.keyPrefix, this.opts.instanceId, this.opts.ttlMs, -1], videoIds);
  }

  async remove(): Promise<void> {
    await this.redis.multi().zrem(`${this.opts.keyPrefix}instances`, this.opts.instanceId).del(`${this.opts.keyPrefix}watching:${this.opts.instanceId}`).exec();
  }

  private async run(args: (string | number)[], videoIds: readonly string[]): Promise<Map<string, number>> {
    const sums = (await this.redis.eval(SYNC, 0, ...args, ...videoIds)) as number[];
    const out = new Map<string, number>();
    videoIds.forEach((v, i) => out.set(v, Number(sums[i] ?? 0)));
    return out;
  }
}
