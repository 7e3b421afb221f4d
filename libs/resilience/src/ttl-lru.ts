/**
 * A bounded map whose entries expire: least recently used entries go first when it is full, expired ones are
 * dropped when read. Map insertion order is the recency order (a hit moves the entry to the end).
 */
export class TtlLru<K, V> {
  private readonly map = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    readonly maxEntries: number,
    /** Default lifetime of an entry (ms) when `set` is not given one. */
    readonly defaultTtlMs: number = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
    /**
     * Move an entry to the most recent end on every hit (true LRU). Off, eviction is first-in first-out, and a hit
     * costs one map lookup instead of three (the gateway's token cache, hit on every request, turns it off).
     */
    private readonly refreshOnGet = true,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
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
    if (this.refreshOnGet) {
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
    this.map.set(key, { value, expiresAt: this.now() + ttlMs });
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
