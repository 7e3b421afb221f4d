/** One value held in process, with when it stops being fresh and when it may no longer be served at all. */
export interface MemoryEntry<V> {
  value: V;
  /** Approximate bytes it holds (counted against `maxBytes`). */
  size: number;
  /** Until then (ms, the cache's clock) it is served as is. */
  freshUntil: number;
  /** Until then it may be served stale while a refresh runs; after, it is gone. */
  staleUntil: number;
  /** When it last moved to the recent end (the LRU's own counter; set by the LRU). */
  tick?: number;
}

export interface MemoryLruOptions {
  maxEntries: number;
  maxBytes: number;
  now?: () => number;
}

/**
 * The in-process layer: a map bounded by entries and by bytes, least recently used first out. Map insertion order
 * is the recency order. A hit moves the entry to the recent end only when a quarter of the capacity was inserted or
 * moved since it last moved: a hot key costs one lookup per hit instead of a delete and an insert, and can still
 * not be the next one out. An entry past `staleUntil` is dropped when read; one larger than `maxBytes` alone is not
 * kept.
 */
export class MemoryLru<V> {
  private readonly map = new Map<string, MemoryEntry<V>>();
  private used = 0;
  private tick = 0;
  private readonly moveAfter: number;
  private readonly now: () => number;

  constructor(readonly opts: MemoryLruOptions) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    if (!(opts.maxBytes > 0)) throw new RangeError('maxBytes must be positive');
    this.now = opts.now ?? Date.now;
    this.moveAfter = Math.floor(opts.maxEntries / 4);
  }

  get size(): number {
    return this.map.size;
  }

  /** Bytes held (the sum of the entries' sizes). */
  get bytes(): number {
    return this.used;
  }

  get(key: string): MemoryEntry<V> | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.staleUntil <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    if (this.tick - (entry.tick ?? 0) > this.moveAfter) {
      entry.tick = ++this.tick;
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: MemoryEntry<V>): void {
    const old = this.map.get(key);
    if (old) this.remove(key, old);
    if (entry.size > this.opts.maxBytes || entry.staleUntil <= this.now()) return;
    entry.tick = ++this.tick;
    this.map.set(key, entry);
    this.used += entry.size;
    while (this.map.size > this.opts.maxEntries || this.used > this.opts.maxBytes) {
      const oldest = this.map.entries().next();
      if (oldest.done) break;
      this.remove(oldest.value[0], oldest.value[1]);
    }
  }

  delete(key: string): boolean {
    const entry = this.map.get(key);
    if (!entry) return false;
    this.remove(key, entry);
    return true;
  }

  /** Drops every key that starts with `prefix` (all of them for ''). */
  clear(prefix = ''): void {
    if (prefix === '') {
      this.map.clear();
      this.used = 0;
      return;
    }
    for (const [key, entry] of this.map) if (key.startsWith(prefix)) this.remove(key, entry);
  }

  private remove(key: string, entry: MemoryEntry<V>): void {
    this.map.delete(key);
    this.used -= entry.size;
  }
}
