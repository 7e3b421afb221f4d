export { createRedisClient, describeRedisTarget } from './redis.client.js';
export type { RedisClientOptions, RedisErrorLog, RedisTarget } from './redis.client.js';
