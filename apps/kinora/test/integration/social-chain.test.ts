import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { loadConfig } from '@kinora/config';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { createTestDatabase, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

// The social layer mounted in the embedded launcher: identities and channels from the user module in-process,
// comments → outbox → bus → reply notifications, subscriptions checked against real channels.
let tdb: TestDatabase;
let database: Database;
let bus: InProcessEventBus;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase('kinora_social');
  database = new Database({ primaryUrl: tdb.url });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', KINORA_SERVICES: 'user,comment,like,subscription', RATE_LIMIT_AUTH: 'off', RATE_LIMIT_GENERAL: 'off' });
  app = await buildKinora(config, { database, bus, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await database?.close();
  await tdb?.drop();
});

const json = (r: LightMyRequestResponse): any => JSON.parse(r.body);

async function register(username: string, displayName: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { username, email: `${username}@example.com`, password: 'correct horse battery', displayName },
  });
  expect(res.statusCode).toBe(201);
  const body = json(res);
  return { id: body.user.id as string, channelId: body.user.channelId as string, headers: { authorization: `Bearer ${body.accessToken}` } };
}

describe('social layer in the embedded launcher', () => {
  it('serves comments, ratings, subscriptions, the feed and notifications end to end', async () => {
    const suffix = Date.now().toString(36);
    const alice = await register(`alice_${suffix}`, 'Alice A.');
    const bob = await register(`bob_${suffix}`, 'Bob B.');

    // Subscriptions are checked against the user module's channels.
    expect((await app.inject({ method: 'PUT', url: `/api/v1/channels/${alice.channelId}/subscription`, headers: bob.headers })).statusCode).toBe(204);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/channels/${bob.channelId}/subscription`, headers: bob.headers })).statusCode).toBe(400);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/channels/${uuidv7()}/subscription`, headers: bob.headers })).statusCode).toBe(404);
    const mine = json(await app.inject({ method: 'GET', url: '/api/v1/users/me/subscriptions', headers: bob.headers }));
    expect(mine.items).toEqual([expect.objectContaining({ id: alice.channelId, handle: `alice_${suffix}`, name: 'Alice A.', ownerId: alice.id })]);

    // Alice's video goes live (the video service would publish this).
    const videoId = uuidv7();
    await publishVideoChanged(bus, [
      videoChangedEvent({ videoId, version: 1, channelId: alice.channelId, ownerId: alice.id, title: 'Hello', publishedAt: new Date().toISOString() }),
    ]);
    await waitUntil('video known to the comment service', async () => (await app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}/comments` })).statusCode === 200, {
      timeoutMs: 10_000,
    });
    await waitUntil('video known to the like service', async () => (await app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}/rating`, headers: bob.headers })).statusCode === 200, {
      timeoutMs: 10_000,
    });
    expect(json(await app.inject({ method: 'PUT', url: `/api/v1/videos/${videoId}/rating`, payload: { value: 'like' }, headers: bob.headers }))).toEqual({ value: 'like' });

    // Bob comments (his display name comes from the user module), Alice replies: Bob is notified.
    const comment = json(await app.inject({ method: 'POST', url: `/api/v1/videos/${videoId}/comments`, payload: { text: 'Great video' }, headers: bob.headers }));
    expect(comment.author).toEqual({ id: bob.id, username: `bob_${suffix}`, displayName: 'Bob B.' });
    const reply = await app.inject({ method: 'POST', url: `/api/v1/videos/${videoId}/comments`, payload: { text: 'Thanks!', parentId: comment.id }, headers: alice.headers });
    expect(reply.statusCode).toBe(201);

    const kinds = await waitUntil(
      'both notifications',
      async () => {
        const items = json(await app.inject({ method: 'GET', url: '/api/v1/notifications', headers: bob.headers })).items as Array<{ kind: string }>;
        return items.length >= 2 ? items.map((n) => n.kind).sort() : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(kinds).toEqual(['comment.reply', 'video.published']);
    const feed = json(await app.inject({ method: 'GET', url: '/api/v1/feed/subscriptions', headers: bob.headers }));
    expect(feed.items).toEqual([expect.objectContaining({ id: videoId, title: 'Hello', channel: { id: alice.channelId, handle: `alice_${suffix}`, name: 'Alice A.' } })]);

    // The routes are in the platform's OpenAPI document.
    const doc = json(await app.inject({ method: 'GET', url: '/api/v1/openapi.json' }));
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
    for (const op of [
      'PUT /api/v1/videos/{id}/rating',
      'GET /api/v1/videos/{id}/rating',
      'GET /api/v1/videos/{id}/comments',
      'POST /api/v1/videos/{id}/comments',
      'GET /api/v1/comments/{id}/replies',
      'PATCH /api/v1/comments/{id}',
      'DELETE /api/v1/comments/{id}',
      'PUT /api/v1/comments/{id}/rating',
      'PUT /api/v1/channels/{channelId}/subscription',
      'DELETE /api/v1/channels/{channelId}/subscription',
      'GET /api/v1/users/me/subscriptions',
      'GET /api/v1/feed/subscriptions',
      'GET /api/v1/notifications',
      'POST /api/v1/notifications/read',
    ]) {
      expect(ops).toContain(op);
    }
  });
});
