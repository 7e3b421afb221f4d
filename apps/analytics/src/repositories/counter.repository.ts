import type pg from 'pg';
import { COUNTER_EVENT_TYPES, TOPICS, type ChannelCountersV1, type VideoCountersV1 } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import { createEvent, toEventMessage, type TransactionalPublisher } from '@kinora/events';

/** Shards per entity unless `COUNTER_SHARDS` says otherwise; the rows allow shards 0 to {@link MAX_SHARDS} - 1. */
export const SHARDS = 100;
export const MAX_SHARDS = 10_000;

export interface VideoDelta {
  views: number;
  likes: number;
  dislikes: number;
  comments: number;
}

export interface ChannelDelta {
  subscribers: number;
  videos: number;
}

export interface HourlyDelta {
  videoId: string;
  /** Epoch ms of the hour's start (UTC). */
  hour: number;
  views: number;
  likes: number;
  comments: number;
}

/** A partition's position change in a flush: from `from` (what the row must still say) to `next`. */
export interface OffsetAdvance {
  topic: string;
  partition: number;
  /** The epoch this member claimed the partition with. */
  epoch: string;
  /** The stored next_offset this member started from (null: none stored yet). */
  from: string | null;
  next: string;
}

export interface Claim {
  epoch: string;
  nextOffset: string | null;
}

export interface FlushRows {
  videoRows: number;
  channelRows: number;
  hourlyRows: number;
  offsetRows: number;
}



const ANALYTICS_ACTOR = { type: 'service', id: 'analytics' } as const;

/**
 * All SQL of the counters: claims and offsets, the sharded upserts, the reads that sum the shards. With a
 * `publisher`, every transaction that changes totals also bumps the changed entities' versions and records their new
 * totals as `analytics.counters` events (the outbox: they exist if and only if the change commits).
 */
export class CounterRepository {
  /** Shards a flush spreads its deltas over (a read sums every shard, so this may change between runs). */
  readonly shards: number;

  constructor(
    private readonly database: Database,
    private readonly publisher?: TransactionalPublisher,
    options: { shards?: number } = {},
  ) {
    const shards = options.shards ?? SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new RangeError(`counter shards must be an integer between 1 and ${MAX_SHARDS} (got ${shards})`);
    this.shards = shards;
  }

  /** Takes a partition for a member: bumps its epoch (fencing the previous owner's flushes), returns the stored position. */
  async claim(group: string, topic: string, partition: number): Promise<Claim> {
    const { rows } = await this.database.primary.query<{ next_offset: string | null; epoch: string }>(
      `INSERT INTO analytics.consumer_offsets (group_id, topic, partition) VALUES ($1, $2, $3)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET epoch = consumer_offsets.epoch + 1, updated_at = now()
       RETURNING next_offset::text AS next_offset, epoch::text AS epoch`,
      [group, topic, partition],
    );
    return { epoch: rows[0]!.epoch, nextOffset: rows[0]!.next_offset };
  }

  /**
   * One transaction: locks the offset rows of the advancing partitions and keeps those still claimed by this member
   * at the expected position (`accept`), then writes the deltas `build` returns for them and their new offsets.
   * Returns the partitions refused (claimed by another member meanwhile) and the rows written.
   */
  async flush(
    group: string,
    advances: OffsetAdvance[],
    build: (accepted: Set<string>) => { videos: Map<string, VideoDelta>; channels: Map<string, ChannelDelta>; hourly: HourlyDelta[] },
  ): Promise<{ refused: OffsetAdvance[]; rows: FlushRows }> {
    return this.database.transaction(async (client) => {
      const sorted = [...advances].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      const { rows: current } = await client.query<{ topic: string; partition: number; next_offset: string | null; epoch: string }>(
        `SELECT topic, partition, next_offset::text AS next_offset, epoch::text AS epoch FROM analytics.consumer_offsets
         WHERE group_id = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
         ORDER BY topic, partition FOR UPDATE`,
        [group, sorted.map((a) => a.topic), sorted.map((a) => a.partition)],
      );
      const now = new Map(current.map((r) => [`${r.topic}/${r.partition}`, r]));
      const accepted = new Set<string>();
      const refused: OffsetAdvance[] = [];
      for (const a of sorted) {
        const row = now.get(`${a.topic}/${a.partition}`);
        if (row && row.epoch === a.epoch && row.next_offset === a.from) accepted.add(`${a.topic}/${a.partition}`);
        else refused.push(a);
      }
      const { videos, channels, hourly } = build(accepted);
      const rows: FlushRows = {
        videoRows: await upsertVideos(client, videos, this.shards),
        channelRows: await upsertChannels(client, channels, this.shards),
        hourlyRows: await upsertHourly(client, hourly),
        offsetRows: 0,
      };
      await this.announce(client, [...videos.keys()], [...channels.keys()]);
      const moving = sorted.filter((a) => accepted.has(`${a.topic}/${a.partition}`));
      if (moving.length > 0) {
        const res = await client.query(
          `UPDATE analytics.consumer_offsets o SET next_offset = v.next, updated_at = now()
           FROM unnest($2::text[], $3::int[], $4::bigint[]) AS v(topic, partition, next)
           WHERE o.group_id = $1 AND o.topic = v.topic AND o.partition = v.partition`,
          [group, moving.map((a) => a.topic), moving.map((a) => a.partition), moving.map((a) => a.next)],
        );
        rows.offsetRows = res.rowCount ?? 0;
      }
      return { refused, rows };
    });
  }

  /** Adds to a channel's counters in the caller's transaction (the video projection's change handler). */
  async addChannelDelta(client: pg.ClientBase, channelId: string, delta: ChannelDelta): Promise<void> {
    await upsertChannels(client, new Map([[channelId, delta]]), this.shards);
    await this.announce(client, [], [channelId]);
  }

  /**
   * In the changing transaction: bumps the versions of these entities (in id order, so concurrent flushes lock them
   * in one order), then, in a later statement that sees every change committed before the bump, reads their totals
   * and records them as events. Called after the deltas are written.
   */
  private async announce(client: pg.ClientBase, videoIds: string[], channelIds: string[]): Promise<void> {
    if (!this.publisher) return;
    await this.announceKind(client, VIDEO_ANNOUNCEMENT, videoIds);
    await this.announceKind(client, CHANNEL_ANNOUNCEMENT, channelIds);
  }

  private async announceKind<T>(client: pg.ClientBase, kind: Announcement<T>, entityIds: string[]): Promise<void> {
    if (entityIds.length === 0) return;
    const ids = [...new Set(entityIds)].sort();
    await client.query(
      `INSERT INTO analytics.${kind.table} AS v (${kind.column}, version)
       SELECT id, 1 FROM unnest($1::uuid[]) AS t(id) ORDER BY id
       ON CONFLICT (${kind.column}) DO UPDATE SET version = v.version + 1`,
      [ids],
    );
    const totals = await kind.read(client, ids);
    await this.publisher!.publish(
      client,
      TOPICS.counters,
      totals.map((payload) => toEventMessage(createEvent({ type: kind.type, key: kind.key(payload), actor: ANALYTICS_ACTOR, payload }))),
    );
  }

  /** Totals with their versions, from a read replica (version "0": never changed since versions exist). */
  videoCounters(videoIds: readonly string[]): Promise<VideoCountersV1[]> {
    return readVideoCounters(this.database.readPool(), videoIds);
  }

  channelCounters(channelIds: readonly string[]): Promise<ChannelCountersV1[]> {
    return readChannelCounters(this.database.readPool(), channelIds);
  }

  /** Stored positions of a group (for lag). */
  async positions(group: string): Promise<Array<{ topic: string; partition: number; nextOffset: string | null }>> {
    const { rows } = await this.database.primary.query<{ topic: string; partition: number; next_offset: string | null }>(
      'SELECT topic, partition, next_offset::text AS next_offset FROM analytics.consumer_offsets WHERE group_id = $1',
      [group],
    );
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.next_offset }));
  }
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** One row per id asked (lower-cased), zeros for ids never counted; negative sums (never expected) read as 0. */
async function readVideoCounters(db: Queryable, videoIds: readonly string[]): Promise<VideoCountersV1[]> {
  if (videoIds.length === 0) return [];
  const ids = [...new Set(videoIds.map((id) => id.toLowerCase()))];
  const { rows } = await db.query<{ video_id: string; version: string; views: string; likes: string; dislikes: string; comments: string }>(
    `SELECT i.id::text AS video_id, coalesce(v.version, 0)::text AS version,
            coalesce(s.views, 0)::text AS views, coalesce(s.likes, 0)::text AS likes,
            coalesce(s.dislikes, 0)::text AS dislikes, coalesce(s.comments, 0)::text AS comments
     FROM unnest($1::uuid[]) AS i(id)
     LEFT JOIN analytics.video_counter_versions v ON v.video_id = i.id
     LEFT JOIN (SELECT video_id, sum(views) AS views, sum(likes) AS likes, sum(dislikes) AS dislikes, sum(comments) AS comments
                FROM analytics.video_counters WHERE video_id = ANY($1::uuid[]) GROUP BY video_id) s ON s.video_id = i.id`,
    [ids],
  );
  return rows.map((r) => ({
    videoId: r.video_id,
    version: r.version,
    views: nonNegative(r.views),
    likes: nonNegative(r.likes),
    dislikes: nonNegative(r.dislikes),
    comments: nonNegative(r.comments),
  }));
}

async function readChannelCounters(db: Queryable, channelIds: readonly string[]): Promise<ChannelCountersV1[]> {
  if (channelIds.length === 0) return [];
  const ids = [...new Set(channelIds.map((id) => id.toLowerCase()))];
  const { rows } = await db.query<{ channel_id: string; version: string; subscribers: string; videos: string }>(
    `SELECT i.id::text AS channel_id, coalesce(v.version, 0)::text AS version,
            coalesce(s.subscribers, 0)::text AS subscribers, coalesce(s.videos, 0)::text AS videos
     FROM unnest($1::uuid[]) AS i(id)
     LEFT JOIN analytics.channel_counter_versions v ON v.channel_id = i.id
     LEFT JOIN (SELECT channel_id, sum(subscribers) AS subscribers, sum(videos) AS videos
                FROM analytics.channel_counters WHERE channel_id = ANY($1::uuid[]) GROUP BY channel_id) s ON s.channel_id = i.id`,
    [ids],
  );
  return rows.map((r) => ({ channelId: r.channel_id, version: r.version, subscriberCount: nonNegative(r.subscribers), videoCount: nonNegative(r.videos) }));
}

const nonNegative = (n: string): number => Math.max(0, Number(n));

/** How one kind of entity is announced: its version table and key column, its totals, its event. */
interface Announcement<T> {
  table: string;
  column: string;
  type: string;
  read: (db: Queryable, ids: readonly string[]) => Promise<T[]>;
  key: (payload: T) => string;
}

const VIDEO_ANNOUNCEMENT: Announcement<VideoCountersV1> = {
  table: 'video_counter_versions',
  column: 'video_id',
  type: COUNTER_EVENT_TYPES.videoCountersChanged,
  read: readVideoCounters,
  key: (p) => p.videoId,
};

const CHANNEL_ANNOUNCEMENT: Announcement<ChannelCountersV1> = {
  table: 'channel_counter_versions',
  column: 'channel_id',
  type: COUNTER_EVENT_TYPES.channelCountersChanged,
  read: readChannelCounters,
  key: (p) => p.channelId,
};

/** Rows in (id, shard) order so concurrent flushes lock shared rows in the same order (no deadlock cycle). */
function sortedEntries<T>(m: Map<string, T>, shards: number): Array<[string, number, T]> {
  return [...m].map(([id, d]) => [id, Math.floor(Math.random() * shards), d] as [string, number, T]).sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
}

async function upsertVideos(client: pg.ClientBase, videos: Map<string, VideoDelta>, shards: number): Promise<number> {
  if (videos.size === 0) return 0;
  const rows = sortedEntries(videos, shards);
  const res = await client.query(
    `INSERT INTO analytics.video_counters AS c (video_id, shard, views, likes, dislikes, comments)
     SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (video_id, shard) DO UPDATE SET views = c.views + excluded.views, likes = c.likes + excluded.likes,
       dislikes = c.dislikes + excluded.dislikes, comments = c.comments + excluded.comments`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2].views), rows.map((r) => r[2].likes), rows.map((r) => r[2].dislikes), rows.map((r) => r[2].comments)],
  );
  return res.rowCount ?? 0;
}

async function upsertChannels(client: pg.ClientBase, channels: Map<string, ChannelDelta>, shards: number): Promise<number> {
  if (channels.size === 0) return 0;
  const rows = sortedEntries(channels, shards);
  const res = await client.query(
    `INSERT INTO analytics.channel_counters AS c (channel_id, shard, subscribers, videos)
     SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::bigint[], $4::bigint[])
     ON CONFLICT (channel_id, shard) DO UPDATE SET subscribers = c.subscribers + excluded.subscribers, videos = c.videos + excluded.videos`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2].subscribers), rows.map((r) => r[2].videos)],
  );
  return res.rowCount ?? 0;
}

async function upsertHourly(client: pg.ClientBase, hourly: HourlyDelta[]): Promise<number> {
  if (hourly.length === 0) return 0;
  const rows = [...hourly].sort((a, b) => (a.videoId === b.videoId ? a.hour - b.hour : a.videoId < b.videoId ? -1 : 1));
  const res = await client.query(
    `INSERT INTO analytics.video_hourly AS f (video_id, hour, views, likes, comments)
     SELECT v.video_id, to_timestamp(v.hour_ms / 1000.0), v.views, v.likes, v.comments
     FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(video_id, hour_ms, views, likes, comments)
     ON CONFLICT (video_id, hour) DO UPDATE SET views = f.views + excluded.views, likes = f.likes + excluded.likes, comments = f.comments + excluded.comments`,
    [rows.map((r) => r.videoId), rows.map((r) => r.hour), rows.map((r) => r.views), rows.map((r) => r.likes), rows.map((r) => r.comments)],
  );
  return res.rowCount ?? 0;
}
