export type { Cache, CacheLayer, CacheResult, CacheStats, Loader } from './cache.js';
export { CACHE_TTLS, keyClass } from './key-class.js';
export type { KeyClass } from './key-class.js';
export { LayeredCache } from './layered.cache.js';
export type { CacheLogger, LayeredCacheOptions } from './layered.cache.js';
export { MemoryLru } from './memory.lru.js';
export type { MemoryEntry, MemoryLruOptions } from './memory.lru.js';
