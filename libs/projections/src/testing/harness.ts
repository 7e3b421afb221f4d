import type pg from 'pg';
import type { VideoChangedV1 } from '@kinora/contracts';
import type { EventBus, EventEnvelope } from '@kinora/events';
import { uuidv7 } from 'uuidv7';
import { publishVideoChanged, videoChangedEvent } from '../video-changed.js';

async function poll(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `<schema>.video_projection` holds the video at `version` or newer. */
export async function waitForProjection(pool: pg.Pool, schema: string, videoId: string, version = 1, timeoutMs = 10_000): Promise<void> {
  await poll(
    `projection ${schema} of video ${videoId} v${version}`,
    async () => (await pool.query(`SELECT 1 FROM ${schema}.video_projection WHERE video_id = $1 AND version >= $2`, [videoId, version])).rowCount === 1,
    timeoutMs,
  );
}

/**
 * Publishes a `VideoChanged.v1` (a ready public video unless `patch` says otherwise; new ids by default) and waits
 * until the service's projection in `schema` applied it. Returns the payload.
 */
export async function publishVideo(
  ctx: { bus: EventBus; pool: pg.Pool; schema: string },
  patch: Partial<VideoChangedV1> & { ownerId: string },
): Promise<VideoChangedV1> {
  const event = videoChangedEvent({ videoId: patch.videoId ?? uuidv7(), version: patch.version ?? 1, channelId: patch.channelId ?? uuidv7(), ...patch });
  await publishVideoChanged(ctx.bus, [event]);
  await waitForProjection(ctx.pool, ctx.schema, event.payload.videoId, event.payload.version);
  return event.payload;
}

/** Waits until `<schema>.outbox` is empty (everything relayed). */
export async function waitForOutbox(pool: pg.Pool, schema: string, timeoutMs = 20_000): Promise<void> {
  await poll(`outbox ${schema} drained`, async () => (await pool.query(`SELECT 1 FROM ${schema}.outbox LIMIT 1`)).rowCount === 0, timeoutMs);
}

/**
 * The events of `topic` in the in-process bus's log (schema `events`), optionally only those with one of `keys`,
 * in log order and deduplicated on the envelope id (delivery is at-least-once).
 */
export async function loggedEvents<T = any>(pool: pg.Pool, topic: string, keys?: string[]): Promise<EventEnvelope<T>[]> {
  const { rows } = await pool.query<{ value: EventEnvelope<T> }>(
    `SELECT value FROM events.log WHERE topic = $1 AND ($2::text[] IS NULL OR key = ANY($2)) ORDER BY partition, "offset"`,
    [topic, keys ?? null],
  );
  const seen = new Set<string>();
  return rows.map((r) => r.value).filter((e) => !seen.has(e.id) && !!seen.add(e.id));
}
