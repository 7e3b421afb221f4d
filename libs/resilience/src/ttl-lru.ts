interface Held<V> {
  value: V;
  expiresAt: number;
  /** The map's insertion counter when the entry last moved to the recent end. */
  tick: number;
}

/**
 * A bounded map whose entries expire: least recently used entries go first when it is full, expired ones are
 * dropped when read. Map insertion order is the recency order. A hit moves the entry to the recent end only when a
 * quarter of the capacity was inserted or moved since it last moved (as `MemoryLru` in libs/cache does): a hot key
 * costs one map lookup per hit instead of a delete and an insert (on a map of 100,000 entries those two are most of
 * a read's cost), and it still cannot be the next one out.
 */
export class TtlLru<K, V> {
  private readonly map = new Map<K, Held<V>>();
  private tick = 0;
  private readonly moveAfter: number;

  constructor(
    readonly maxEntries: number,
    /** Default lifetime of an entry (ms) when `set` is not given one. */
    readonly defaultTtlMs: number = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
    /**
     * Move an entry towards the recent end on hits (LRU, approximated as above). Off, eviction is first-in first-out
     * (the gateway's token cache, whose entries expire with their tokens anyway).
     */
    private readonly refreshOnGet = true,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.moveAfter = Math.floor(maxEntries / 4);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    if (this.refreshOnGet && this.tick - entry.tick > this.moveAfter) {
      entry.tick = ++this.tick;
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry.value;
  }

  /** The remaining lifetime of an entry (ms), without touching its recency; 0 when absent or expired. */
  ttl(key: K): number {
    const entry = this.map.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.expiresAt - this.now());
  }

  set(key: K, value: V, ttlMs: number = this.defaultTtlMs): void {
    if (!(ttlMs > 0)) return;
    this.map.delete(key);
    this.map.set(key, { value, expiresAt: this.now() + ttlMs, tick: ++this.tick });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
