import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/index.js';
import { fakeTranscode, silentLogger, startVideoTestEnv, testUsers, waitFor, type TestUser, type TestUsers, type VideoTestEnv } from './video-harness.js';

// GET /api/v1/users/me/videos: the owner's studio list, every state and visibility, nobody else's videos.
let env: VideoTestEnv;
let users: TestUsers;
let app: FastifyInstance;
let owner: TestUser;
let other: TestUser;

beforeAll(async () => {
  env = await startVideoTestEnv('video_mine');
  users = await testUsers();
  app = await buildApp(env.config(), { database: env.database, logger: silentLogger, store: env.store, verifier: users.verifier, channels: users.channels });
  await app.ready();
  owner = await users.register('studio');
  other = await users.register('someone');
});

afterAll(async () => {
  await app?.close();
  await env?.close();
});

async function create(user: TestUser, payload: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: user.auth, payload });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

const mine = (user: TestUser | undefined, query = '') => app.inject({ method: 'GET', url: `/api/v1/users/me/videos${query}`, headers: user ? user.auth : {} });

describe('GET /api/v1/users/me/videos', () => {
  it('lists the caller’s own videos in every state and visibility, newest first, and no one else’s', async () => {
    const privateId = await create(owner, { title: 'Private draft', visibility: 'private' });
    const unlistedId = await create(owner, { title: 'Unlisted', visibility: 'unlisted' });
    const publicId = await create(owner, { title: 'Public one' });
    await create(other, { title: 'Not yours' });
    // The public one becomes ready (upload + transcoder report): the list shows it with its new state.
    const up = await app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...owner.auth, 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `videoId ${Buffer.from(publicId).toString('base64')}` },
    });
    expect(up.statusCode).toBe(201);
    const patch = await app.inject({
      method: 'PATCH',
      url: `/api/v1/uploads/${publicId}`,
      headers: { ...owner.auth, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      payload: Buffer.from('abc'),
    });
    expect(patch.statusCode).toBe(204);
    await fakeTranscode(env, publicId);
    await waitFor('ready', async () => (await app.inject({ method: 'GET', url: `/api/v1/videos/${publicId}`, headers: owner.auth })).json().state === 'ready');

    const res = await mine(owner);
    expect(res.statusCode).toBe(200);
    const page = res.json() as { items: Array<{ id: string; state: string; visibility: string; uploadUrl?: string }>; nextCursor: string | null };
    expect(page.items.map((v) => v.id)).toEqual([publicId, unlistedId, privateId]);
    expect(page.items.map((v) => [v.state, v.visibility])).toEqual([
      ['ready', 'public'],
      ['awaiting_upload', 'unlisted'],
      ['awaiting_upload', 'private'],
    ]);
    // Owner view: the upload URL of an unfinished video is there.
    expect(page.items[2]!.uploadUrl).toMatch(/\/api\/v1\/uploads$/);
    expect(page.nextCursor).toBeNull();

    // The other user sees only theirs; the public list still holds only the ready public video.
    const theirs = (await mine(other)).json() as { items: Array<{ title: string }> };
    expect(theirs.items.map((v) => v.title)).toEqual(['Not yours']);
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/videos' })).json() as { items: Array<{ id: string }> };
    expect(listed.items.map((v) => v.id)).toEqual([publicId]);
  });

  it('pages with a keyset cursor and leaves deleted videos out', async () => {
    const u = await users.register('pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await create(u, { title: `Video ${i}`, visibility: 'private' }));
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/videos/${ids[2]}`, headers: u.auth })).statusCode).toBe(204);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await mine(u, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: Array<{ id: string }>; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((v) => v.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ids[4], ids[3], ids[1], ids[0]]);
  });

  it('answers problems: 401 anonymous, 400 for a bad cursor or limit', async () => {
    const anon = await mine(undefined);
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['content-type']).toMatch(/application\/problem\+json/);
    const badCursor = await mine(owner, '?cursor=not-a-cursor');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().errors[0].field).toBe('/query/cursor');
    expect((await mine(owner, '?limit=0')).statusCode).toBe(400);
  });
});
