import type { Database } from '@kinora/db';

/** A recommendable video as the projection has it. */
export interface CandidateRow {
  video_id: string;
  channel_id: string;
  title: string;
  tags: string[];
  visibility: 'public';
  state: 'ready';
  published_at: Date;
  duration_sec: number | null;
}

const COLUMNS = 'v.video_id, v.channel_id, v.title, v.tags, v.visibility, v.state, v.published_at, v.duration_sec';
/** Ready, public, not deleted: the only videos ever recommended. */
const PUBLISHED = `v.state = 'ready' AND v.visibility = 'public' AND NOT v.deleted`;
/** How many of a video's (or a user's seeds') most recent audience members the co-engagement looks at. */
const AUDIENCE_CAP = 1000;
/** How many of a user's most recently engaged videos seed the home feed. */
const SEEDS = 20;

/** All SQL on the `recommendation` schema's model (engagement, trending) joined with its video projection. */
export class RecommendationRepository {
  constructor(private readonly db: Database) {}

  /**
   * Published videos engaged by the audience of `videoId` (users who watched or liked it), most shared users first,
   * then by the summed weight of the shared engagement.
   */
  async coEngaged(videoId: string, exclude: string[], limit: number): Promise<CandidateRow[]> {
    const { rows } = await this.db.readPool().query<CandidateRow>(
      `WITH audience AS (
         SELECT user_id, weight FROM recommendation.engagement
         WHERE video_id = $1 AND weight > 0 ORDER BY last_at DESC LIMIT ${AUDIENCE_CAP}
       ), co AS (
         SELECT e.video_id, count(*) AS users, sum(a.weight * e.weight) AS score
         FROM recommendation.engagement e JOIN audience a ON a.user_id = e.user_id
         WHERE e.weight > 0 AND e.video_id <> ALL($2::uuid[])
         GROUP BY e.video_id
       )
       SELECT ${COLUMNS} FROM co JOIN recommendation.video_projection v ON v.video_id = co.video_id
       WHERE ${PUBLISHED}
       ORDER BY co.users DESC, co.score DESC, v.published_at DESC, v.video_id DESC
       LIMIT $3`,
      [videoId, exclude, limit],
    );
    return rows;
  }

  /**
   * Published videos engaged by the users who share engagement with `userId`'s most recent videos (its seeds),
   * never one `userId` engaged with itself.
   */
  async forUser(userId: string, exclude: string[], limit: number): Promise<CandidateRow[]> {
    const { rows } = await this.db.readPool().query<CandidateRow>(
      `WITH seeds AS (
         SELECT video_id FROM recommendation.engagement
         WHERE user_id = $1 AND weight > 0 ORDER BY last_at DESC LIMIT ${SEEDS}
       ), audience AS (
         SELECT e.user_id, max(e.weight) AS weight, max(e.last_at) AS last_at
         FROM recommendation.engagement e JOIN seeds s ON s.video_id = e.video_id
         WHERE e.user_id <> $1 AND e.weight > 0
         GROUP BY e.user_id ORDER BY max(e.last_at) DESC LIMIT ${AUDIENCE_CAP}
       ), co AS (
         SELECT e.video_id, count(*) AS users, sum(a.weight * e.weight) AS score
         FROM recommendation.engagement e JOIN audience a ON a.user_id = e.user_id
         WHERE e.weight > 0 AND e.video_id <> ALL($2::uuid[])
           AND NOT EXISTS (SELECT 1 FROM recommendation.engagement m WHERE m.user_id = $1 AND m.video_id = e.video_id AND m.weight > 0)
         GROUP BY e.video_id
       )
       SELECT ${COLUMNS} FROM co JOIN recommendation.video_projection v ON v.video_id = co.video_id
       WHERE ${PUBLISHED}
       ORDER BY co.users DESC, co.score DESC, v.published_at DESC, v.video_id DESC
       LIMIT $3`,
      [userId, exclude, limit],
    );
    return rows;
  }

  /** The videos `userId` watched or liked (to leave out of its feed) and the tags of the most recent ones. */
  async engagedBy(userId: string): Promise<{ videoIds: string[]; tags: string[] }> {
    const { rows } = await this.db.readPool().query<{ video_id: string; tags: string[] | null; recent: boolean }>(
      `SELECT e.video_id, v.tags, row_number() OVER (ORDER BY e.last_at DESC) <= ${SEEDS} AS recent
       FROM recommendation.engagement e LEFT JOIN recommendation.video_projection v ON v.video_id = e.video_id
       WHERE e.user_id = $1 AND e.weight > 0
       ORDER BY e.last_at DESC LIMIT 5000`,
      [userId],
    );
    return { videoIds: rows.map((r) => r.video_id), tags: [...new Set(rows.filter((r) => r.recent).flatMap((r) => r.tags ?? []))] };
  }

  /** Published videos sharing tags with `tags` (case-insensitive), most shared tags first, then newest. */
  async tagged(tags: string[], exclude: string[], limit: number): Promise<CandidateRow[]> {
    const lower = [...new Set(tags.map((t) => t.toLowerCase()))];
    if (lower.length === 0) return [];
    const { rows } = await this.db.readPool().query<CandidateRow>(
      `SELECT ${COLUMNS} FROM (
         SELECT v.*, (SELECT count(DISTINCT lower(t)) FROM unnest(v.tags) t WHERE lower(t) = ANY($1::text[])) AS overlap
         FROM recommendation.video_projection v
         WHERE ${PUBLISHED} AND v.video_id <> ALL($2::uuid[])
       ) v
       WHERE v.overlap > 0
       ORDER BY v.overlap DESC, v.published_at DESC, v.video_id DESC
       LIMIT $3`,
      [lower, exclude, limit],
    );
    return rows;
  }

  /** A channel's newest published videos. */
  async ofChannel(channelId: string, exclude: string[], limit: number): Promise<CandidateRow[]> {
    const { rows } = await this.db.readPool().query<CandidateRow>(
      `SELECT ${COLUMNS} FROM recommendation.video_projection v
       WHERE v.channel_id = $1 AND ${PUBLISHED} AND v.video_id <> ALL($2::uuid[])
       ORDER BY v.published_at DESC, v.video_id DESC
       LIMIT $3`,
      [channelId, exclude, limit],
    );
    return rows;
  }

  /**
   * Published videos by trending score now (the `rank` index: the same order), then the newest ones without a score
   * to fill up.
   */
  async popular(exclude: string[], limit: number): Promise<CandidateRow[]> {
    const pool = this.db.readPool();
    const { rows } = await pool.query<CandidateRow>(
      `SELECT ${COLUMNS} FROM recommendation.trending t
       JOIN recommendation.video_projection v ON v.video_id = t.video_id
       WHERE t.rank IS NOT NULL AND ${PUBLISHED} AND v.video_id <> ALL($1::uuid[])
       ORDER BY t.rank DESC, v.published_at DESC, v.video_id DESC
       LIMIT $2`,
      [exclude, limit],
    );
    if (rows.length >= limit) return rows;
    const { rows: newest } = await pool.query<CandidateRow>(
      `SELECT ${COLUMNS} FROM recommendation.video_projection v
       WHERE ${PUBLISHED} AND v.video_id <> ALL($1::uuid[])
         AND NOT EXISTS (SELECT 1 FROM recommendation.trending t WHERE t.video_id = v.video_id AND t.rank IS NOT NULL)
       ORDER BY v.published_at DESC, v.video_id DESC
       LIMIT $2`,
      [exclude, limit - rows.length],
    );
    return [...rows, ...newest];
  }
}
