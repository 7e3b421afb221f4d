import type { Database } from '@kinora/db';

export const DAY_MS = 86_400_000;
const PARTITION = /^video_hourly_p(\d{4})(\d{2})(\d{2})$/;

/** `video_hourly_pYYYYMMDD` for the UTC day starting at `dayMs`. */
export function partitionName(dayMs: number): string {
  return `video_hourly_p${new Date(dayMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export interface SeriesPoint {
  t: string;
  views: number;
  likes: number;
  comments: number;
}

/** The daily partitions of `analytics.video_hourly` and the owner's series read from them. */
export class FactsRepository {
  /** Days known to have a partition (only ever grows while the process lives, except by `dropBefore`). */
  private readonly known = new Set<number>();

  constructor(private readonly database: Database) {}

  /** The days (UTC midnight, epoch ms) that have a partition. */
  async partitionDays(): Promise<number[]> {
    const { rows } = await this.database.primary.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
       WHERE n.nspname = 'analytics' AND p.relname = 'video_hourly'`,
    );
    const days: number[] = [];
    for (const r of rows) {
      const m = PARTITION.exec(r.name);
      if (m) days.push(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    }
    return days.sort((a, b) => a - b);
  }

  /** Creates the partition of each day that has none (concurrent creators are harmless). */
  async ensureDays(days: Iterable<number>): Promise<void> {
    for (const day of days) {
      if (this.known.has(day)) continue;
      const name = partitionName(day);
      try {
        await this.database.primary.query(
          `CREATE TABLE IF NOT EXISTS analytics.${name} PARTITION OF analytics.video_hourly
           FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`,
        );
      } catch (err) {
        // Another process created it between our check and our CREATE.
        if (!/already exists/.test((err as Error).message)) throw err;
      }
      this.known.add(day);
    }
  }

  /** Drops the partitions of days before `cutoffDay`; returns their names. */
  async dropBefore(cutoffDay: number): Promise<string[]> {
    const dropped: string[] = [];
    for (const day of await this.partitionDays()) {
      if (day >= cutoffDay) continue;
      const name = partitionName(day);
      await this.database.primary.query(`DROP TABLE IF EXISTS analytics.${name}`);
      this.known.delete(day);
      dropped.push(name);
    }
    return dropped;
  }

  /** Buckets of `granularity` from `from` (inclusive) to `to` (exclusive), zeros where nothing happened. */
  async series(videoId: string, from: Date, to: Date, granularity: 'hour' | 'day'): Promise<SeriesPoint[]> {
    const { rows } = await this.database.readPool().query<{ t: Date; views: string; likes: string; comments: string }>(
      `WITH buckets AS (
         SELECT generate_series(date_trunc($4, $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3::timestamptz - interval '1 microsecond', ('1 ' || $4)::interval) AS t
       ), facts AS (
         SELECT date_trunc($4, hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, sum(views) AS views, sum(likes) AS likes, sum(comments) AS comments
         FROM analytics.video_hourly WHERE video_id = $1 AND hour >= date_trunc($4, $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AND hour < $3
         GROUP BY 1
       )
       SELECT b.t, coalesce(f.views, 0)::text AS views, coalesce(f.likes, 0)::text AS likes, coalesce(f.comments, 0)::text AS comments
       FROM buckets b LEFT JOIN facts f USING (t) ORDER BY b.t`,
      [videoId, from.toISOString(), to.toISOString(), granularity],
    );
    return rows.map((r) => ({ t: new Date(r.t).toISOString(), views: Number(r.views), likes: Number(r.likes), comments: Number(r.comments) }));
  }
}
