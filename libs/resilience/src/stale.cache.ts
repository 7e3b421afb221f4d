import { TtlLru } from './ttl-lru.js';

/** A value served again after its upstream failed, with how old it is. */
export interface StaleHit<V> {
  value: V;
  /** Seconds since it was stored (for the `Age` header). */
  ageSec: number;
}

/**
 * stale-if-error: remembers the latest good answer per key for `maxAgeMs`, so a read can be answered while its
 * upstream is down. Bounded (LRU); entries larger than `maxEntryBytes` are not kept.
 */
export class StaleCache<V extends { size: number }> {
  private readonly lru: TtlLru<string, { value: V; storedAt: number }>;

  constructor(
    readonly maxAgeMs: number,
    maxEntries = 1000,
    readonly maxEntryBytes = 256 * 1024,
    private readonly now: () => number = Date.now,
  ) {
    this.lru = new TtlLru(maxEntries, maxAgeMs, now);
  }

  get enabled(): boolean {
    return this.maxAgeMs > 0;
  }

  store(key: string, value: V): void {
    if (!this.enabled || value.size > this.maxEntryBytes) return;
    this.lru.set(key, { value, storedAt: this.now() });
  }

  recall(key: string): StaleHit<V> | undefined {
    if (!this.enabled) return undefined;
    const hit = this.lru.get(key);
    if (!hit) return undefined;
    return { value: hit.value, ageSec: Math.floor((this.now() - hit.storedAt) / 1000) };
  }

  get size(): number {
    return this.lru.size;
  }
}
