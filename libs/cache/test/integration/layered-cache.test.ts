// The layered cache against real Redis: the shared test Redis for single-flight across instances, invalidation
// over pub/sub, SWR and negative caching; a Redis of its own (startRedis) for the outage test, which stops it.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { getTestEnv, startRedis, waitUntil, type RedisHandle } from '@kinora/testing';
import { keyClass, LayeredCache, type LayeredCacheOptions } from '../../src/index.js';

const meta = keyClass<{ id: string; v: number }>({ name: 'meta', ttlMs: 60_000, staleMs: 60_000, negativeTtlMs: 60_000 });
const opened: LayeredCache[] = [];

async function open(opts: LayeredCacheOptions): Promise<LayeredCache> {
  const cache = new LayeredCache({ lockPollMs: 10, ...opts });
  opened.push(cache);
  await cache.ready();
  return cache;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

describe('LayeredCache over the shared Redis', () => {
  let redisUrl: string;
  let raw: Redis;
  let prefix: string;

  beforeAll(() => {
    redisUrl = getTestEnv().redisUrl;
    raw = new Redis(redisUrl);
  });
  afterAll(() => raw.quit());
  beforeAll(() => {
    prefix = `test:cache:${randomUUID()}`;
  });

  it('1,000 concurrent misses on each of two instances make exactly one load (process and Redis lock)', async () => {
    const a = await open({ redis: redisUrl, prefix });
    const b = await open({ redis: redisUrl, prefix });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 100));
      return { id: 'x', v: 1 };
    };
    const all = await Promise.all([
      ...Array.from({ length: 1_000 }, () => a.get(meta, 'sf', load)),
      ...Array.from({ length: 1_000 }, () => b.get(meta, 'sf', load)),
    ]);
    expect(loads).toBe(1);
    expect(all.every((v) => v?.v === 1)).toBe(true);
    const layers = [a.stats(), b.stats()].map((s) => s.requests['meta']!.redis);
    // One instance missed Redis and loaded; the other missed Redis, found the lock and read the value later.
    expect(layers.map((l) => l.miss).sort()).toEqual([1, 1]);
  });

  it('a second instance reads what the first loaded from Redis (redis hit, no load)', async () => {
    const a = await open({ redis: redisUrl, prefix });
    const b = await open({ redis: redisUrl, prefix });
    let loads = 0;
    const load = async () => ({ id: 'y', v: ++loads });
    await a.get(meta, 'shared', load);
    expect(await b.get(meta, 'shared', load)).toEqual({ id: 'y', v: 1 });
    expect(loads).toBe(1);
    expect(b.stats().requests['meta']!.redis.hit).toBe(1);
  });

  it('an invalidation on one instance evicts the key on the other (it misses on its next read)', async () => {
    const a = await open({ redis: redisUrl, prefix });
    const b = await open({ redis: redisUrl, prefix });
    let version = 1;
    const load = async () => ({ id: 'z', v: version });
    expect(await a.get(meta, 'inv', load)).toEqual({ id: 'z', v: 1 });
    expect(await b.get(meta, 'inv', load)).toEqual({ id: 'z', v: 1 });
    expect(await b.get(meta, 'inv', load)).toEqual({ id: 'z', v: 1 });
    expect(b.stats().requests['meta']!.memory.hit).toBe(1);
    version = 2;
    await a.invalidate(meta, 'inv');
    expect(await raw.exists(`${prefix}:meta:inv`)).toBe(0);
    await waitUntil('b hears the invalidation', async () => {
      const before = b.stats().requests['meta']!.memory.miss;
      const v = await b.get(meta, 'inv', load);
      return v?.v === 2 && b.stats().requests['meta']!.memory.miss === before + 1;
    }, { timeoutMs: 5_000, intervalMs: 20 });
    expect(await a.get(meta, 'inv', load)).toEqual({ id: 'z', v: 2 });
  });

  it('serves a stale Redis value and refreshes it once across two instances', async () => {
    let t = Date.now();
    const now = () => t;
    const a = await open({ redis: redisUrl, prefix, now });
    const b = await open({ redis: redisUrl, prefix, now });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 50));
      return { id: 's', v: loads };
    };
    await a.get(meta, 'swr', load);
    t += 61_000; // past ttlMs, within staleMs
    const served = await Promise.all([...Array.from({ length: 100 }, () => a.get(meta, 'swr', load)), ...Array.from({ length: 100 }, () => b.get(meta, 'swr', load))]);
    expect(served.every((v) => v?.v === 1)).toBe(true);
    await waitUntil('the refresh lands in Redis', async () => (await raw.get(`${prefix}:meta:swr`))?.includes('"v":2') === true, { timeoutMs: 5_000, intervalMs: 20 });
    expect(loads).toBe(2);
    await waitUntil('a reads the refreshed value', async () => (await a.get(meta, 'swr', load))?.v === 2, { timeoutMs: 5_000, intervalMs: 20 });
    expect(loads).toBe(2);
  });

  it('remembers "not found" in Redis too, for the other instances', async () => {
    const a = await open({ redis: redisUrl, prefix });
    const b = await open({ redis: redisUrl, prefix });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return null;
    };
    expect(await a.get(meta, 'missing', load)).toBeNull();
    expect(await b.get(meta, 'missing', load)).toBeNull();
    expect(loads).toBe(1);
    expect(await raw.pttl(`${prefix}:meta:missing`)).toBeLessThanOrEqual(60_000);
  });
});

describe('LayeredCache when Redis stops', () => {
  let redis: RedisHandle;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('keeps answering from process memory and the loader, then uses Redis again once it is back', async () => {
    const warnings: string[] = [];
    const prefix = `test:cache:${randomUUID()}`;
    const cls = keyClass<{ v: number }>({ name: 'outage', ttlMs: 60_000, memoryTtlMs: 1 });
    const cache = await open({ redis: redis.url, prefix, redisTimeoutMs: 100, logger: { warn: (_o, m) => warnings.push(m) } });
    let loads = 0;
    const load = async () => ({ v: ++loads });
    expect(await cache.get(cls, 'a', load)).toEqual({ v: 1 });
    await new Promise((r) => setTimeout(r, 5));
    expect(await cache.get(cls, 'a', load)).toEqual({ v: 1 });
    expect(cache.stats().requests['outage']!.redis.hit).toBe(1);

    await redis.stop();
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      const v = await cache.get(cls, `down-${i % 5}`, load);
      expect(v).not.toBeNull();
    }
    expect(Date.now() - t0).toBeLessThan(2_000);
    const invalidated = cache.invalidate(cls, 'a');
    await expect(invalidated).resolves.toBeUndefined();

    await redis.start();
    await waitUntil('the Redis layer is used again', async () => {
      await cache.get(cls, 'back', load);
      return cache.redisReady && cache.stats().requests['outage']!.redis.miss > 1;
    }, { timeoutMs: 15_000, intervalMs: 50 });
    const loadsBefore = loads;
    await new Promise((r) => setTimeout(r, 5));
    await cache.get(cls, 'back', load);
    expect(loads).toBe(loadsBefore);
    expect(cache.stats().requests['outage']!.redis.hit).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('drops its shared copies after its invalidation subscription broke (it may have missed some)', async () => {
    const prefix = `test:cache:${randomUUID()}`;
    const cache = await open({ redis: redis.url, prefix });
    let loads = 0;
    const load = async () => ({ id: 'k', v: ++loads });
    await cache.get(meta, 'k', load);
    await cache.get(meta, 'k', load);
    expect(loads).toBe(1);
    await redis.stop();
    await redis.start();
    await cache.ready(15_000);
    await waitUntil('the copy is gone', async () => (await cache.get(meta, 'k', load))?.v === 2, { timeoutMs: 15_000, intervalMs: 50 });
  }, 60_000);
});
