import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uuidv7 } from 'uuidv7';
import { loggedEvents, waitForOutbox } from '@kinora/projections/testing';
import { client, expectProblem, json, startSubscriptionService, type Harness } from '../support.js';

let h: Harness;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startSubscriptionService('subscriptions');
  c = client(h);
});

afterAll(async () => {
  await h?.close();
});

describe('subscribing', () => {
  it('subscribes and unsubscribes idempotently, publishing one event per effective change', async () => {
    const creator = await c.creator();
    const fan = await h.issuer.user();
    expect(json(await c.state(fan, creator.channelId))).toEqual({ subscribed: false });
    for (let i = 0; i < 3; i++) {
      const res = await c.subscribe(fan, creator.channelId);
      expect([res.statusCode, res.body]).toEqual([204, '']);
    }
    expect(json(await c.state(fan, creator.channelId))).toEqual({ subscribed: true });
    const mine = json(await c.mine(fan));
    expect(mine).toEqual({
      items: [{ id: creator.channelId, handle: creator.username, name: `Channel of ${creator.username}`, ownerId: creator.id, subscribedAt: expect.any(String) }],
      nextCursor: null,
    });
    for (let i = 0; i < 3; i++) expect((await c.unsubscribe(fan, creator.channelId)).statusCode).toBe(204);
    expect(json(await c.state(fan, creator.channelId))).toEqual({ subscribed: false });
    expect(json(await c.mine(fan)).items).toEqual([]);

    await waitForOutbox(h.database.primary, 'subscriptions');
    const events = await loggedEvents(h.database.primary, 'channel.subscriptions', [creator.channelId]);
    expect(events.map((e) => [e.type, e.key, e.payload.delta, e.payload.subscribed])).toEqual([
      ['ChannelSubscriptionChanged.v1', creator.channelId, 1, true],
      ['ChannelSubscriptionChanged.v1', creator.channelId, -1, false],
    ]);
    expect(events[0]!.payload).toEqual({ channelId: creator.channelId, userId: fan.id, subscribed: true, delta: 1 });
    expect(events[0]!.actor).toEqual({ type: 'user', id: fan.id });
  });

  it("refuses one's own channel (400), unknown channels (404), bad ids (400) and anonymous callers (401)", async () => {
    const creator = await c.creator();
    const p = expectProblem(await c.subscribe(creator, creator.channelId), 400, 'CANNOT_SUBSCRIBE_TO_OWN_CHANNEL');
    expect(p.errors).toEqual([{ field: '/params/channelId', message: 'is your own channel' }]);
    expectProblem(await c.subscribe(creator, uuidv7()), 404, 'CHANNEL_NOT_FOUND');
    expectProblem(await c.unsubscribe(creator, uuidv7()), 404, 'CHANNEL_NOT_FOUND');
    expect((await c.unsubscribe(creator, creator.channelId)).statusCode).toBe(204); // nothing to remove: fine
    expectProblem(await c.subscribe(creator, 'nope'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.unsubscribe(creator, 'nope'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.subscribe(undefined, creator.channelId), 401, 'UNAUTHENTICATED');
    expectProblem(await c.unsubscribe(undefined, creator.channelId), 401, 'UNAUTHENTICATED');
    expectProblem(await c.state(undefined, creator.channelId), 401, 'UNAUTHENTICATED');
    expectProblem(await c.mine(undefined), 401, 'UNAUTHENTICATED');
    expectProblem(await c.feed(undefined), 401, 'UNAUTHENTICATED');
    expectProblem(await c.mine(creator, '?limit=500'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.mine(creator, '?cursor=xyz'), 400, 'VALIDATION_FAILED');
  });

  it('keeps the sum of subscription deltas equal to the subscriptions under concurrent toggling', async () => {
    const creators = await Promise.all(Array.from({ length: 3 }, () => c.creator()));
    const fans = await Promise.all(Array.from({ length: 10 }, () => h.issuer.user()));
    let seed = 3;
    const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const ops = Array.from({ length: 300 }, () => ({ fan: fans[rnd(10)]!, channel: creators[rnd(3)]!.channelId, on: rnd(2) === 0 }));
    for (let i = 0; i < ops.length; i += 10) {
      const res = await Promise.all(ops.slice(i, i + 10).map((o) => (o.on ? c.subscribe(o.fan, o.channel) : c.unsubscribe(o.fan, o.channel))));
      expect(res.every((r) => r.statusCode === 204)).toBe(true);
    }
    await waitForOutbox(h.database.primary, 'subscriptions');
    for (const creator of creators) {
      const events = await loggedEvents(h.database.primary, 'channel.subscriptions', [creator.channelId]);
      const { rows } = await h.database.primary.query('SELECT count(*)::int AS n FROM subscriptions.subscriptions WHERE channel_id = $1', [creator.channelId]);
      expect(events.reduce((s, e) => s + e.payload.delta, 0)).toBe(rows[0].n);
    }
  });

  it('lists the subscriptions newest first, page by page', async () => {
    const fan = await h.issuer.user();
    const creators = [];
    for (let i = 0; i < 23; i++) {
      const creator = await c.creator();
      creators.push(creator);
      expect((await c.subscribe(fan, creator.channelId)).statusCode).toBe(204);
    }
    const pages = await c.all((q) => c.mine(fan, q), 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
    expect(pages.flat().map((x) => x.id)).toEqual(creators.map((x) => x.channelId).reverse());
  });
});

describe('the subscriptions feed', () => {
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

  it('shows the ready public videos of subscribed channels only, newest first, page by page', async () => {
    const [a, b, other] = [await c.creator(), await c.creator(), await c.creator()];
    const fan = await h.issuer.user();
    for (const ch of [a, b]) expect((await c.subscribe(fan, ch.channelId)).statusCode).toBe(204);
    const expected: string[] = [];
    let newest = '';
    // Interleaved publication times over the two channels.
    for (let i = 0; i < 11; i++) {
      const v = await c.video(i % 2 ? a : b, { publishedAt: at(100 - i), title: `v${i}`, durationSec: 60 + i });
      expected.unshift(v.videoId);
      newest = v.publishedAt!;
    }
    // Never in the feed: other channels, and videos that are not ready, not public or deleted.
    await c.video(other, { publishedAt: at(1) });
    for (const hidden of [{ visibility: 'private' as const }, { visibility: 'unlisted' as const }, { state: 'processing' as const }, { deleted: true }]) {
      await c.video(a, { publishedAt: at(2), ...hidden });
    }
    const first = json(await c.feed(fan, '?limit=4'));
    expect(first.items[0]).toEqual({
      id: expected[0],
      title: 'v10',
      tags: [],
      visibility: 'public',
      state: 'ready',
      channel: { id: b.channelId, handle: b.username, name: `Channel of ${b.username}` },
      durationSec: 70,
      publishedAt: newest,
    });
    const pages = await c.all((q) => c.feed(fan, q), 4);
    expect(pages.map((p) => p.length)).toEqual([4, 4, 3]);
    expect(pages.flat().map((x) => x.id)).toEqual(expected);
    const times = pages.flat().map((x) => Date.parse(x.publishedAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it('follows changes: a video made private leaves the feed, a new one enters at its place, unsubscribing removes a channel', async () => {
    const [a, b] = [await c.creator(), await c.creator()];
    const fan = await h.issuer.user();
    for (const ch of [a, b]) await c.subscribe(fan, ch.channelId);
    const va = await c.video(a, { publishedAt: at(10) });
    const vb = await c.video(b, { publishedAt: at(5) });
    expect(json(await c.feed(fan)).items.map((x: any) => x.id)).toEqual([vb.videoId, va.videoId]);
    await c.video(b, { ...vb, version: 2, visibility: 'private' });
    expect(json(await c.feed(fan)).items.map((x: any) => x.id)).toEqual([va.videoId]);
    const late = await c.video(b, { publishedAt: at(20) });
    expect(json(await c.feed(fan)).items.map((x: any) => x.id)).toEqual([va.videoId, late.videoId]);
    await c.unsubscribe(fan, a.channelId);
    expect(json(await c.feed(fan)).items.map((x: any) => x.id)).toEqual([late.videoId]);
    expectProblem(await c.feed(fan, '?cursor=bm9wZQ'), 400, 'VALIDATION_FAILED');
  });

  it('pages through the feed of a user with 3,000 subscriptions with one bounded query per page', async () => {
    const fan = await h.issuer.user();
    const pool = h.database.primary;
    // Bulk set-up in SQL: 3,000 subscriptions, each channel with 3 videos in the projection (one of them private).
    await pool.query(
      `WITH ch AS (SELECT gen_random_uuid() AS channel_id, gen_random_uuid() AS owner_id, g FROM generate_series(1, 3000) g),
            subs AS (
              INSERT INTO subscriptions.subscriptions (user_id, channel_id, channel_owner_id, channel_handle, channel_name, created_at)
              SELECT $1, channel_id, owner_id, 'h' || g, 'n' || g, now() FROM ch RETURNING channel_id, channel_owner_id
            )
       INSERT INTO subscriptions.video_projection (video_id, version, channel_id, owner_id, title, visibility, state, deleted, published_at)
       SELECT gen_random_uuid(), 1, s.channel_id, s.channel_owner_id, 'v', CASE WHEN k = 3 THEN 'private' ELSE 'public' END, 'ready', false,
              now() - (random() * interval '30 days')
       FROM subs s CROSS JOIN generate_series(1, 3) k`,
      [fan.id],
    );
    await pool.query('ANALYZE subscriptions.subscriptions; ANALYZE subscriptions.video_projection');
    const { rows: expected } = await pool.query(
      `SELECT p.video_id FROM subscriptions.video_projection p JOIN subscriptions.subscriptions s ON s.channel_id = p.channel_id
       WHERE s.user_id = $1 AND p.visibility = 'public' ORDER BY p.published_at DESC, p.video_id DESC LIMIT 250`,
      [fan.id],
    );
    const started = Date.now();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const body = json(await c.feed(fan, `?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
      seen.push(...body.items.map((x: any) => x.id));
      cursor = body.nextCursor;
    }
    expect(seen).toEqual(expected.map((r: any) => r.video_id));
    expect(Date.now() - started).toBeLessThan(10_000);
    // The plan: per subscription, an index range scan of that channel's eligible videos, never a scan of all videos.
    const { rows: plan } = await pool.query(
      `EXPLAIN (FORMAT JSON)
       SELECT v.video_id FROM subscriptions.subscriptions s
       CROSS JOIN LATERAL (
         SELECT p.video_id, p.published_at FROM subscriptions.video_projection p
         WHERE p.channel_id = s.channel_id AND p.state = 'ready' AND p.visibility = 'public' AND NOT p.deleted
         ORDER BY p.published_at DESC, p.video_id DESC LIMIT 51
       ) v
       WHERE s.user_id = $1 ORDER BY v.published_at DESC, v.video_id DESC LIMIT 51`,
      [fan.id],
    );
    expect(JSON.stringify(plan)).toContain('video_projection_channel_feed_idx');
  });
});

describe('authorization matrix of the subscription routes', () => {
  it('anonymous callers get 401 everywhere; users act on their own subscriptions only; the owner cannot subscribe to its channel', async () => {
    const owner = await c.creator();
    const [fan, other] = [await h.issuer.user(), await h.issuer.user()];
    expect((await c.subscribe(fan, owner.channelId)).statusCode).toBe(204);
    await c.video(owner, {});
    const routes: Record<string, (u: any) => Promise<{ statusCode: number }>> = {
      'PUT /channels/:id/subscription': (u) => c.subscribe(u, owner.channelId),
      'DELETE /channels/:id/subscription': (u) => c.unsubscribe(u, owner.channelId),
      'GET /channels/:id/subscription': (u) => c.state(u, owner.channelId),
      'GET /users/me/subscriptions': (u) => c.mine(u),
      'GET /feed/subscriptions': (u) => c.feed(u),
      'GET /notifications': (u) => c.notifications(u),
      'POST /notifications/read': (u) => c.read(u, {}),
    };
    const actual: Record<string, number[]> = {};
    for (const [name, route] of Object.entries(routes)) {
      actual[name] = [];
      for (const who of [undefined, other, owner]) actual[name].push((await route(who)).statusCode);
    }
    expect(actual).toEqual({
      //                                   anonymous, another user, channel owner
      'PUT /channels/:id/subscription': [401, 204, 400],
      'DELETE /channels/:id/subscription': [401, 204, 204],
      'GET /channels/:id/subscription': [401, 200, 200],
      'GET /users/me/subscriptions': [401, 200, 200],
      'GET /feed/subscriptions': [401, 200, 200],
      'GET /notifications': [401, 200, 200],
      'POST /notifications/read': [401, 204, 204],
    });
    // Each caller sees only its own state: the fan is still subscribed, the others' changes did not touch it.
    expect(json(await c.state(fan, owner.channelId))).toEqual({ subscribed: true });
    expect(json(await c.state(owner, owner.channelId))).toEqual({ subscribed: false });
    expect(json(await c.mine(owner)).items).toEqual([]);
    expect(json(await c.feed(owner)).items).toEqual([]);
    expect(json(await c.feed(fan)).items).toHaveLength(1);
  });
});
