// The all-in-one process with REDIS_URL set opens a small, fixed set of Redis connections, whatever number of modules
// use Redis: the request-path users (gateway rate limits, the cache, analytics' view de-duplication) share one
// fail-fast client, the cache's invalidations one subscriber, realtime its queued client, and the socket.io streams
// adapter its two dedicated connections (the blocking stream reader and its pub/sub client). Counted with CLIENT LIST
// on a Redis of this file's own, by the connection names (`kinora-<profile>`).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { redisConnections } from '@kinora/redis';
import { createTestDatabase, startRedis, waitUntil, type RedisHandle, type TestDatabase, redisConnectionNames } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

let tdb: TestDatabase;
let database: Database;
let server: RedisHandle;
let admin: Redis;
let app: FastifyInstance | undefined;

/** Connection names on the server, `kinora-*` only (the admin client has none). */
const names = (): Promise<string[]> => redisConnectionNames(admin, 'kinora-');

const EXPECTED = ['kinora-blocking-realtime-dup', 'kinora-blocking-realtime-dup', 'kinora-fail-fast', 'kinora-queued', 'kinora-subscriber'];

beforeAll(async () => {
  [tdb, server] = await Promise.all([createTestDatabase('kinora_redis_conns'), startRedis()]);
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  admin?.disconnect();
  await database?.close();
  await tdb?.drop();
  await server?.stop();
});

describe('all-in-one Redis connections', () => {
  it('opens one connection per profile (two for the socket.io adapter), and closes them all with the app', async () => {
    const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', REDIS_URL: server.url, KINORA_SERVICES: 'user,video,analytics,realtime,comment,like' });
    app = await buildKinora(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
    await app.ready();
    await waitUntil('connections up', async () => JSON.stringify(await names()) === JSON.stringify(EXPECTED), { timeoutMs: 10_000, intervalMs: 50 }).catch(async () => {
      expect(await names()).toEqual(EXPECTED);
    });
    const byProfile = Object.fromEntries(redisConnections.stats().filter((s) => s.profile !== 'blocking').map((s) => [s.profile, [...s.users].sort()]));
    expect(byProfile).toEqual({
      'fail-fast': ['analytics-views', 'gateway-rate-limit', 'kinora-cache'],
      queued: ['realtime'],
      subscriber: ['kinora-cache'],
    });

    // The request path uses the shared client: a rate-limited request counts in this Redis.
    const res = await app.inject({ method: 'GET', url: '/api/v1/videos' });
    expect(res.headers['x-ratelimit-limit']).toBeDefined();
    expect((await admin.keys('kinora:rl:*')).length).toBeGreaterThan(0);

    await app.close();
    app = undefined;
    await waitUntil('connections closed', async () => (await names()).length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    expect(redisConnections.size).toBe(0);
  }, 60_000);
});
