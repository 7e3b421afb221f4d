// The video service while its PostgreSQL primary is down (a dedicated primary + streaming replica, SIGKILLed):
// creation is refused at once with the write-refused 503 problem, before asking the user service for the caller's
// channel (that lookup would only delay a refusal, and its failures are not the caller's business); reads of
// existing videos keep answering from the replica.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { startPostgres, waitForReplica, waitUntil, type PostgresHandle } from '@kinora/testing';
import type { ChannelDirectory } from '../../src/index.js';
import { buildApp } from '../../src/index.js';
import { silentLogger, startVideoTestEnv, testUsers, type TestUser, type TestUsers, type VideoTestEnv } from './video-harness.js';

let pgh: PostgresHandle;
let env: VideoTestEnv;
let users: TestUsers;
let app: FastifyInstance;
let owner: TestUser;
let lookups = 0;

beforeAll(async () => {
  pgh = await startPostgres();
  env = await startVideoTestEnv('video_outage', { primaryUrl: pgh.url, replicaUrl: pgh.replicaUrl });
  users = await testUsers();
  owner = await users.register('outage');
  // The test users' directory, counting its lookups.
  const channels: ChannelDirectory = {
    channelOf: async (p, request) => {
      lookups++;
      return users.channels.channelOf(p, request);
    },
  };
  app = await buildApp(env.config(), { database: env.database, logger: silentLogger, store: env.store, verifier: users.verifier, channels });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await pgh?.startPrimary().catch(() => {});
  await env?.close();
  await pgh?.stop();
}, 60_000);

describe('video service with its primary stopped', () => {
  it('refuses creation at once without a channel lookup; reads answer from the replica', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: owner.auth, payload: { title: 'Before the outage' } });
    expect(created.statusCode).toBe(201);
    expect(lookups).toBe(1);
    const id = created.json().id as string;
    await waitForReplica(pgh.url, pgh.replicaUrl);

    await pgh.stopPrimary('SIGKILL');
    await waitUntil('the primary is seen down', async () => !env.database.primaryAvailable, { timeoutMs: 10_000, intervalMs: 20 });

    const refused = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: owner.auth, payload: { title: 'During the outage' } });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(lookups).toBe(1);

    const read = await app.inject({ method: 'GET', url: `/api/v1/videos/${id}`, headers: owner.auth });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id, title: 'Before the outage' });

    await pgh.startPrimary();
    await waitUntil('the primary is back', async () => env.database.primaryAvailable, { timeoutMs: 30_000, intervalMs: 50 });
    const after = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: owner.auth, payload: { title: 'After the outage' } });
    expect(after.statusCode).toBe(201);
    expect(lookups).toBe(2);
  }, 120_000);
});
