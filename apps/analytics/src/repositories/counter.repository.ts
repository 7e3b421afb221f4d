import type pg from 'pg';
import type { Database } from '@kinora/db';

export const SHARDS = 100;

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

export interface VideoCounts extends VideoDelta {}
export interface ChannelCounts extends ChannelDelta {}

const pick = (): number => Math.floor(Math.random() * SHARDS);

/** All SQL of the counters: claims and offsets, the sharded upserts, the reads that sum the shards. */
export class CounterRepository {
  constructor(private readonly database: Database) {}

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
        videoRows: await upsertVideos(client, videos),
        channelRows: await upsertChannels(client, channels),
        hourlyRows: await upsertHourly(client, hourly),
        offsetRows: 0,
      };
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
    await upsertChannels(client, new Map([[channelId, delta]]));
  }

  async videoCounts(videoIds: readonly string[]): Promise<Map<string, VideoCounts>> {
    const out = new Map<string, VideoCounts>();
    if (videoIds.length === 0) return out;
    const { rows } = await this.database.readPool().query<{ video_id: string; views: string; likes: string; dislikes: string; comments: string }>(
      `SELECT video_id::text, sum(views)::text AS views, sum(likes)::text AS likes, sum(dislikes)::text AS dislikes, sum(comments)::text AS comments
       FROM analytics.video_counters WHERE video_id = ANY($1::uuid[]) GROUP BY video_id`,
      [videoIds],
    );
    for (const r of rows) out.set(r.video_id, { views: Number(r.views), likes: Number(r.likes), dislikes: Number(r.dislikes), comments: Number(r.comments) });
    return out;
  }

  async channelCounts(channelIds: readonly string[]): Promise<Map<string, ChannelCounts>> {
    const out = new Map<string, ChannelCounts>();
    if (channelIds.length === 0) return out;
    const { rows } = await this.database.readPool().query<{ channel_id: string; subscribers: string; videos: string }>(
      `SELECT channel_id::text, sum(subscribers)::text AS subscribers, sum(videos)::text AS videos
       FROM analytics.channel_counters WHERE channel_id = ANY($1::uuid[]) GROUP BY channel_id`,
      [channelIds],
    );
    for (const r of rows) out.set(r.channel_id, { subscribers: Number(r.subscribers), videos: Number(r.videos) });
    return out;
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

/** Rows in (id, shard) order so concurrent flushes lock shared rows in the same order (no deadlock cycle). */
function sortedEntries<T>(m: Map<string, T>): Array<[string, number, T]> {
  return [...m].map(([id, d]) => [id, pick(), d] as [string, number, T]).sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
}

async function upsertVideos(client: pg.ClientBase, videos: Map<string, VideoDelta>): Promise<number> {
  if (videos.size === 0) return 0;
  const rows = sortedEntries(videos);
  const res = await client.query(
    `INSERT INTO analytics.video_counters AS c (video_id, shard, views, likes, dislikes, comments)
     SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (video_id, shard) DO UPDATE SET views = c.views + excluded.views, likes = c.likes + excluded.likes,
       dislikes = c.dislikes + excluded.dislikes, comments = c.comments + excluded.comments`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2].views), rows.map((r) => r[2].likes), rows.map((r) => r[2].dislikes), rows.map((r) => r[2].comments)],
  );
  return res.rowCount ?? 0;
}

async function upsertChannels(client: pg.ClientBase, channels: Map<string, ChannelDelta>): Promise<number> {
  if (channels.size === 0) return 0;
  const rows = sortedEntries(channels);
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
