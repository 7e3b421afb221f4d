import type pg from 'pg';
import { ANALYTICS_EVENT_TYPES, SOCIAL_EVENT_TYPES } from '@kinora/contracts';
import type { ConsumedBatch } from '@kinora/events';
import { isUuid } from '@kinora/http';

/** Half-life of a trending score: engagement a day old counts half. */
export const TRENDING_HALF_LIFE_SEC = 24 * 3600;
/** What one view / one like adds to a video's trending score. */
export const VIEW_SCORE = 1;
export const LIKE_SCORE = 3;

/** An engagement event reduced to what the model keeps. */
export type Engagement =
  | { eventId: string; kind: 'view'; videoId: string; userId: string | null; at: Date }
  | { eventId: string; kind: 'rating'; videoId: string; userId: string; liked: boolean; likesDelta: number; at: Date };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a `VideoViewed.v1` (on `video.views`) or `VideoRatingChanged.v1` (on `video.likes`) envelope; anything
 * else (other types, malformed values) is null and skipped. Views of anonymous viewers have no user.
 */
export function parseEngagement(value: unknown): Engagement | null {
  if (!isObject(value) || typeof value.id !== 'string' || !isUuid(value.id) || !isObject(value.payload)) return null;
  const p = value.payload;
  const at = typeof value.occurredAt === 'string' && !Number.isNaN(Date.parse(value.occurredAt)) ? new Date(value.occurredAt) : new Date();
  if (typeof p.videoId !== 'string' || !isUuid(p.videoId)) return null;
  if (value.type === ANALYTICS_EVENT_TYPES.videoViewed) {
    const actor = isObject(value.actor) ? value.actor : {};
    const userId = actor.type === 'user' && typeof actor.id === 'string' && isUuid(actor.id) ? actor.id : null;
    return { eventId: value.id, kind: 'view', videoId: p.videoId, userId, at };
  }
  if (value.type === SOCIAL_EVENT_TYPES.videoRatingChanged) {
    if (typeof p.userId !== 'string' || !isUuid(p.userId) || typeof p.value !== 'string') return null;
    const deltas = isObject(p.deltas) ? p.deltas : {};
    const likesDelta = typeof deltas.likes === 'number' ? deltas.likes : 0;
    return { eventId: value.id, kind: 'rating', videoId: p.videoId, userId: p.userId, liked: p.value === 'like', likesDelta, at };
  }
  return null;
}

/** Adds `delta` at time `at` to a video's decayed trending score (events may arrive out of time order). */
async function bumpTrending(client: pg.ClientBase, videoId: string, delta: number, at: Date): Promise<void> {
  if (delta === 0) return;
  await client.query(
    `INSERT INTO recommendation.trending AS t (video_id, score, updated_at) VALUES ($1, GREATEST($2::double precision, 0), $3)
     ON CONFLICT (video_id) DO UPDATE SET
       score = GREATEST(0,
         t.score * power(2, -extract(epoch FROM (GREATEST(t.updated_at, EXCLUDED.updated_at) - t.updated_at)) / $4)
         + $2::double precision * power(2, -extract(epoch FROM (GREATEST(t.updated_at, EXCLUDED.updated_at) - EXCLUDED.updated_at)) / $4)),
       updated_at = GREATEST(t.updated_at, EXCLUDED.updated_at)`,
    [videoId, delta, at, TRENDING_HALF_LIFE_SEC],
  );
  await client.query(
    `UPDATE recommendation.trending
     SET rank = CASE WHEN score > 0 THEN ln(score) / ln(2) + extract(epoch FROM updated_at) / $2 END
     WHERE video_id = $1`,
    [videoId, TRENDING_HALF_LIFE_SEC],
  );
}

/**
 * Applies one batch of engagement events in the caller's transaction: each event once (its envelope id is
 * recorded in `processed_events`), signed-in views and ratings into `engagement`, views and likes into `trending`.
 * Returns how many events changed something.
 */
export async function applyEngagement(client: pg.ClientBase, batch: ConsumedBatch<unknown>): Promise<number> {
  let applied = 0;
  for (const m of batch.messages) {
    const e = parseEngagement(m.value);
    if (!e) continue;
    const fresh = await client.query('INSERT INTO recommendation.processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [e.eventId]);
    if (fresh.rowCount === 0) continue;
    applied++;
    if (e.kind === 'view') {
      if (e.userId) {
        await client.query(
          `INSERT INTO recommendation.engagement AS g (user_id, video_id, views, last_at) VALUES ($1, $2, 1, $3)
           ON CONFLICT (user_id, video_id) DO UPDATE SET views = g.views + 1, last_at = GREATEST(g.last_at, EXCLUDED.last_at)`,
          [e.userId, e.videoId, e.at],
        );
      }
      await bumpTrending(client, e.videoId, VIEW_SCORE, e.at);
    } else {
      await client.query(
        `INSERT INTO recommendation.engagement AS g (user_id, video_id, liked, last_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, video_id) DO UPDATE SET liked = EXCLUDED.liked, last_at = GREATEST(g.last_at, EXCLUDED.last_at)`,
        [e.userId, e.videoId, e.liked, e.at],
      );
      await bumpTrending(client, e.videoId, LIKE_SCORE * e.likesDelta, e.at);
    }
  }
  return applied;
}
