/**
 * A kind of cached data and its lifetimes. Every key belongs to one class: metrics are labelled by it, and its
 * lifetimes follow the data (architecture: metadata, sessions and feeds 5 min to 1 h in Redis; hot counters and
 * rate decisions 30 s to 5 min in process only).
 */
export interface KeyClass<T> {
  /** Metric label and key prefix: lower case letters, digits, `_` (`video`, `channel`, `feed`). */
  readonly name: string;
  /** How long a loaded value is fresh (ms). */
  readonly ttlMs: number;
  /**
   * How long this process keeps its own copy fresh (ms); default `ttlMs`. Shorter bounds how long an instance that
   * misses an invalidation (no Redis) serves an old value.
   */
  readonly memoryTtlMs?: number;
  /** After `ttlMs`, how long the old value is still served while one refresh runs (stale-while-revalidate). Default 0. */
  readonly staleMs?: number;
  /** How long "not found" (the loader answered null) is remembered (ms). Default 0: not cached. */
  readonly negativeTtlMs?: number;
  /** Whether values go to Redis too (shared by every instance). Default true; false keeps them in process only. */
  readonly shared?: boolean;
  /** Turns a value into text for Redis and for its size in process; default `JSON.stringify`. */
  readonly encode?: (value: T) => string;
  /** The inverse of `encode`; default `JSON.parse`. */
  readonly decode?: (text: string) => T;
}

const NAME = /^[a-z][a-z0-9_]*$/;

export function keyClass<T>(cls: KeyClass<T>): KeyClass<T> {
  if (!NAME.test(cls.name)) throw new RangeError(`cache key class name "${cls.name}" must match ${NAME}`);
  for (const field of ['ttlMs', 'memoryTtlMs', 'staleMs', 'negativeTtlMs'] as const) {
    const v = cls[field];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${cls.name}.${field} must be a finite number >= 0`);
  }
  if (!(cls.ttlMs > 0)) throw new RangeError(`${cls.name}.ttlMs must be > 0`);
  return Object.freeze({ ...cls });
}

const MINUTE = 60_000;

/** The lifetimes of Kinora's data classes (docs/caching.md). Services pick one and add a codec when they need it. */
export const CACHE_TTLS = Object.freeze({
  /**
   * Video and channel metadata: changes are rare and evict the key everywhere (pub/sub; an instance that may have
   * missed some drops its copies), so it lives as long in process memory as in Redis: the long tail of a catalogue
   * stays in memory instead of costing a Redis round trip once a minute per key.
   */
  metadata: { ttlMs: 5 * MINUTE, memoryTtlMs: 5 * MINUTE, staleMs: 30_000, negativeTtlMs: 10_000 },
  /** Feeds (home, trending): recomputed every few minutes; a new video shows up within the TTL. */
  feed: { ttlMs: 5 * MINUTE, memoryTtlMs: 30_000, staleMs: MINUTE },
  /** Sessions and tokens: as long as the session, at most an hour. */
  session: { ttlMs: 60 * MINUTE, memoryTtlMs: MINUTE },
  /** Hot counters and rate decisions: in process only. */
  hot: { ttlMs: 30_000, staleMs: 30_000, shared: false },
});
