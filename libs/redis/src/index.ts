export { createRedisClient } from './redis.client.js';
export type { RedisClientOptions, RedisErrorLog } from './redis.client.js';
