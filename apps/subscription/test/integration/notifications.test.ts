import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uuidv7 } from 'uuidv7';
import { SOCIAL_EVENT_TYPES, TOPICS, type CommentCreatedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventEnvelope } from '@kinora/events';
import { publishVideoChanged, videoChangedEvent } from '@kinora/projections';
import { loggedEvents, waitForOutbox, type TestUser } from '@kinora/projections/testing';
import { waitUntil } from '@kinora/testing';
import { client, expectProblem, json, startSubscriptionService, type Harness } from '../support.js';

let h: Harness;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startSubscriptionService('notifications');
  c = client(h);
});

afterAll(async () => {
  await h?.close();
});

async function notificationsOf(u: TestUser): Promise<any[]> {
  const res = await c.notifications(u, '?limit=100');
  expect(res.statusCode).toBe(200);
  return json(res).items;
}

/** Waits until the user has `n` notifications (they are made by consumers, so they arrive shortly after). */
async function waitForNotifications(u: TestUser, n: number): Promise<any[]> {
  return waitUntil(`${n} notification(s)`, async () => {
    const items = await notificationsOf(u);
    return items.length >= n ? items : undefined;
  }, { timeoutMs: 10_000, intervalMs: 25 });
}

/** Waits until a consumer group has read everything currently in a topic's log. */
async function consumed(group: string, topic: string): Promise<void> {
  await waitUntil(
    `${group} caught up on ${topic}`,
    async () => {
      const { rows } = await h.database.primary.query(
        `SELECT p.partition FROM events.partitions p
         LEFT JOIN events.consumer_offsets o ON o.group_id = $1 AND o.topic = p.topic AND o.partition = p.partition
         WHERE p.topic = $2 AND coalesce(o.next_offset, 0) < p.next_offset`,
        [group, topic],
      );
      return rows.length === 0;
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  );
}

function commentCreated(p: { videoId: string; parentAuthorId: string | null; author: TestUser; text: string; parentId?: string }): EventEnvelope<CommentCreatedV1> {
  return createEvent<CommentCreatedV1>({
    type: SOCIAL_EVENT_TYPES.commentCreated,
    key: p.videoId,
    actor: { type: 'user', id: p.author.id },
    payload: {
      videoId: p.videoId,
      videoOwnerId: uuidv7(),
      parentAuthorId: p.parentAuthorId,
      comment: {
        id: uuidv7(),
        author: { id: p.author.id, username: p.author.username, displayName: 'Replier' },
        text: p.text,
        likes: 0,
        replyCount: 0,
        parentId: p.parentId ?? (p.parentAuthorId ? uuidv7() : null),
        createdAt: new Date().toISOString(),
        deleted: false,
      },
    },
  });
}

describe('new-video notifications', () => {
  it("notify a channel's subscribers once, the first time a video is ready and public", async () => {
    const creator = await c.creator();
    const [early, alsoEarly] = [await h.issuer.user(), await h.issuer.user()];
    for (const u of [early, alsoEarly]) expect((await c.subscribe(u, creator.channelId)).statusCode).toBe(204);
    // Uploaded, processing, then ready but private: nothing yet.
    const v = await c.video(creator, { state: 'awaiting_upload', visibility: 'public', title: 'My film' });
    await c.video(creator, { ...v, version: 2, state: 'processing' });
    await c.video(creator, { ...v, version: 3, state: 'ready', visibility: 'private' });
    expect(await notificationsOf(early)).toEqual([]);
    // Published.
    await c.video(creator, { ...v, version: 4, state: 'ready', visibility: 'public', publishedAt: new Date().toISOString() });
    const [n] = await waitForNotifications(early, 1);
    expect(n).toEqual({ id: expect.any(String), kind: 'video.published', payload: { videoId: v.videoId, channelId: creator.channelId, title: 'My film' }, read: false, createdAt: expect.any(String) });
    expect(await waitForNotifications(alsoEarly, 1)).toHaveLength(1);
    // Later changes (a new title, private and public again) and a redelivered event announce nothing more.
    await c.video(creator, { ...v, version: 5, state: 'ready', visibility: 'public', title: 'Renamed' });
    await c.video(creator, { ...v, version: 6, state: 'ready', visibility: 'private' });
    await c.video(creator, { ...v, version: 7, state: 'ready', visibility: 'public' });
    await publishVideoChanged(h.bus, [videoChangedEvent({ ...v, version: 4, state: 'ready', visibility: 'public' })]);
    await consumed('subscriptions.video-projection', TOPICS.videoLifecycle);
    expect(await notificationsOf(early)).toHaveLength(1);
    // The creator does not hear about its own video; someone who subscribed after it was published neither.
    const late = await h.issuer.user();
    await c.subscribe(late, creator.channelId);
    expect(await notificationsOf(creator)).toEqual([]);
    expect(await notificationsOf(late)).toEqual([]);

    await waitForOutbox(h.database.primary, 'subscriptions');
    const events = await loggedEvents(h.database.primary, TOPICS.notifications, [early.id]);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual(expect.objectContaining({ type: 'NotificationCreated.v1', key: early.id, actor: { type: 'service', id: 'subscription' } }));
    expect(events[0]!.payload).toEqual({ userId: early.id, notification: n });
  });

  it('announce nothing for unlisted videos, nor for videos of channels nobody subscribed to', async () => {
    const creator = await c.creator();
    const fan = await h.issuer.user();
    await c.subscribe(fan, creator.channelId);
    await c.video(creator, { visibility: 'unlisted' });
    await c.video(await c.creator(), {});
    await consumed('subscriptions.video-projection', TOPICS.videoLifecycle);
    expect(await notificationsOf(fan)).toEqual([]);
  });
});

describe('reply notifications', () => {
  it('tell the author of a comment about a reply, once, but not about their own replies', async () => {
    const author = await h.issuer.user();
    const replier = await h.issuer.user();
    const videoId = uuidv7();
    const reply = commentCreated({ videoId, parentAuthorId: author.id, author: replier, text: `Nice! ${'x'.repeat(300)}` });
    const own = commentCreated({ videoId, parentAuthorId: author.id, author, text: 'me again' });
    const topLevel = commentCreated({ videoId, parentAuthorId: null, author: replier, text: 'top' });
    // The reply is delivered twice (at-least-once): one notification.
    await h.bus.publish(TOPICS.videoComments, [reply, own, topLevel, reply].map((e) => toEventMessage(e)));
    const [n] = await waitForNotifications(author, 1);
    expect(n).toEqual({
      id: expect.any(String),
      kind: 'comment.reply',
      payload: {
        videoId,
        commentId: reply.payload.comment.id,
        parentId: reply.payload.comment.parentId,
        author: { id: replier.id, username: replier.username, displayName: 'Replier' },
        excerpt: `Nice! ${'x'.repeat(193)}…`,
      },
      read: false,
      createdAt: expect.any(String),
    });
    await consumed('subscriptions.comment-replies', TOPICS.videoComments);
    expect(await notificationsOf(author)).toHaveLength(1);
    expect(await notificationsOf(replier)).toEqual([]);
  });

  it('skip malformed events instead of blocking the topic', async () => {
    const author = await h.issuer.user();
    const replier = await h.issuer.user();
    await h.bus.publish<unknown>(TOPICS.videoComments, [
      { key: 'x', value: { type: 'CommentCreated.v1', payload: { parentAuthorId: 'not-a-uuid' } } },
      { key: 'x', value: 'garbage' },
      toEventMessage(commentCreated({ videoId: uuidv7(), parentAuthorId: author.id, author: replier, text: 'after the garbage' })),
    ]);
    expect(await waitForNotifications(author, 1)).toHaveLength(1);
  });
});

describe('listing and reading notifications', () => {
  async function seed(u: TestUser, n: number): Promise<void> {
    const replier = await h.issuer.user();
    const videoId = uuidv7(); // one key, one partition: consumed in publication order
    for (let i = 0; i < n; i++) {
      await h.bus.publish(TOPICS.videoComments, [toEventMessage(commentCreated({ videoId, parentAuthorId: u.id, author: replier, text: `reply ${i}` }))]);
    }
    await waitForNotifications(u, n);
  }

  it('lists newest first, page by page', async () => {
    const u = await h.issuer.user();
    await seed(u, 7);
    const pages = await c.all((q) => c.notifications(u, q), 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const texts = pages.flat().map((x) => x.payload.excerpt);
    expect(texts).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `reply ${i}`));
  });

  it('marks the given ones read, then all; ids of other users change nothing', async () => {
    const [u, other] = [await h.issuer.user(), await h.issuer.user()];
    await seed(u, 4);
    await seed(other, 2);
    const mine = await notificationsOf(u);
    const theirs = await notificationsOf(other);
    const res = await c.read(u, { ids: [mine[0].id, mine[2].id, theirs[0].id] });
    expect([res.statusCode, res.body]).toEqual([204, '']);
    expect((await notificationsOf(u)).map((x) => x.read)).toEqual([true, false, true, false]);
    expect((await notificationsOf(other)).map((x) => x.read)).toEqual([false, false]);
    expect((await c.read(u, {})).statusCode).toBe(204);
    expect((await notificationsOf(u)).every((x) => x.read)).toBe(true);
    expect((await notificationsOf(other)).every((x) => !x.read)).toBe(true);
    // No body at all also means "all".
    expect((await c.read(other)).statusCode).toBe(204);
    expect((await notificationsOf(other)).every((x) => x.read)).toBe(true);
  });

  it('answers 401 without a token and 400 for invalid input', async () => {
    const u = await h.issuer.user();
    expectProblem(await c.notifications(undefined), 401, 'UNAUTHENTICATED');
    expectProblem(await c.read(undefined, {}), 401, 'UNAUTHENTICATED');
    expectProblem(await c.read(u, { ids: ['nope'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await c.read(u, { ids: 'all' }), 400, 'VALIDATION_FAILED');
    expectProblem(await c.notifications(u, '?limit=0'), 400, 'VALIDATION_FAILED');
    expectProblem(await c.notifications(u, '?cursor=AAAA'), 400, 'VALIDATION_FAILED');
  });
});
