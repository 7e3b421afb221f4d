import type { Database } from '@kinora/db';

export interface ChatRow {
  id: string;
  videoId: string;
  authorId: string;
  authorUsername: string;
  text: string;
  createdAt: Date;
  deletedAt: Date | null;
}

interface Row {
  id: string;
  video_id: string;
  author_id: string;
  author_username: string;
  text: string;
  created_at: Date;
  deleted_at: Date | null;
}

const toChatRow = (r: Row): ChatRow => ({
  id: r.id,
  videoId: r.video_id,
  authorId: r.author_id,
  authorUsername: r.author_username,
  text: r.text,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
});

/** `realtime.chat_messages`: inserts, history pages, soft deletes. */
export class ChatRepository {
  constructor(private readonly db: Database) {}

  async insert(m: Omit<ChatRow, 'deletedAt'>): Promise<void> {
    await this.db.primary.query(
      `INSERT INTO realtime.chat_messages (id, video_id, author_id, author_username, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [m.id, m.videoId, m.authorId, m.authorUsername, m.text, m.createdAt],
    );
  }

  /**
   * Visible messages of a video, newest first, strictly older than `after` (the last row of the previous page) and
   * than `before`; `since` bounds the scan to the partitions still kept.
   */
  async history(videoId: string, opts: { limit: number; before?: Date; after?: { createdAt: Date; id: string }; since: Date }): Promise<ChatRow[]> {
    const params: unknown[] = [videoId, opts.since, opts.limit];
    let where = 'video_id = $1 AND created_at >= $2 AND deleted_at IS NULL';
    if (opts.before) {
      params.push(opts.before);
      where += ` AND created_at < $${params.length}`;
    }
    if (opts.after) {
      params.push(opts.after.createdAt, opts.after.id);
      where += ` AND (created_at, id) < ($${params.length - 1}, $${params.length}::uuid)`;
    }
    const { rows } = await this.db
      .readPool()
      .query<Row>(`SELECT id, video_id, author_id, author_username, text, created_at, deleted_at FROM realtime.chat_messages WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $3`, params);
    return rows.map(toChatRow);
  }

  /** A message by its id and creation time (both from the UUIDv7), deleted ones included. */
  async find(id: string, createdAt: Date): Promise<ChatRow | null> {
    const { rows } = await this.db.primary.query<Row>(
      `SELECT id, video_id, author_id, author_username, text, created_at, deleted_at FROM realtime.chat_messages WHERE created_at = $1 AND id = $2`,
      [createdAt, id],
    );
    return rows[0] ? toChatRow(rows[0]) : null;
  }

  /** Marks the message deleted; false when it already was. */
  async softDelete(id: string, createdAt: Date, by: string): Promise<boolean> {
    const { rowCount } = await this.db.primary.query(
      `UPDATE realtime.chat_messages SET deleted_at = now(), deleted_by = $3 WHERE created_at = $1 AND id = $2 AND deleted_at IS NULL`,
      [createdAt, id, by],
    );
    return (rowCount ?? 0) > 0;
  }
}
