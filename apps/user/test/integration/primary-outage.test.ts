// The user service while its PostgreSQL primary is down (a dedicated primary + streaming replica, SIGKILLed): the
// signing keys are read from the replica, so bearer tokens keep verifying after the key cache expired (what other
// services do when they call it with the caller's token, e.g. the video service looking up a channel) and the JWKS
// keeps answering; writes answer 503 problems with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, sleep, startPostgres, waitForReplica, waitUntil, type PostgresHandle } from '@kinora/testing';
import { buildApp } from '../../src/app.js';

const KEY_CACHE_MS = 200;
const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', ACCESS_TOKEN_TTL_SEC: '600', LOG_LEVEL: 'silent' });

let pgh: PostgresHandle;
let database: Database;
let app: FastifyInstance;

beforeAll(async () => {
  pgh = await startPostgres();
  const tdb = await createTestDatabase('useroutage', { primaryUrl: pgh.url, replicaUrl: pgh.replicaUrl });
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], healthIntervalMs: 50 });
  app = await buildApp(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 }, keyCacheMs: KEY_CACHE_MS });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  await pgh?.stop();
}, 60_000);

describe('user service with its primary stopped', () => {
  it('verifies bearer tokens and serves the JWKS from the replica; writes answer 503 with Retry-After', async () => {
    const username = `outage${Date.now().toString(36)}`;
    const reg = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username, email: `${username}@example.com`, password: 'correct horse battery' },
    });
    expect(reg.statusCode).toBe(201);
    const authorization = `Bearer ${reg.json().accessToken as string}`;
    expect((await app.inject({ url: '/api/v1/users/me', headers: { authorization } })).statusCode).toBe(200);
    await waitForReplica(pgh.url, pgh.replicaUrl);

    await pgh.stopPrimary('SIGKILL');
    await waitUntil('the primary is seen down', async () => !database.primaryAvailable, { timeoutMs: 10_000, intervalMs: 20 });
    await sleep(KEY_CACHE_MS * 2); // the key cache is due for a refresh: it must come from the replica now

    const me = await app.inject({ url: '/api/v1/users/me', headers: { authorization } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username, channelId: reg.json().user.channelId });
    const jwks = await app.inject({ url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    expect(jwks.json().keys.length).toBeGreaterThan(0);

    const write = await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: { authorization }, payload: { displayName: 'During the outage' } });
    expect(write.statusCode).toBe(503);
    expect(write.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(write.headers['retry-after']).toBeDefined();

    await pgh.startPrimary();
    await waitUntil('the primary is back', async () => database.primaryAvailable, { timeoutMs: 30_000, intervalMs: 50 });
    const back = await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: { authorization }, payload: { displayName: 'After the outage' } });
    expect(back.statusCode).toBe(200);
  }, 120_000);
});
