import type { FastifyInstance } from 'fastify';
import { LayeredCache } from '@kinora/cache';
import type { Config } from '@kinora/config';
import type { Logger } from '@kinora/observability';

/**
 * The process's one {@link LayeredCache}: in process memory, over Redis when `REDIS_URL` (or Sentinels) is set, with
 * its `kinora_cache_*` series in the app's `/metrics`. Every module of the process shares it (the all-in-one mode
 * mounts several); it closes with `app`.
 */
export function createCache(app: FastifyInstance, opts: { config: Pick<Config, 'redis' | 'cache'>; logger: Logger; service: string }): LayeredCache {
  const { keyPrefix, maxEntries, maxBytes } = opts.config.cache;
  const cache = new LayeredCache({ redis: opts.config.redis, name: opts.service, prefix: keyPrefix, maxEntries, maxBytes, registry: app.metrics, logger: opts.logger });
  app.addHook('onClose', async () => cache.close());
  return cache;
}
