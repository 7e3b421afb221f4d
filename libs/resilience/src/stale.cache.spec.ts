import { describe, expect, it } from '@jest/globals';
import { StaleCache } from './stale.cache.js';
import { TtlLru } from './ttl-lru.js';

describe('TtlLru', () => {
  it('evicts the least recently used entry when full', () => {
    const lru = new TtlLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('evicts first-in first-out when hits do not refresh recency', () => {
    const fifo = new TtlLru<string, number>(2, Number.POSITIVE_INFINITY, Date.now, false);
    fifo.set('a', 1);
    fifo.set('b', 2);
    expect(fifo.get('a')).toBe(1);
    fifo.set('c', 3);
    expect(fifo.get('a')).toBeUndefined();
    expect(fifo.get('b')).toBe(2);
  });

  it('expires entries after their lifetime', () => {
    let now = 1000;
    const lru = new TtlLru<string, number>(10, 100, () => now);
    lru.set('a', 1);
    lru.set('b', 2, 500);
    now += 100;
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('b')).toBe(2);
    expect(lru.ttl('b')).toBe(400);
    lru.set('c', 3, 0); // nothing to keep
    expect(lru.get('c')).toBeUndefined();
  });
});

describe('StaleCache', () => {
  it('recalls the last good value with its age until it is too old', () => {
    let now = 0;
    const cache = new StaleCache<{ size: number; body: string }>(60_000, 10, 100, () => now);
    cache.store('GET /x', { size: 2, body: 'ok' });
    now = 5_500;
    expect(cache.recall('GET /x')).toEqual({ value: { size: 2, body: 'ok' }, ageSec: 5 });
    now = 60_001;
    expect(cache.recall('GET /x')).toBeUndefined();
  });

  it('skips entries that are too large and does nothing when disabled', () => {
    const cache = new StaleCache<{ size: number }>(1000, 10, 100);
    cache.store('big', { size: 101 });
    expect(cache.recall('big')).toBeUndefined();
    const off = new StaleCache<{ size: number }>(0);
    off.store('k', { size: 1 });
    expect(off.enabled).toBe(false);
    expect(off.recall('k')).toBeUndefined();
  });
});
