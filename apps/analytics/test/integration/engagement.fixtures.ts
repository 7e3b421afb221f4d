import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ANALYTICS_EVENT_TYPES, SOCIAL_EVENT_TYPES } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventBus, type EventMessage } from '@kinora/events';

/** Private topic names per test (the mapping reads event types, not topic names), so tests never share a log. */
export function engagementTopics(prefix: string): { views: string; likes: string; comments: string; subscriptions: string; all: string[] } {
  const t = { views: `${prefix}.video.views`, likes: `${prefix}.video.likes`, comments: `${prefix}.video.comments`, subscriptions: `${prefix}.channel.subscriptions` };
  return { ...t, all: Object.values(t) };
}

export interface Expected {
  videos: Map<string, { views: number; likes: number; dislikes: number; comments: number }>;
  channels: Map<string, number>;
}

export interface Generated {
  topic: string;
  message: EventMessage<unknown>;
}

const RATING_DELTAS = [
  { likes: 1, dislikes: 0 },
  { likes: -1, dislikes: 0 },
  { likes: 0, dislikes: 1 },
  { likes: 0, dislikes: -1 },
  { likes: 1, dislikes: -1 },
  { likes: -1, dislikes: 1 },
] as const;

/** `count` mixed engagement events over `videos` videos and `channels` channels, with the counts they must give. */
export function mixedEvents(count: number, videos: string[], channels: string[], topics: ReturnType<typeof engagementTopics>, expected: Expected): Generated[] {
  const out: Generated[] = [];
  const user = (): { type: 'user'; id: string } => ({ type: 'user', id: randomUUID() });
  for (let i = 0; i < count; i++) {
    const r = Math.random();
    if (r < 0.05) {
      const channelId = channels[i % channels.length]!;
      const delta = Math.random() < 0.7 ? 1 : -1;
      expected.channels.set(channelId, (expected.channels.get(channelId) ?? 0) + delta);
      const e = createEvent({ type: SOCIAL_EVENT_TYPES.channelSubscriptionChanged, key: channelId, actor: user(), payload: { channelId, userId: randomUUID(), subscribed: delta === 1, delta } });
      out.push({ topic: topics.subscriptions, message: toEventMessage(e) });
      continue;
    }
    const videoId = videos[Math.floor(Math.random() * videos.length)]!;
    const v = expected.videos.get(videoId) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 };
    expected.videos.set(videoId, v);
    if (r < 0.6) {
      v.views++;
      out.push({ topic: topics.views, message: toEventMessage(createEvent({ type: ANALYTICS_EVENT_TYPES.videoViewed, key: videoId, actor: { type: 'anonymous', id: null }, payload: { videoId, watchedSec: 12 } })) });
    } else if (r < 0.85) {
      const deltas = RATING_DELTAS[i % RATING_DELTAS.length]!;
      v.likes += deltas.likes;
      v.dislikes += deltas.dislikes;
      const e = createEvent({ type: SOCIAL_EVENT_TYPES.videoRatingChanged, key: videoId, actor: user(), payload: { videoId, userId: randomUUID(), previous: 'none', value: 'like', deltas } });
      out.push({ topic: topics.likes, message: toEventMessage(e) });
    } else if (r < 0.95) {
      v.comments++;
      const e = createEvent({ type: SOCIAL_EVENT_TYPES.commentCreated, key: videoId, actor: user(), payload: { videoId, videoOwnerId: randomUUID(), comment: { id: randomUUID() }, parentAuthorId: null } });
      out.push({ topic: topics.comments, message: toEventMessage(e) });
    } else {
      v.comments--;
      const e = createEvent({ type: SOCIAL_EVENT_TYPES.commentDeleted, key: videoId, actor: user(), payload: { videoId, commentId: randomUUID(), parentId: null, mode: 'removed', deletedBy: 'author' } });
      out.push({ topic: topics.comments, message: toEventMessage(e) });
    }
  }
  return out;
}

export function newExpected(): Expected {
  return { videos: new Map(), channels: new Map() };
}

/** Publishes in chunks per topic (one publish call per topic per chunk). */
export async function publishAll(bus: EventBus, events: Generated[], chunk = 1000): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    const byTopic = new Map<string, EventMessage<unknown>[]>();
    for (const { topic, message } of events.slice(i, i + chunk)) {
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    await Promise.all([...byTopic].map(([topic, messages]) => bus.publish(topic, messages)));
  }
}

/**
 * The differences between the database's sums of shards and the expected counts (empty when exact), for the
 * videos of `universe` (every video the test may have published for; others belong to other tests).
 */
export async function countDifferences(pool: pg.Pool, expected: Expected, universe: readonly string[]): Promise<string[]> {
  const diffs: string[] = [];
  const { rows: vrows } = await pool.query<{ id: string; views: string; likes: string; dislikes: string; comments: string }>(
    `SELECT video_id::text AS id, sum(views)::text AS views, sum(likes)::text AS likes, sum(dislikes)::text AS dislikes, sum(comments)::text AS comments
     FROM analytics.video_counters WHERE video_id = ANY($1::uuid[]) GROUP BY video_id`,
    [universe],
  );
  const got = new Map(vrows.map((r) => [r.id, { views: Number(r.views), likes: Number(r.likes), dislikes: Number(r.dislikes), comments: Number(r.comments) }]));
  for (const [id, want] of expected.videos) {
    const g = got.get(id) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 };
    if (JSON.stringify(g) !== JSON.stringify(want)) diffs.push(`video ${id}: want ${JSON.stringify(want)} got ${JSON.stringify(g)}`);
  }
  for (const id of got.keys()) if (!expected.videos.has(id)) diffs.push(`video ${id} counted but never published`);
  const { rows: crows } = await pool.query<{ id: string; subscribers: string }>(
    'SELECT channel_id::text AS id, sum(subscribers)::text AS subscribers FROM analytics.channel_counters GROUP BY channel_id',
  );
  const gotc = new Map(crows.map((r) => [r.id, Number(r.subscribers)]));
  for (const [id, want] of expected.channels) if ((gotc.get(id) ?? 0) !== want) diffs.push(`channel ${id}: want ${want} got ${gotc.get(id) ?? 0}`);
  return diffs;
}
