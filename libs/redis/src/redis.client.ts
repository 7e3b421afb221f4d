import { Redis, type RedisOptions } from 'ioredis';

/** Where connection errors go (a pino logger fits). */
export interface RedisErrorLog {
  warn(obj: object, msg: string): void;
}

export interface RedisClientOptions extends Omit<RedisOptions, 'connectionName'> {
  /** Who connects: the connection is named `kinora-<name>` (`CLIENT LIST` shows which process holds it). */
  name: string;
  /**
   * Connection errors are logged here at warn (message only: ioredis reports every failed reconnect, with a stack
   * that says nothing new). Without it ioredis prints unhandled error events to stderr.
   */
  logger?: RedisErrorLog;
  /** At most one error line per interval (ms) while Redis stays away; default 0: every error. */
  errorLogIntervalMs?: number;
}

/**
 * The one way Kinora processes open a Redis client: the shared defaults (connection name, error logging) and the
 * caller's ioredis options passed through unchanged (`lazyConnect`, `maxRetriesPerRequest`, `commandTimeout`,
 * `enableOfflineQueue`, `retryStrategy`, ...), since each use wants different failure behaviour: the gateway's
 * rate limits fail fast, view de-duplication tolerates a short wait, realtime retries.
 * The caller owns the client (`quit()`/`disconnect()` when its app closes).
 */
export function createRedisClient(url: string, opts: RedisClientOptions): Redis {
  const { name, logger, errorLogIntervalMs = 0, ...options } = opts;
  const client = new Redis(url, { ...options, connectionName: `kinora-${name}` });
  if (logger) {
    let lastLogged = -Infinity;
    client.on('error', (err: Error) => {
      const now = Date.now();
      if (now - lastLogged < errorLogIntervalMs) return;
      lastLogged = now;
      logger.warn({ err: { message: err.message }, redis: `kinora-${name}` }, `${name} Redis connection error`);
    });
  }
  return client;
}
