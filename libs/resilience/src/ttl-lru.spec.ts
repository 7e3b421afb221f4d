import { describe, expect, it } from '@jest/globals';
import { TtlLru } from './ttl-lru.js';

describe('TtlLru', () => {
  it('evicts the least recently used entry when full', () => {
    const lru = new TtlLru<string, number>(4);
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, 1);
    // Enough other inserts/moves happened since "a" was inserted (more than a quarter of the capacity): a hit moves it.
    expect(lru.get('a')).toBe(1);
    lru.set('e', 1);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.size).toBe(4);
  });

  it('keeps a key that is hit often while colder keys come and go', () => {
    const lru = new TtlLru<number, number>(100);
    lru.set(-1, -1);
    for (let i = 0; i < 10_000; i++) {
      lru.set(i, i);
      expect(lru.get(-1)).toBe(-1);
    }
    expect(lru.size).toBe(100);
    // The oldest cold keys went first.
    expect(lru.get(0)).toBeUndefined();
    expect(lru.get(9_999)).toBe(9_999);
  });

  it('is first-in first-out without refreshOnGet', () => {
    const lru = new TtlLru<string, number>(2, Number.POSITIVE_INFINITY, Date.now, false);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBeUndefined();
    lru.set('d', 4);
    for (let i = 0; i < 5; i++) lru.get('b');
    lru.set('e', 5);
    expect(lru.get('b')).toBeUndefined();
  });

  it('drops expired entries when read and reports the remaining lifetime', () => {
    let now = 1_000;
    const lru = new TtlLru<string, number>(10, 100, () => now);
    lru.set('a', 1);
    lru.set('b', 2, 500);
    lru.set('never', 3, 0);
    expect(lru.get('never')).toBeUndefined();
    expect(lru.ttl('a')).toBe(100);
    now += 100;
    expect(lru.get('a')).toBeUndefined();
    expect(lru.ttl('a')).toBe(0);
    expect(lru.get('b')).toBe(2);
    expect(lru.size).toBe(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new TtlLru(0)).toThrow(RangeError);
    expect(() => new TtlLru(1.5)).toThrow(RangeError);
  });
});
