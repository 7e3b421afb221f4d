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

// The recommendation module in the embedded launcher: ratings of the like module reach it through the outbox and
// the bus; channel handles and names come from the user module in-process.
let tdb: TestDatabase;
let database: Database;
let bus: InProcessEventBus;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase('kinora_reco');
  database = new Database({ primaryUrl: tdb.url });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', KINORA_SERVICES: 'user,like,recommendation', RATE_LIMIT_AUTH: 'off', RATE_LIMIT_GENERAL: 'off' });
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
const ids = (r: LightMyRequestResponse): string[] => json(r).items.map((v: { id: string }) => v.id);

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

describe('recommendations in the embedded launcher', () => {
  it('turns likes into related videos and a personal home feed', async () => {
    const suffix = Date.now().toString(36);
    const alice = await register(`alice_${suffix}`, 'Alice A.');
    const bob = await register(`bob_${suffix}`, 'Bob B.');
    const carol = await register(`carol_${suffix}`, 'Carol C.');
    const [first, second, third] = [uuidv7(), uuidv7(), uuidv7()];
    await publishVideoChanged(
      bus,
      [first, second, third].map((videoId, i) =>
        videoChangedEvent({ videoId, version: 1, channelId: alice.channelId, ownerId: alice.id, title: `Clip ${i}`, publishedAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString() }),
      ),
    );
    for (const id of [first, second, third]) {
      await waitUntil('video known to the like service', async () => (await app.inject({ method: 'GET', url: `/api/v1/videos/${id}/rating`, headers: bob.headers })).statusCode === 200, { timeoutMs: 10_000 });
      await waitUntil('video known to the recommendation service', async () => (await app.inject({ method: 'GET', url: `/api/v1/videos/${id}/related` })).statusCode === 200, { timeoutMs: 10_000 });
    }
    const rate = async (user: { headers: Record<string, string> }, id: string) =>
      expect((await app.inject({ method: 'PUT', url: `/api/v1/videos/${id}/rating`, payload: { value: 'like' }, headers: user.headers })).statusCode).toBe(200);
    await rate(carol, first);
    await rate(carol, second);
    await rate(bob, first);

    // Carol liked first and second: second is first's most related video, ahead of the channel's newest (third).
    await waitUntil('likes reach the recommendation service', async () => ids(await app.inject({ method: 'GET', url: `/api/v1/videos/${first}/related` }))[0] === second, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const related = json(await app.inject({ method: 'GET', url: `/api/v1/videos/${first}/related` }));
    expect(related.items.map((v: { id: string }) => v.id)).toEqual([second, third]);
    expect(related.items[0].channel).toEqual({ id: alice.channelId, handle: `alice_${suffix}`, name: 'Alice A.' });

    // Anonymous: popular, two likes of first ahead of one of second (so Bob's like has been applied too).
    await waitUntil('bob\u2019s like applied', async () => ids(await app.inject({ method: 'GET', url: '/api/v1/feed/home' }))[0] === first, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(ids(await app.inject({ method: 'GET', url: '/api/v1/feed/home' }))).toEqual([first, second, third]);
    // Bob liked first: his home starts with second (Carol's taste), first (already liked) comes last.
    expect(ids(await app.inject({ method: 'GET', url: '/api/v1/feed/home', headers: bob.headers }))).toEqual([second, third, first]);
  }, 60_000);
});
