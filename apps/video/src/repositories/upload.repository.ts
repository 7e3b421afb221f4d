import type pg from 'pg';
import type { Database } from '@kinora/db';

export interface UploadRecord {
  videoId: string;
  size: number;
  offset: number;
  metadata: Record<string, string | null>;
  createdAt: Date;
  completedAt: Date | null;
}

interface UploadRow {
  video_id: string;
  size: string;
  offset: string;
  metadata: Record<string, string | null>;
  created_at: Date;
  completed_at: Date | null;
}

const toRecord = (r: UploadRow): UploadRecord => ({
  videoId: r.video_id,
  size: Number(r.size),
  offset: Number(r.offset),
  metadata: r.metadata,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

/** All SQL on `videos.uploads`. Upload state is read from the primary: an offset must never lag. */
export class UploadRepository {
  constructor(private readonly db: Database) {}

  /** Creates the video's upload, or starts it over (offset 0) when the client creates it again. */
  async upsert(videoId: string, size: number, metadata: Record<string, string | null>): Promise<UploadRecord> {
    await this.db.execute(`DELETE FROM videos.upload_parts WHERE video_id = $1`, [videoId]);
    const { rows } = await this.db.execute<UploadRow>(
      `INSERT INTO videos.uploads (video_id, size, "offset", metadata) VALUES ($1, $2, 0, $3)
       ON CONFLICT (video_id) DO UPDATE SET size = EXCLUDED.size, "offset" = 0, metadata = EXCLUDED.metadata,
         created_at = now(), completed_at = NULL
       RETURNING *`,
      [videoId, size, JSON.stringify(metadata)],
    );
    return toRecord(rows[0]!);
  }

  async find(videoId: string): Promise<UploadRecord | undefined> {
    const { rows } = await this.db.primary.query<UploadRow>(`SELECT * FROM videos.uploads WHERE video_id = $1`, [videoId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Counts the part stored at `key` for the bytes `from`..`to`: moves the offset and records the part in one
   * statement. False when the offset was not `from` any more (another request for this upload got there first, on
   * this replica or another); that part is then not the upload's.
   */
  async addPart(videoId: string, from: number, to: number, key: string): Promise<boolean> {
    const { rowCount } = await this.db.execute(
      `WITH moved AS (
         UPDATE videos.uploads SET "offset" = $3
         WHERE video_id = $1 AND "offset" = $2 AND completed_at IS NULL
         RETURNING video_id
       )
       INSERT INTO videos.upload_parts (video_id, "offset", size, key) SELECT video_id, $2, $3 - $2, $4 FROM moved`,
      [videoId, from, to, key],
    );
    return rowCount === 1;
  }

  /** The counted parts, in offset order. */
  async parts(videoId: string): Promise<{ offset: number; size: number; key: string }[]> {
    const { rows } = await this.db.primary.query<{ offset: string; size: string; key: string }>(
      `SELECT "offset", size, key FROM videos.upload_parts WHERE video_id = $1 ORDER BY "offset"`,
      [videoId],
    );
    return rows.map((r) => ({ offset: Number(r.offset), size: Number(r.size), key: r.key }));
  }

  async markCompleted(client: pg.ClientBase, videoId: string): Promise<void> {
    await client.query(`UPDATE videos.uploads SET completed_at = now() WHERE video_id = $1 AND completed_at IS NULL`, [videoId]);
  }

  async delete(client: pg.ClientBase, videoId: string): Promise<void> {
    await client.query(`DELETE FROM videos.uploads WHERE video_id = $1`, [videoId]);
  }

  /** Uploads whose bytes are all there but that were never completed (the process died in between). */
  async findStranded(): Promise<string[]> {
    const { rows } = await this.db.primary.query<{ video_id: string }>(
      `SELECT u.video_id FROM videos.uploads u JOIN videos.videos v ON v.id = u.video_id
       WHERE u."offset" = u.size AND u.completed_at IS NULL AND v.state = 'awaiting_upload' AND v.deleted_at IS NULL`,
    );
    return rows.map((r) => r.video_id);
  }
}
