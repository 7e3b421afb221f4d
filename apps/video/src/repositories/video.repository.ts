import type pg from 'pg';
import type { Database } from '@kinora/db';
import type { VideoState, Visibility } from '@kinora/contracts';

export interface RenditionRecord {
  height: number;
  width: number;
  bandwidth: number;
  codecs: string;
}

/** A row of `videos.videos`, as the service sees it. */
export interface VideoRecord {
  id: string;
  ownerId: string;
  channelId: string;
  channelHandle: string;
  channelName: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  state: VideoState;
  failureReason: string | null;
  progress: number | null;
  durationSec: number | null;
  width: number | null;
  height: number | null;
  renditions: RenditionRecord[] | null;
  hlsKey: string | null;
  dashKey: string | null;
  thumbnailKey: string | null;
  storyboardVttKey: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date | null;
  trendingScore: number | null;
  deletedAt: Date | null;
}

interface VideoRow {
  id: string;
  owner_id: string;
  channel_id: string;
  channel_handle: string;
  channel_name: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  state: VideoState;
  failure_reason: string | null;
  progress: number | null;
  duration_sec: number | null;
  width: number | null;
  height: number | null;
  renditions: RenditionRecord[] | null;
  hls_key: string | null;
  dash_key: string | null;
  thumbnail_key: string | null;
  storyboard_vtt_key: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  trending_score: number | null;
  deleted_at: Date | null;
}

const COLUMNS = `id, owner_id, channel_id, channel_handle, channel_name, title, description, tags, visibility, state,
  failure_reason, progress, duration_sec, width, height, renditions, hls_key, dash_key, thumbnail_key,
  storyboard_vtt_key, version, created_at, updated_at, published_at, trending_score, deleted_at`;

function toRecord(r: VideoRow): VideoRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    channelId: r.channel_id,
    channelHandle: r.channel_handle,
    channelName: r.channel_name,
    title: r.title,
    description: r.description,
    tags: r.tags,
    visibility: r.visibility,
    state: r.state,
    failureReason: r.failure_reason,
    progress: r.progress,
    durationSec: r.duration_sec,
    width: r.width,
    height: r.height,
    renditions: r.renditions,
    hlsKey: r.hls_key,
    dashKey: r.dash_key,
    thumbnailKey: r.thumbnail_key,
    storyboardVttKey: r.storyboard_vtt_key,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    publishedAt: r.published_at,
    trendingScore: r.trending_score,
    deletedAt: r.deleted_at,
  };
}

/** Columns a state change may set (camelCase → column). */
const PATCHABLE = {
  title: 'title',
  description: 'description',
  tags: 'tags',
  visibility: 'visibility',
  state: 'state',
  failureReason: 'failure_reason',
  progress: 'progress',
  durationSec: 'duration_sec',
  width: 'width',
  height: 'height',
  renditions: 'renditions',
  hlsKey: 'hls_key',
  dashKey: 'dash_key',
  thumbnailKey: 'thumbnail_key',
  storyboardVttKey: 'storyboard_vtt_key',
  publishedAt: 'published_at',
  deletedAt: 'deleted_at',
} as const;
export type VideoPatch = { -readonly [K in keyof typeof PATCHABLE]?: VideoRecord[K] };

export type NewVideo = Pick<
  VideoRecord,
  'id' | 'ownerId' | 'channelId' | 'channelHandle' | 'channelName' | 'title' | 'description' | 'tags' | 'visibility' | 'createdAt'
>;

/** Search text: compatibility-normalised and lower-cased with Unicode rules (both documents and queries). */
export function searchText(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

const SEARCH_DOCUMENT = (title: string, tags: string, description: string) =>
  `setweight(to_tsvector('english', ${title}), 'A') || setweight(to_tsvector('english', ${tags}), 'B') ||
   setweight(to_tsvector('english', ${description}), 'C')`;

/** Public, ready, not deleted: what lists and search show. */
const LISTED = `visibility = 'public' AND state = 'ready' AND deleted_at IS NULL`;

export interface PageRequest {
  limit: number;
  after?: { sortValue: string | number; id: string };
}

/** All SQL on `videos.videos`. */
export class VideoRepository {
  constructor(private readonly db: Database) {}

  async insert(client: pg.ClientBase, v: NewVideo): Promise<VideoRecord> {
    const { rows } = await client.query<VideoRow>(
      `INSERT INTO videos.videos (id, owner_id, channel_id, channel_handle, channel_name, title, description, tags,
         visibility, state, created_at, updated_at, search)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'awaiting_upload', $10, $10, ${SEARCH_DOCUMENT('$11', '$12', '$13')})
       RETURNING ${COLUMNS}`,
      [
        v.id, v.ownerId, v.channelId, v.channelHandle, v.channelName, v.title, v.description, v.tags, v.visibility, v.createdAt,
        searchText(v.title), searchText(v.tags.join(' ')), searchText(v.description),
      ],
    );
    return toRecord(rows[0]!);
  }

  /** A live (not deleted) video, read with read-your-writes routing (or from the primary). */
  async findById(id: string, opts: { primary?: boolean } = {}): Promise<VideoRecord | undefined> {
    const pool = opts.primary ? this.db.latestPool() : this.db.readPool();
    const { rows } = await pool.query<VideoRow>(`SELECT ${COLUMNS} FROM videos.videos WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The row (deleted or not) locked for an update inside `client`'s transaction. */
  async lock(client: pg.ClientBase, id: string): Promise<VideoRecord | undefined> {
    const { rows } = await client.query<VideoRow>(`SELECT ${COLUMNS} FROM videos.videos WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Applies a change and bumps `version` (the version of the VideoChanged.v1 snapshot it publishes). The trending
   * score follows the publication time (see README: `sort=trending`).
   */
  async update(client: pg.ClientBase, id: string, patch: VideoPatch, opts: { bumpVersion?: boolean } = {}): Promise<VideoRecord> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [key, column] of Object.entries(PATCHABLE) as [keyof VideoPatch, string][]) {
      if (!(key in patch)) continue;
      let value = patch[key] as unknown;
      if (key === 'renditions' && value !== null && value !== undefined) value = JSON.stringify(value);
      params.push(value ?? null);
      sets.push(`${column} = $${params.length}`);
      // SET expressions see the old row: the score is computed from the new publication time itself.
      if (key === 'publishedAt') {
        sets.push(`trending_score = extract(epoch FROM $${params.length}::timestamptz) / 45000.0 + log(1 + popularity)`);
      }
    }
    if (opts.bumpVersion !== false) sets.push('version = version + 1');
    sets.push('updated_at = now()');
    const { rows } = await client.query<VideoRow>(`UPDATE videos.videos SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, params);
    if (!rows[0]) throw new Error(`video ${id} vanished during an update`);
    const updated = toRecord(rows[0]);
    if ('title' in patch || 'description' in patch || 'tags' in patch) {
      await client.query(`UPDATE videos.videos SET search = ${SEARCH_DOCUMENT('$2', '$3', '$4')} WHERE id = $1`, [
        id,
        searchText(updated.title),
        searchText(updated.tags.join(' ')),
        searchText(updated.description),
      ]);
    }
    return updated;
  }

  async listRecent(page: PageRequest, channelId?: string, opts: { primary?: boolean } = {}): Promise<VideoRecord[]> {
    const params: unknown[] = [page.limit + 1];
    let where = LISTED;
    if (channelId) {
      params.push(channelId);
      where += ` AND channel_id = $${params.length}`;
    }
    if (page.after) {
      params.push(page.after.sortValue, page.after.id);
      where += ` AND (published_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    const { rows } = await (opts.primary ? this.db.latestPool() : this.db.readPool()).query<VideoRow>(
      `SELECT ${COLUMNS} FROM videos.videos WHERE ${where} ORDER BY published_at DESC, id DESC LIMIT $1`,
      params,
    );
    return rows.map(toRecord);
  }

  /** Every live video of one owner (any state, any visibility), newest created first: the owner's studio list. */
  async listByOwner(ownerId: string, page: PageRequest): Promise<VideoRecord[]> {
    const params: unknown[] = [page.limit + 1, ownerId];
    let where = 'owner_id = $2 AND deleted_at IS NULL';
    if (page.after) {
      params.push(page.after.sortValue, page.after.id);
      where += ` AND (created_at, id) < ($3::timestamptz, $4::uuid)`;
    }
    // The primary (a replica while it is down): the owner expects to see the video they created a moment ago.
    const { rows } = await this.db.latestPool().query<VideoRow>(
      `SELECT ${COLUMNS} FROM videos.videos WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
    return rows.map(toRecord);
  }

  async listTrending(page: PageRequest, opts: { primary?: boolean } = {}): Promise<VideoRecord[]> {
    const params: unknown[] = [page.limit + 1];
    let where = LISTED;
    if (page.after) {
      params.push(page.after.sortValue, page.after.id);
      where += ` AND (trending_score, id) < ($2::double precision, $3::uuid)`;
    }
    const { rows } = await (opts.primary ? this.db.latestPool() : this.db.readPool()).query<VideoRow>(
      `SELECT ${COLUMNS} FROM videos.videos WHERE ${where} ORDER BY trending_score DESC, id DESC LIMIT $1`,
      params,
    );
    return rows.map(toRecord);
  }

  /**
   * Full-text search over title (weight A), tags (B) and description (C) with `websearch_to_tsquery`, which accepts
   * any input without a syntax error (operators it does not know are plain text; a query of only stop words or
   * punctuation matches nothing). Ordered by `ts_rank` then id; the rank is the keyset cursor's sort value.
   */
  async search(q: string, page: PageRequest): Promise<Array<VideoRecord & { rank: number }>> {
    const params: unknown[] = [searchText(q), page.limit + 1];
    let after = '';
    if (page.after) {
      params.push(page.after.sortValue, page.after.id);
      after = `WHERE (rank, id) < ($3::real, $4::uuid)`;
    }
    const { rows } = await this.db.readPool().query<VideoRow & { rank: number }>(
      `WITH query AS (SELECT websearch_to_tsquery('english', $1) AS tsq),
       hits AS (
         SELECT ${COLUMNS}, ts_rank(search, query.tsq) AS rank
         FROM videos.videos, query
         WHERE search @@ query.tsq AND ${LISTED}
       )
       SELECT * FROM hits ${after} ORDER BY rank DESC, id DESC LIMIT $2`,
      params,
    );
    return rows.map((r) => ({ ...toRecord(r), rank: r.rank }));
  }

  /** For the media route: is this video's media public (no signature needed)? Null when it does not exist. */
  async mediaAccess(id: string): Promise<{ public: boolean } | null> {
    const sql = `SELECT (visibility = 'public' AND state = 'ready') AS listed FROM videos.videos WHERE id = $1 AND deleted_at IS NULL`;
    const pool = this.db.readPool();
    const { rows } = await pool.query<{ listed: boolean }>(sql, [id]);
    if (rows[0]?.listed === true || pool === this.db.primary) return rows[0] ? { public: rows[0].listed } : null;
    // A replica that says "not public" may lag behind the moment the video became ready (players ask for the
    // playlist right then): the primary decides. Public media, nearly all of it, never reaches the primary.
    const fresh = await this.db.latestPool().query<{ listed: boolean }>(sql, [id]);
    return fresh.rows[0] ? { public: fresh.rows[0].listed } : null;
  }
}
