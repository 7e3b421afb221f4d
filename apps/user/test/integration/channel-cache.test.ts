// Channels through the cache: two instances of the user service on one database, sharing the test Redis (their own
// key prefix). A rename through one is seen at once by its writer and, through the invalidation, by the other.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, getTestEnv, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';

let tdb: TestDatabase;
let database: Database;
let a: FastifyInstance;
let b: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase('user_channel_cache');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
  const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent', REDIS_URL: getTestEnv().redisUrl, CACHE_KEY_PREFIX: `test:user-cache:${randomUUID()}` });
  const deps = { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 }, stats: { channelStats: async () => ({ subscriberCount: 0, videoCount: 0 }) } };
  a = await buildApp(config, deps);
  b = await buildApp(config, deps);
  await Promise.all([a.ready(), b.ready()]);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.close();
  await tdb?.drop();
});

async function metric(app: FastifyInstance, line: RegExp): Promise<number> {
  const m = new RegExp(`^${line.source} (\\d+)$`, 'm').exec((await app.inject({ method: 'GET', url: '/metrics' })).body);
  return m ? Number(m[1]) : 0;
}

describe('GET /api/v1/channels/:channelId through the cache', () => {
  it('loads a channel once for both instances, is public for the CDN with an ETag, and follows a rename everywhere', async () => {
    const username = `chan${Date.now().toString(36)}`;
    const reg = await a.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, email: `${username}@example.com`, password: 'correct horse battery' } });
    expect(reg.statusCode).toBe(201);
    const { user, accessToken } = reg.json();
    const url = `/api/v1/channels/${user.channelId}`;

    const loads = () => Promise.all([a, b].map((app) => metric(app, /kinora_cache_loads_total\{class="channel",result="ok"\}/)));
    const first = await a.inject({ method: 'GET', url });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=0, s-maxage=60');
    expect(first.headers['etag']).toMatch(/^W\//);
    expect((await b.inject({ method: 'GET', url })).json().name).toBe(first.json().name);
    expect((await a.inject({ method: 'GET', url, headers: { 'if-none-match': String(first.headers['etag']) } })).statusCode).toBe(304);
    expect((await loads()).reduce((x, y) => x + y, 0)).toBe(1);

    const renamed = await a.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${accessToken}` }, payload: { name: 'Renamed channel' } });
    expect(renamed.statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url })).json().name).toBe('Renamed channel');
    await waitUntil('the other instance drops its copy', async () => (await b.inject({ method: 'GET', url })).json().name === 'Renamed channel', { timeoutMs: 5_000, intervalMs: 20 });
    expect((await a.inject({ method: 'GET', url, headers: { 'if-none-match': String(first.headers['etag']) } })).statusCode).toBe(200);
  });

  it('an unknown channel is a 404 problem that no shared cache keeps', async () => {
    const res = await a.inject({ method: 'GET', url: `/api/v1/channels/${randomUUID()}` });
    expect(res.statusCode).toBe(404);
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
