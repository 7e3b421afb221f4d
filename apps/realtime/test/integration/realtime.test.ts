import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import { SOCIAL_EVENT_TYPES, TOPICS, type Notification, type Principal } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createEvent, createInProcessEventBus, eventsMigrationsDir, toEventMessage, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, getTestEnv, waitForReplica, type TestDatabase } from '@kinora/testing';
import { buildApp, type RealtimeModule, type VideoAccessInfo, type VideoCounters } from '../../src/index.js';
import { ask, AUDIENCE, closeClients, collect, connect, createSigner, ISSUER, newUser, sleep, until, type Client } from '../support/realtime.harness.js';

// Two realtime instances (two Fastify servers with their own pools, buses and Redis clients, as two pods would have)
// on one database and one Redis, with real socket.io clients.

type App = FastifyInstance & { realtime: RealtimeModule };
interface Instance {
  app: App;
  url: string;
  database: Database;
  bus: InProcessEventBus;
  redis: Redis;
}

const logger = createLogger({ level: 'silent' });
const config = loadConfig({ PUBLIC_URL: ISSUER, LOG_LEVEL: 'silent' });
const prefix = `rt-test:${randomUUID().slice(0, 8)}:`;
const videos = new Map<string, VideoAccessInfo>();
const counters = new Map<string, VideoCounters>();
let signer: Awaited<ReturnType<typeof createSigner>>;
/** A second signing key, listed by the key source once `rotatedListed` (a key rotation), unless `keysDown`. */
let rotated: Awaited<ReturnType<typeof createSigner>>;
let rotatedListed = false;
let keysDown = false;
let tdb: TestDatabase;
let A: Instance;
let B: Instance;

async function startInstance(name: string, opts: { withoutRedis?: boolean; keysCooldownMs?: number } = {}): Promise<Instance> {
  const database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], poolMax: 10 });
  const bus = createInProcessEventBus({ pool: database.primary, logger, heartbeatIntervalMs: 500, pollIntervalMs: 200 });
  const redis = new Redis(getTestEnv().redisUrl, { maxRetriesPerRequest: 1, lazyConnect: opts.withoutRedis ?? false });
  const verifier = new TokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetchJwks: async () => {
      if (keysDown) throw new Error('the user service does not answer');
      return { keys: [...signer.jwks.keys, ...(rotatedListed ? rotated.jwks.keys : [])] };
    },
    ...(opts.keysCooldownMs !== undefined ? { cooldownMs: opts.keysCooldownMs } : {}),
  });
  const app = await buildApp(config, {
    database,
    logger,
    bus,
    verifier,
    ...(opts.withoutRedis ? {} : { redis }),
    videos: async (id) => videos.get(id) ?? null,
    counts: async (ids) => new Map(ids.filter((id) => counters.has(id)).map((id) => [id, counters.get(id)!])),
    settings: { keyPrefix: prefix, instanceId: name, adapterBlockMs: 500, videoCacheMs: 100 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return { app, url: `http://127.0.0.1:${port}`, database, bus, redis };
}

async function stopInstance(i: Instance | undefined): Promise<void> {
  if (!i) return;
  await i.app.close();
  await i.bus.close();
  await i.database.close();
  i.redis.disconnect();
}

function video(owner: Principal, over: Partial<VideoAccessInfo> = {}): string {
  const id = randomUUID();
  videos.set(id, { id, ownerId: owner.userId, visibility: 'public', state: 'ready', deleted: false, ...over });
  return id;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  signer = await createSigner();
  rotated = await createSigner();
  tdb = await createTestDatabase('realtime');
  const pool = new Database({ primaryUrl: tdb.url });
  await runMigrations(pool.primary, { schema: 'events', dir: eventsMigrationsDir });
  await pool.close();
  A = await startInstance('A');
  B = await startInstance('B');
  await Promise.all([A.app.realtime.server()!.waitAdapter(), B.app.realtime.server()!.waitAdapter()]);
}, 60_000);

afterEach(() => closeClients());

afterAll(async () => {
  closeClients();
  await stopInstance(A);
  await stopInstance(B);
  await tdb?.drop();
});

describe('handshake', () => {
  it('lets anonymous clients connect and refuses an invalid or expired token with its code', async () => {
    const anon = await connect(A.url);
    expect(anon.connected).toBe(true);
    await expect(connect(A.url, 'not.a.token')).rejects.toMatchObject({ message: 'INVALID_TOKEN', data: { code: 'INVALID_TOKEN' } });
    const expired = await signer.sign(newUser(), 0, { expSec: Math.floor(Date.now() / 1000) - 120 });
    await expect(connect(B.url, expired)).rejects.toMatchObject({ message: 'TOKEN_EXPIRED', data: { code: 'TOKEN_EXPIRED' } });
  });

  it('answers SERVICE_UNAVAILABLE with retryAfterMs, not INVALID_TOKEN, when the signing keys cannot be fetched', async () => {
    const C = await startInstance('C', { keysCooldownMs: 0 });
    try {
      const u = newUser();
      const live = await connect(C.url, await signer.sign(u)); // C knows the current key
      expect(live.connected).toBe(true);
      // The keys rotate while the key source is down: C cannot learn the new one.
      rotatedListed = true;
      keysDown = true;
      await expect(connect(C.url, await rotated.sign(newUser()))).rejects.toMatchObject({
        message: 'SERVICE_UNAVAILABLE',
        data: { code: 'SERVICE_UNAVAILABLE', retryAfterMs: 1000 },
      });
      expect(await ask(live, 'auth:refresh', { token: await rotated.sign(u) })).toMatchObject({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', retryAfterMs: 1000 } });
      expect(live.connected).toBe(true);
      // Tokens of the key it knows are still checked as usual, good and bad.
      expect((await connect(C.url, await signer.sign(newUser()))).connected).toBe(true);
      await expect(connect(C.url, 'not.a.token')).rejects.toMatchObject({ data: { code: 'INVALID_TOKEN' } });
      // Back: the rotated key is fetched (after the one-second pause between failed fetches) and accepted.
      keysDown = false;
      await sleep(1_100);
      expect((await connect(C.url, await rotated.sign(newUser()))).connected).toBe(true);
    } finally {
      keysDown = false;
      rotatedListed = false;
      await stopInstance(C);
    }
  });

  it('tells a live connection when its token expires, then disconnects it', async () => {
    const u = newUser();
    const token = await signer.sign(u, 0, { expSec: Math.floor(Date.now() / 1000) + 2 });
    const c = await connect(A.url, token);
    const expired = collect(c, 'auth:expired');
    const reason = await new Promise<string>((resolve) => c.on('disconnect', (r) => resolve(r)));
    expect(expired).toEqual([{ code: 'TOKEN_EXPIRED', message: expect.any(String) }]);
    expect(reason).toBe('io server disconnect'); // the client does not reconnect on its own with the stale token
  });

  it('auth:refresh replaces the token of the same user and keeps the connection', async () => {
    const u = newUser();
    const c = await connect(B.url, await signer.sign(u, 0, { expSec: Math.floor(Date.now() / 1000) + 2 }));
    const expired = collect(c, 'auth:expired');
    expect(await ask(c, 'auth:refresh', { token: await signer.sign(newUser()) })).toMatchObject({ ok: false, error: { code: 'INVALID_TOKEN' } });
    const res = await ask(c, 'auth:refresh', { token: await signer.sign(u, 600) });
    expect(res).toEqual({ ok: true, expiresAt: expect.any(String) });
    await sleep(2600);
    expect(c.connected).toBe(true);
    expect(expired).toEqual([]);
    const anon = await connect(B.url);
    expect(await ask(anon, 'auth:refresh', { token: await signer.sign(u) })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });
});

describe('video rooms and counts', () => {
  it('answers video:join with the counts, and refuses videos the client cannot see', async () => {
    const owner = newUser('owner');
    const v = video(owner);
    counters.set(v, { views: 7, likes: 3, dislikes: 1, comments: 2 });
    const c = await connect(A.url);
    expect(await ask(c, 'video:join', { videoId: v })).toEqual({ ok: true, counts: { videoId: v, views: 7, likes: 3, dislikes: 1, comments: 2, watching: 1 } });
    expect(await ask(c, 'video:join', { videoId: randomUUID() })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    const hidden = video(owner, { visibility: 'private' });
    const processing = video(owner, { state: 'processing' });
    expect(await ask(c, 'video:join', { videoId: hidden })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await ask(c, 'video:join', { videoId: processing })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const ownerClient = await connect(B.url, await signer.sign(owner));
    expect(await ask(ownerClient, 'video:join', { videoId: hidden })).toMatchObject({ ok: true });
    expect(await ask(ownerClient, 'video:leave', { videoId: hidden })).toEqual({ ok: true });
  });

  it('counts watchers across instances and pushes counter changes within the poll interval', async () => {
    const v = video(newUser());
    counters.set(v, { views: 0, likes: 0, dislikes: 0, comments: 0 });
    const a = await connect(A.url);
    const b = await connect(B.url);
    const onA = collect(a, 'video:counts');
    const onB = collect(b, 'video:counts');
    await ask(a, 'video:join', { videoId: v });
    await ask(b, 'video:join', { videoId: v });
    await until('watching 2 on both', () => onA.some((x) => x.watching === 2) && onB.some((x) => x.watching === 2), 4000);

    counters.set(v, { views: 41, likes: 5, dislikes: 0, comments: 1 });
    const t0 = Date.now();
    await until('new counters on both instances', () => onA.some((x) => x.views === 41) && onB.some((x) => x.views === 41), 3000);
    expect(Date.now() - t0).toBeLessThan(2500); // one poll (1 s) + the once-per-second gap at most
    expect(onB.at(-1)).toEqual({ videoId: v, views: 41, likes: 5, dislikes: 0, comments: 1, watching: 2 });

    await b.emitWithAck('video:leave', { videoId: v });
    await until('watching 1 on A', () => onA.at(-1)?.watching === 1, 4000);
  });

  it('pushes at most once per second per video, coalescing changes, and nothing when unchanged', async () => {
    const v = video(newUser());
    counters.set(v, { views: 0, likes: 0, dislikes: 0, comments: 0 });
    const c = await connect(A.url);
    const got: number[] = [];
    c.on('video:counts', () => got.push(Date.now()));
    await ask(c, 'video:join', { videoId: v });
    const t0 = Date.now();
    let views = 0;
    while (Date.now() - t0 < 2500) {
      counters.set(v, { views: ++views, likes: 0, dislikes: 0, comments: 0 });
      A.app.realtime.countsChanged([v]);
      await sleep(50);
    }
    await sleep(1200);
    const gaps = got.slice(1).map((t, i) => t - got[i]!);
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got.length).toBeLessThanOrEqual(5);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(900);
    const settled = got.length;
    await sleep(1500);
    expect(got.length).toBe(settled); // unchanged counts are not pushed again
  });

  it('pushes a reported counter change at once when the last push is older than a second', async () => {
    const v = video(newUser());
    counters.set(v, { views: 1, likes: 0, dislikes: 0, comments: 0 });
    const c = await connect(B.url);
    const got = collect(c, 'video:counts');
    await ask(c, 'video:join', { videoId: v });
    await sleep(2300);
    counters.set(v, { views: 2, likes: 0, dislikes: 0, comments: 0 });
    const t0 = Date.now();
    B.app.realtime.countsChanged([v]);
    await until('views 2', () => got.some((x) => x.views === 2), 2000);
    expect(Date.now() - t0).toBeLessThan(700); // not the next poll plus gap
  });

  it('limits the videos one connection joins', async () => {
    const c = await connect(A.url);
    const owner = newUser();
    for (let i = 0; i < 20; i++) expect(await ask(c, 'video:join', { videoId: video(owner) })).toMatchObject({ ok: true });
    expect(await ask(c, 'video:join', { videoId: video(owner) })).toMatchObject({ ok: false, error: { code: 'ROOM_LIMIT_REACHED' } });
  });
});

describe('chat', () => {
  it('delivers a message sent on instance A to clients on instance B, once each', async () => {
    const v = video(newUser());
    const alice = newUser('alice');
    const sender = await connect(A.url, await signer.sign(alice));
    const watcherB = await connect(B.url);
    const watcherA = await connect(A.url);
    const other = await connect(B.url);
    const onB = collect(watcherB, 'chat:message');
    const onA = collect(watcherA, 'chat:message');
    const onSender = collect(sender, 'chat:message');
    const onOther = collect(other, 'chat:message');
    for (const c of [sender, watcherA, watcherB]) await ask(c, 'video:join', { videoId: v });
    await ask(other, 'video:join', { videoId: video(newUser()) });

    const res = await ask(sender, 'chat:send', { videoId: v, text: '  hello\u0007 from A  ' });
    expect(res).toEqual({ ok: true, message: { id: expect.any(String), author: { id: alice.userId, username: alice.username }, text: 'hello from A', createdAt: expect.any(String) } });
    await until('delivery on B', () => onB.length > 0);
    await sleep(300);
    for (const got of [onA, onB, onSender]) expect(got).toEqual([{ videoId: v, message: res.message }]);
    expect(onOther).toEqual([]);
  });

  it('refuses anonymous chat:send, empty and over-long text, and invisible videos', async () => {
    const v = video(newUser());
    const anon = await connect(B.url);
    expect(await ask(anon, 'chat:send', { videoId: v, text: 'hi' })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    const u = await connect(B.url, await signer.sign(newUser()));
    expect(await ask(u, 'chat:send', { videoId: v, text: ' \u0000\n ' })).toMatchObject({ ok: false, error: { code: 'CHAT_TEXT_INVALID' } });
    expect(await ask(u, 'chat:send', { videoId: v, text: 'x'.repeat(501) })).toMatchObject({ ok: false, error: { code: 'CHAT_TEXT_INVALID' } });
    expect(await ask(u, 'chat:send', { videoId: v, text: `  ${'x'.repeat(500)}\u0001 ` })).toMatchObject({ ok: true });
    expect(await ask(u, 'chat:send', { videoId: video(newUser(), { visibility: 'private' }), text: 'hi' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('holds the rate limit (burst 5, then 1/s) across instances', async () => {
    const v = video(newUser());
    const u = newUser();
    const onA = await connect(A.url, await signer.sign(u));
    const onB = await connect(B.url, await signer.sign(u));
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await ask(i % 2 === 0 ? onA : onB, 'chat:send', { videoId: v, text: `m${i}` }));
    expect(results.slice(0, 5).every((r) => r.ok)).toBe(true);
    for (const r of results.slice(5)) {
      expect(r).toMatchObject({ ok: false, error: { code: 'CHAT_RATE_LIMITED', retryAfterMs: expect.any(Number) } });
      expect(r.error.retryAfterMs).toBeGreaterThan(0);
      expect(r.error.retryAfterMs).toBeLessThanOrEqual(1000);
    }
    await sleep(results[6].error.retryAfterMs + 20);
    expect(await ask(onB, 'chat:send', { videoId: v, text: 'later' })).toMatchObject({ ok: true });
    expect(await ask(onA, 'chat:send', { videoId: v, text: 'too soon' })).toMatchObject({ ok: false, error: { code: 'CHAT_RATE_LIMITED' } });
    // Another user has a budget of their own.
    const other = await connect(A.url, await signer.sign(newUser()));
    expect(await ask(other, 'chat:send', { videoId: v, text: 'mine' })).toMatchObject({ ok: true });
  });

  it('serves the history newest first, paginated, and lets the video owner delete a message everywhere', async () => {
    const owner = newUser('owner');
    const v = video(owner);
    const authors = [newUser('a'), newUser('b'), newUser('c')];
    const sent: string[] = [];
    for (let i = 0; i < 7; i++) {
      const c = await connect(i % 2 ? A.url : B.url, await signer.sign(authors[i % 3]!));
      const r = await ask(c, 'chat:send', { videoId: v, text: `message ${i}` });
      expect(r.ok).toBe(true);
      sent.push(r.message.id);
      c.disconnect();
    }
    await waitForReplica(tdb.url, tdb.replicaUrl);
    const page1 = await A.app.inject({ url: `/api/v1/videos/${v}/chat?limit=3` });
    expect(page1.statusCode).toBe(200);
    const p1 = page1.json();
    expect(p1.items.map((m: { text: string }) => m.text)).toEqual(['message 6', 'message 5', 'message 4']);
    expect(p1.items[0]).toEqual({ id: sent[6], author: { id: authors[0]!.userId, username: authors[0]!.username }, text: 'message 6', createdAt: expect.any(String) });
    const p2 = (await B.app.inject({ url: `/api/v1/videos/${v}/chat?limit=3&cursor=${p1.nextCursor}` })).json();
    expect(p2.items.map((m: { text: string }) => m.text)).toEqual(['message 3', 'message 2', 'message 1']);
    const p3 = (await B.app.inject({ url: `/api/v1/videos/${v}/chat?limit=3&cursor=${p2.nextCursor}` })).json();
    expect(p3).toEqual({ items: [expect.objectContaining({ text: 'message 0' })], nextCursor: null });
    const before = (await A.app.inject({ url: `/api/v1/videos/${v}/chat?before=${encodeURIComponent(p1.items[2].createdAt)}&limit=2` })).json();
    expect(before.items.every((m: { createdAt: string }) => m.createdAt < p1.items[2].createdAt)).toBe(true);

    // Deletion: watchers on both instances are told; only the owner or the author may delete.
    const wA = await connect(A.url);
    const wB = await connect(B.url);
    const delA = collect(wA, 'chat:deleted');
    const delB = collect(wB, 'chat:deleted');
    await ask(wA, 'video:join', { videoId: v });
    await ask(wB, 'video:join', { videoId: v });
    const stranger = await B.app.inject({ method: 'DELETE', url: `/api/v1/chat/${sent[5]}`, headers: bearer(await signer.sign(newUser())) });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().code).toBe('NOT_CHAT_MODERATOR');
    expect((await B.app.inject({ method: 'DELETE', url: `/api/v1/chat/${sent[5]}` })).statusCode).toBe(401);
    const del = await B.app.inject({ method: 'DELETE', url: `/api/v1/chat/${sent[5]}`, headers: bearer(await signer.sign(owner)) });
    expect(del.statusCode).toBe(204);
    const byAuthor = await A.app.inject({ method: 'DELETE', url: `/api/v1/chat/${sent[6]}`, headers: bearer(await signer.sign(authors[0]!)) });
    expect(byAuthor.statusCode).toBe(204);
    await until('deletions on both', () => delA.length === 2 && delB.length === 2);
    expect(delB).toEqual([{ videoId: v, messageId: sent[5] }, { videoId: v, messageId: sent[6] }]);
    const again = await B.app.inject({ method: 'DELETE', url: `/api/v1/chat/${sent[5]}`, headers: bearer(await signer.sign(owner)) });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('CHAT_MESSAGE_NOT_FOUND');
    await waitForReplica(tdb.url, tdb.replicaUrl);
    const after = (await A.app.inject({ url: `/api/v1/videos/${v}/chat?limit=2` })).json();
    expect(after.items.map((m: { text: string }) => m.text)).toEqual(['message 4', 'message 3']);
  });

  it('answers history requests with problems: unknown or private video 404, bad cursor 400', async () => {
    const priv = video(newUser(), { visibility: 'private' });
    const r404 = await A.app.inject({ url: `/api/v1/videos/${priv}/chat` });
    expect(r404.statusCode).toBe(404);
    expect(r404.headers['content-type']).toMatch(/problem\+json/);
    expect((await A.app.inject({ url: `/api/v1/videos/${randomUUID()}/chat` })).statusCode).toBe(404);
    const v = video(newUser());
    expect((await A.app.inject({ url: `/api/v1/videos/${v}/chat?cursor=nonsense` })).statusCode).toBe(400);
    expect((await A.app.inject({ url: `/api/v1/videos/${v}/chat?before=yesterday` })).statusCode).toBe(400);
    expect((await A.app.inject({ url: `/api/v1/videos/not-a-uuid/chat` })).statusCode).toBe(400);
    expect((await A.app.inject({ method: 'DELETE', url: `/api/v1/chat/${randomUUID()}`, headers: bearer(await signer.sign(newUser())) })).statusCode).toBe(404);
  });
});

describe('events from the other services', () => {
  it('pushes comment:new from video.comments to the room on every instance, once', async () => {
    const owner = newUser();
    const v = video(owner);
    const a = await connect(A.url);
    const b = await connect(B.url);
    const elsewhere = await connect(B.url);
    await ask(a, 'video:join', { videoId: v });
    await ask(b, 'video:join', { videoId: v });
    await ask(elsewhere, 'video:join', { videoId: video(owner) });
    const onA = collect(a, 'comment:new');
    const onB = collect(b, 'comment:new');
    const onElsewhere = collect(elsewhere, 'comment:new');
    const author = newUser();
    const comment = {
      id: randomUUID(),
      author: { id: author.userId, username: author.username, displayName: 'Author' },
      text: 'first!',
      likes: 0,
      replyCount: 0,
      parentId: null,
      createdAt: new Date().toISOString(),
      deleted: false,
    };
    await A.bus.publish(TOPICS.videoComments, [
      toEventMessage(createEvent({ type: 'CommentDeleted.v1', key: v, actor: { type: 'user', id: author.userId }, payload: { videoId: v } })),
      toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.commentCreated, key: v, actor: { type: 'user', id: author.userId }, payload: { videoId: v, videoOwnerId: owner.userId, comment: { nope: true }, parentAuthorId: null } })),
      toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.commentCreated, key: v, actor: { type: 'user', id: author.userId }, payload: { videoId: v, videoOwnerId: owner.userId, comment, parentAuthorId: null } })),
    ]);
    await until('comment on both', () => onA.length > 0 && onB.length > 0, 10_000);
    await sleep(300);
    expect(onA).toEqual([{ videoId: v, comment }]);
    expect(onB).toEqual([{ videoId: v, comment }]);
    expect(onElsewhere).toEqual([]);
  });

  it('pushes a notification to its user only, on every instance', async () => {
    const x = newUser('x');
    const y = newUser('y');
    const x1 = await connect(A.url, await signer.sign(x));
    const x2 = await connect(B.url, await signer.sign(x));
    const y1 = await connect(A.url, await signer.sign(y));
    const anon = await connect(B.url);
    const got = [collect(x1, 'notification'), collect(x2, 'notification'), collect(y1, 'notification'), collect(anon, 'notification')];
    const notification: Notification = {
      id: randomUUID(),
      kind: 'video.published',
      payload: { videoId: randomUUID(), channelId: randomUUID(), title: 'New video' },
      read: false,
      createdAt: new Date().toISOString(),
    };
    await B.bus.publish(TOPICS.notifications, [
      toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.notificationCreated, key: x.userId, actor: { type: 'service', id: 'subscription' }, payload: { userId: x.userId, notification } })),
    ]);
    await until('both sockets of x', () => got[0]!.length > 0 && got[1]!.length > 0, 10_000);
    await sleep(300);
    expect(got).toEqual([[notification], [notification], [], []]);
  });
});

describe('robustness', () => {
  it('answers bad payloads with { ok: false, error } and keeps serving', async () => {
    const u = newUser();
    const c = await connect(A.url, await signer.sign(u));
    const v = video(newUser());
    const bad: unknown[][] = [
      [],
      [null],
      [42],
      ['video'],
      [[v]],
      [{}],
      [{ videoId: 123 }],
      [{ videoId: 'x'.repeat(1000) }],
      [{ videoId: '../../etc/passwd' }],
      [{ videoId: v, extra: true }],
      [{ videoId: { $gt: '' } }],
      [{ videoId: v, text: 'x'.repeat(5000) }],
      [{ videoId: v, text: 42 }],
      [{ token: 5 }],
      [Buffer.from('binary')],
      [{ a: { b: { c: { d: { e: [1, [2, [3, [4]]]] } } } } }],
    ];
    for (const event of ['video:join', 'video:leave', 'chat:send', 'auth:refresh']) {
      for (const args of bad) {
        const res = await ask(c, event, ...args);
        expect(res).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
      }
    }
    expect(await ask(c, 'no:such:event', { videoId: v })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // No acknowledgement callback, a prototype-polluting payload: ignored quietly.
    const raw = (s: Client) => s as unknown as { emit(event: string, ...args: unknown[]): void };
    raw(c).emit('video:join', { videoId: v });
    raw(c).emit('chat:send', JSON.parse('{"__proto__": {"polluted": true}, "videoId": "x"}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // A frame over the size limit closes only that connection.
    const big = await connect(A.url);
    const closed = new Promise<string>((resolve) => big.on('disconnect', (r) => resolve(r)));
    raw(big).emit('chat:send', { videoId: v, text: 'x'.repeat(100_000) });
    expect(await closed).toBe('transport close');

    expect(await ask(c, 'video:join', { videoId: v })).toMatchObject({ ok: true });
    expect(await ask(c, 'chat:send', { videoId: v, text: 'still here' })).toMatchObject({ ok: true });
    expect((await A.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('closing an instance drops its clients at the transport level (so they reconnect elsewhere) without waiting', async () => {
    const C = await startInstance('C');
    try {
      const c = await connect(C.url);
      const v = video(newUser());
      await ask(c, 'video:join', { videoId: v });
      const reason = new Promise<string>((resolve) => c.on('disconnect', (r) => resolve(r)));
      const t0 = Date.now();
      await C.app.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await reason).toBe('transport close'); // socket.io clients reconnect after this one
      await expect(connect(C.url)).rejects.toBeDefined();
    } finally {
      await C.bus.close();
      await C.database.close();
      C.redis.disconnect();
    }
  });

  it('runs as one instance without Redis (embedded mode): in-memory adapter, local presence and rate limit', async () => {
    const solo = await startInstance('solo', { withoutRedis: true });
    try {
      const v = video(newUser());
      counters.set(v, { views: 3, likes: 0, dislikes: 0, comments: 0 });
      const u = newUser();
      const sender = await connect(solo.url, await signer.sign(u));
      const watcher = await connect(solo.url);
      const got = collect(watcher, 'chat:message');
      const counts = collect(watcher, 'video:counts');
      expect(await ask(watcher, 'video:join', { videoId: v })).toMatchObject({ ok: true, counts: { views: 3, watching: 1 } });
      await ask(sender, 'video:join', { videoId: v });
      await until('watching 2', () => counts.some((c) => c.watching === 2), 4000);
      for (let i = 0; i < 5; i++) expect(await ask(sender, 'chat:send', { videoId: v, text: `solo ${i}` })).toMatchObject({ ok: true });
      expect(await ask(sender, 'chat:send', { videoId: v, text: 'one too many' })).toMatchObject({ ok: false, error: { code: 'CHAT_RATE_LIMITED' } });
      await until('five messages', () => got.length === 5);
      expect((await solo.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await stopInstance(solo);
    }
  });

  it('reports readiness and the realtime metrics', async () => {
    const c = await connect(B.url);
    await ask(c, 'video:join', { videoId: video(newUser()) });
    const ready = await B.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({ redis: { ok: true }, 'socket.io-adapter': { ok: true }, postgres: { ok: true } });
    const text = (await B.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/^realtime_connected_clients [1-9]/m);
    expect(text).toMatch(/^realtime_rooms\{kind="video"\} [1-9]/m);
    expect(text).toMatch(/^realtime_emits_total\{event="video:counts",scope="local"\} \d+/m);
    expect(text).toMatch(/^realtime_adapter_lag_seconds_count [1-9]/m);
    expect(text).toMatch(/^realtime_chat_messages_total\{result="accepted"\} [1-9]/m);
  });
});
