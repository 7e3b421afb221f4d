import type { KeyClass } from './key-class.js';

/** Which layer answered, for metrics. */
export type CacheLayer = 'memory' | 'redis';
/** `hit`: fresh value; `stale`: old value served while one refresh runs; `miss`: not there. */
export type CacheResult = 'hit' | 'miss' | 'stale';

/** Loads a value the cache does not hold; `null` (or undefined) means "does not exist" (negative caching). */
export type Loader<T> = () => Promise<T | null | undefined>;

/**
 * The cache port. Values handed out are shared between callers: treat them as read-only.
 * A `get` never fails because a cache layer is down: it falls back to the next layer and, last, to the loader;
 * only the loader's own error reaches the caller (and not even that while a stale value may still be served).
 */
export interface Cache {
  /** The value of `key` in `cls`: from process memory, else Redis, else `load()` (one load per key at a time). */
  get<T>(cls: KeyClass<T>, key: string, load: Loader<T>): Promise<T | null>;
  /**
   * The value of `key` when this process holds it fresh (counted as a memory hit), at once and without a promise;
   * `undefined` otherwise (then call `get`). `null` is a remembered "does not exist". For hot paths that answer
   * synchronously when they can.
   */
  peek<T>(cls: KeyClass<T>, key: string): T | null | undefined;
  /** Forgets `key` here, in Redis and, through Redis pub/sub, on every other instance. Never throws. */
  invalidate<T>(cls: KeyClass<T>, key: string): Promise<void>;
  /** Closes its Redis connections (the caller's clients stay open). */
  close(): Promise<void>;
}

/** Counts since start, by class, layer and result (what `/metrics` exports as `kinora_cache_requests_total`). */
export interface CacheStats {
  requests: Record<string, Record<CacheLayer, Record<CacheResult, number>>>;
  loads: Record<string, { ok: number; not_found: number; error: number }>;
}
