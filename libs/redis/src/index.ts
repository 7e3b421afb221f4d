export { createRedisClient, describeRedisTarget } from './redis.client.js';
export type { RedisClientOptions, RedisErrorLog, RedisTarget } from './redis.client.js';
export { REDIS_PROFILES, RedisConnections, redisConnections, redisFor } from './redis.connections.js';
export type { RedisLeaseOptions, RedisProfile } from './redis.connections.js';
