import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { keyClass } from './key-class.js';
import { LayeredCache } from './layered.cache.js';
import { MemoryLru } from './memory.lru.js';

const local = keyClass<{ n: number }>({ name: 'thing', ttlMs: 1_000, staleMs: 500, negativeTtlMs: 200, shared: false });

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('MemoryLru', () => {
  const entry = (size: number, until = Infinity) => ({ value: size, size, freshUntil: until, staleUntil: until });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const lru = new MemoryLru<number>({ maxEntries: 2, maxBytes: 1_000 });
    lru.set('a', entry(1));
    lru.set('b', entry(1));
    lru.get('a');
    lru.set('c', entry(1));
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')?.value).toBe(1);
    expect(lru.size).toBe(2);
  });

  it('moves a hit to the recent end once a quarter of the capacity went by, so a hot key is not evicted', () => {
    const lru = new MemoryLru<number>({ maxEntries: 8, maxBytes: 1_000 });
    lru.set('hot', entry(1));
    for (let i = 0; i < 40; i++) {
      lru.set(`k${i}`, entry(1));
      expect(lru.get('hot')?.value).toBe(1);
    }
    expect(lru.size).toBe(8);
    // Without reads it goes like any other.
    for (let i = 0; i < 8; i++) lru.set(`x${i}`, entry(1));
    expect(lru.get('hot')).toBeUndefined();
  });

  it('keeps at most maxBytes, and never an entry larger than that alone', () => {
    const lru = new MemoryLru<number>({ maxEntries: 100, maxBytes: 100 });
    lru.set('a', entry(40));
    lru.set('b', entry(40));
    lru.set('c', entry(40));
    expect(lru.get('a')).toBeUndefined();
    expect(lru.bytes).toBe(80);
    lru.set('huge', entry(101));
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.bytes).toBe(80);
    lru.set('b', entry(10));
    expect(lru.bytes).toBe(50);
  });

  it('drops an entry once its stale window has passed', () => {
    const c = clock();
    const lru = new MemoryLru<number>({ maxEntries: 10, maxBytes: 100, now: c.now });
    lru.set('a', { value: 1, size: 1, freshUntil: c.now() + 10, staleUntil: c.now() + 20 });
    c.advance(19);
    expect(lru.get('a')?.value).toBe(1);
    c.advance(1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.bytes).toBe(0);
  });

  it('refuses nonsensical bounds', () => {
    expect(() => new MemoryLru({ maxEntries: 0, maxBytes: 1 })).toThrow(RangeError);
    expect(() => new MemoryLru({ maxEntries: 1, maxBytes: 0 })).toThrow(RangeError);
  });
});

describe('keyClass', () => {
  it('refuses bad names and lifetimes', () => {
    expect(() => keyClass({ name: 'Bad-Name', ttlMs: 1 })).toThrow(/must match/);
    expect(() => keyClass({ name: 'x', ttlMs: 0 })).toThrow(/ttlMs must be > 0/);
    expect(() => keyClass({ name: 'x', ttlMs: 1, staleMs: -1 })).toThrow(/staleMs must be a finite number/);
  });
});

describe('LayeredCache in process (injected clock)', () => {
  it('runs one load for 1,000 concurrent misses of a key', async () => {
    const cache = new LayeredCache();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 20));
      return { n: 7 };
    };
    const values = await Promise.all(Array.from({ length: 1_000 }, () => cache.get(local, 'k', load)));
    expect(loads).toBe(1);
    expect(values.every((v) => v?.n === 7)).toBe(true);
    expect(cache.stats().requests['thing']!.memory).toEqual({ hit: 0, miss: 1_000, stale: 0 });
    expect(cache.stats().loads['thing']).toEqual({ ok: 1, not_found: 0, error: 0 });
  });

  it('peek answers only fresh values held in process, at once', async () => {
    const c = clock();
    const cache = new LayeredCache({ now: c.now });
    const cls = keyClass<{ n: number } | null>({ name: 'peeked', ttlMs: 1_000, staleMs: 1_000, negativeTtlMs: 500, shared: false });
    expect(cache.peek(cls, 'k')).toBeUndefined();
    const value = await cache.get(cls, 'k', async () => ({ n: 1 }));
    expect(cache.peek(cls, 'k')).toBe(value);
    expect(cache.peek(cls, 'other')).toBeUndefined();
    await cache.get(cls, 'gone', async () => null);
    expect(cache.peek(cls, 'gone')).toBeNull(); // a remembered "not found"
    c.advance(1_000);
    expect(cache.peek(cls, 'k')).toBeUndefined(); // stale: only get serves it (and refreshes it)
    expect(cache.stats().requests['peeked']?.memory).toEqual({ hit: 2, miss: 2, stale: 0 });
  });

  it('expires values after their TTL', async () => {
    const c = clock();
    const cache = new LayeredCache({ now: c.now });
    const cls = keyClass<number>({ name: 'plain', ttlMs: 1_000, shared: false });
    let n = 0;
    const load = async () => ++n;
    expect(await cache.get(cls, 'k', load)).toBe(1);
    c.advance(999);
    expect(await cache.get(cls, 'k', load)).toBe(1);
    c.advance(1);
    expect(await cache.get(cls, 'k', load)).toBe(2);
  });

  it('serves a stale value while one refresh runs, then the refreshed one', async () => {
    const c = clock();
    const cache = new LayeredCache({ now: c.now });
    let n = 0;
    let release: () => void = () => {};
    const load = async () => {
      n += 1;
      if (n > 1) await new Promise<void>((r) => (release = r));
      return { n };
    };
    expect(await cache.get(local, 'k', load)).toEqual({ n: 1 });
    c.advance(1_100);
    const stale = await Promise.all(Array.from({ length: 50 }, () => cache.get(local, 'k', load)));
    expect(stale.every((v) => v?.n === 1)).toBe(true);
    expect(n).toBe(2);
    release();
    await tick();
    await tick();
    expect(await cache.get(local, 'k', load)).toEqual({ n: 2 });
    expect(n).toBe(2);
    expect(cache.stats().requests['thing']!.memory.stale).toBe(50);
  });

  it('keeps serving the stale value when the refresh fails, and loads again after the stale window', async () => {
    const c = clock();
    const cache = new LayeredCache({ now: c.now });
    let fail = false;
    let n = 0;
    const load = async () => {
      n += 1;
      if (fail) throw new Error('source down');
      return { n };
    };
    await cache.get(local, 'k', load);
    fail = true;
    c.advance(1_200);
    expect(await cache.get(local, 'k', load)).toEqual({ n: 1 });
    await tick();
    expect(await cache.get(local, 'k', load)).toEqual({ n: 1 });
    await tick();
    c.advance(400);
    await expect(cache.get(local, 'k', load)).rejects.toThrow('source down');
    expect(cache.stats().loads['thing']!.error).toBeGreaterThanOrEqual(2);
  });

  it('remembers "not found" for negativeTtlMs only', async () => {
    const c = clock();
    const cache = new LayeredCache({ now: c.now });
    let loads = 0;
    let exists = false;
    const load = async () => {
      loads += 1;
      return exists ? { n: 1 } : null;
    };
    expect(await cache.get(local, 'k', load)).toBeNull();
    exists = true;
    expect(await cache.get(local, 'k', load)).toBeNull();
    expect(loads).toBe(1);
    c.advance(200);
    expect(await cache.get(local, 'k', load)).toEqual({ n: 1 });
    expect(cache.stats().loads['thing']).toEqual({ ok: 1, not_found: 1, error: 0 });
  });

  it('does not cache "not found" when the class has no negative TTL', async () => {
    const cache = new LayeredCache();
    const cls = keyClass<number>({ name: 'noneg', ttlMs: 1_000, shared: false });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return null;
    };
    await cache.get(cls, 'k', load);
    await cache.get(cls, 'k', load);
    expect(loads).toBe(2);
  });

  it('a load that fails is not cached and reaches every waiting caller', async () => {
    const cache = new LayeredCache();
    let loads = 0;
    const load = async () => {
      loads += 1;
      throw new Error('boom');
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.get(local, 'k', load)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(loads).toBe(1);
    await expect(cache.get(local, 'k', load)).rejects.toThrow('boom');
    expect(loads).toBe(2);
  });

  it('invalidation drops the value, and a load racing it does not store the old value', async () => {
    const cache = new LayeredCache();
    let version = 1;
    let release: () => void = () => {};
    const slow = async () => {
      const seen = version;
      await new Promise<void>((r) => (release = r));
      return { n: seen };
    };
    const racing = cache.get(local, 'k', slow);
    version = 2;
    await cache.invalidate(local, 'k');
    release();
    expect(await racing).toEqual({ n: 1 });
    expect(await cache.get(local, 'k', async () => ({ n: version }))).toEqual({ n: 2 });
  });

  it('counts hits, misses and loads in kinora_cache_* metrics', async () => {
    const registry = new Registry();
    const cache = new LayeredCache({ registry });
    await cache.get(local, 'a', async () => ({ n: 1 }));
    await cache.get(local, 'a', async () => ({ n: 1 }));
    const text = await registry.metrics();
    expect(text).toContain('kinora_cache_requests_total{class="thing",layer="memory",result="hit"} 1');
    expect(text).toContain('kinora_cache_requests_total{class="thing",layer="memory",result="miss"} 1');
    expect(text).toContain('kinora_cache_loads_total{class="thing",result="ok"} 1');
    expect(text).toMatch(/kinora_cache_memory_entries 1/);
    expect(text).toMatch(/kinora_cache_memory_bytes \d+/);
  });
});
