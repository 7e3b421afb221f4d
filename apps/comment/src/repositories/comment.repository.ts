import type pg from 'pg';
import type { Database } from '@kinora/db';

export interface CommentRow {
  id: string;
  video_id: string;
  parent_id: string | null;
  root_id: string;
  depth: number;
  author_id: string | null;
  author_username: string | null;
  author_display_name: string | null;
  text: string;
  like_count: number;
  reply_count: number;
  hot_score: number;
  created_at: Date;
  edited_at: Date | null;
  deleted: boolean;
}

export interface NewComment {
  id: string;
  videoId: string;
  parentId: string | null;
  rootId: string;
  depth: number;
  author: { id: string; username: string; displayName: string };
  text: string;
  createdAt: Date;
}

/** All SQL on `comments.comments` and `comments.comment_likes`. */
export class CommentRepository {
  constructor(private readonly db: Database) {}

  /** A comment, from a replica when allowed; a miss there is checked on the primary (replicas may lag). */
  async find(id: string): Promise<CommentRow | undefined> {
    const sql = 'SELECT * FROM comments.comments WHERE id = $1';
    const pool = this.db.readPool();
    const row = (await pool.query<CommentRow>(sql, [id])).rows[0];
    if (row || pool === this.db.primary) return row;
    return (await this.db.primary.query<CommentRow>(sql, [id])).rows[0];
  }

  /** The comment, row-locked until the transaction ends. */
  async lock(client: pg.ClientBase, id: string): Promise<CommentRow | undefined> {
    return (await client.query<CommentRow>('SELECT * FROM comments.comments WHERE id = $1 FOR UPDATE', [id])).rows[0];
  }

  async insert(client: pg.ClientBase, c: NewComment): Promise<CommentRow> {
    const { rows } = await client.query<CommentRow>(
      `INSERT INTO comments.comments
         (id, video_id, parent_id, root_id, depth, author_id, author_username, author_display_name, text, created_at, hot_score)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, extract(epoch FROM $10::timestamptz) / 45000)
       RETURNING *`,
      [c.id, c.videoId, c.parentId, c.rootId, c.depth, c.author.id, c.author.username, c.author.displayName, c.text, c.createdAt],
    );
    return rows[0]!;
  }

  /**
   * Counts a new reply on its parent, which must be a live comment of the video: one statement that checks, locks
   * the parent until commit (a concurrent delete of the parent waits, and then sees the reply) and counts.
   */
  async addReply(client: pg.ClientBase, parentId: string, videoId: string): Promise<CommentRow | undefined> {
    const { rows } = await client.query<CommentRow>(
      `UPDATE comments.comments SET reply_count = reply_count + 1
       WHERE id = $1 AND video_id = $2 AND NOT deleted
       RETURNING *`,
      [parentId, videoId],
    );
    return rows[0];
  }

  async setText(client: pg.ClientBase, id: string, text: string, editedAt: Date): Promise<CommentRow> {
    const { rows } = await client.query<CommentRow>('UPDATE comments.comments SET text = $2, edited_at = $3 WHERE id = $1 RETURNING *', [id, text, editedAt]);
    return rows[0]!;
  }

  /** Keeps the comment in its thread without its text or author. */
  async tombstone(client: pg.ClientBase, id: string): Promise<void> {
    await client.query(
      `UPDATE comments.comments
       SET deleted = true, text = '', author_id = NULL, author_username = NULL, author_display_name = NULL, edited_at = NULL
       WHERE id = $1`,
      [id],
    );
  }

  /**
   * Removes a comment without replies, then uncounts it on its parent; a tombstone left without replies is removed
   * too, up the thread. Parents are locked child first, the same order as every other removal, so two removals in
   * one thread wait for each other instead of deadlocking.
   */
  async removeLeaf(client: pg.ClientBase, row: Pick<CommentRow, 'id' | 'parent_id'>): Promise<number> {
    await client.query('DELETE FROM comments.comments WHERE id = $1', [row.id]);
    let removed = 1;
    let parentId = row.parent_id;
    while (parentId) {
      const { rows } = await client.query<{ id: string; parent_id: string | null; deleted: boolean; reply_count: number }>(
        'UPDATE comments.comments SET reply_count = reply_count - 1 WHERE id = $1 RETURNING id, parent_id, deleted, reply_count',
        [parentId],
      );
      const parent = rows[0];
      if (!parent || !parent.deleted || parent.reply_count > 0) break;
      await client.query('DELETE FROM comments.comments WHERE id = $1', [parent.id]);
      removed++;
      parentId = parent.parent_id;
    }
    return removed;
  }

  /** Adds or removes a user's like; returns the comment's likes after it (undefined when nothing changed). */
  async like(client: pg.ClientBase, commentId: string, userId: string, on: boolean): Promise<number | undefined> {
    const changed = on
      ? await client.query('INSERT INTO comments.comment_likes (comment_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [commentId, userId])
      : await client.query('DELETE FROM comments.comment_likes WHERE comment_id = $1 AND user_id = $2', [commentId, userId]);
    if (changed.rowCount !== 1) return undefined;
    const { rows } = await client.query<{ like_count: number }>(
      `UPDATE comments.comments SET like_count = like_count + $2, hot_score = log((1 + like_count + $2)::float8) + extract(epoch FROM created_at) / 45000
       WHERE id = $1 RETURNING like_count`,
      [commentId, on ? 1 : -1],
    );
    return rows[0]!.like_count;
  }

  async likedBy(commentId: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.db.readPool().query('SELECT 1 FROM comments.comment_likes WHERE comment_id = $1 AND user_id = $2', [commentId, userId]);
    return rowCount === 1;
  }

  /** Top-level comments, newest first, after the cursor's id. */
  async listNew(videoId: string, limit: number, after?: string): Promise<CommentRow[]> {
    const { rows } = await this.db.readPool().query<CommentRow>(
      `SELECT * FROM comments.comments
       WHERE video_id = $1 AND parent_id IS NULL AND ($3::uuid IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $2`,
      [videoId, limit, after ?? null],
    );
    return rows;
  }

  /** Top-level comments by score (then newest first), after the cursor's (score, id). */
  async listTop(videoId: string, limit: number, after?: { score: number; id: string }): Promise<CommentRow[]> {
    const { rows } = await this.db.readPool().query<CommentRow>(
      `SELECT * FROM comments.comments
       WHERE video_id = $1 AND parent_id IS NULL AND ($3::float8 IS NULL OR (hot_score, id) < ($3::float8, $4::uuid))
       ORDER BY hot_score DESC, id DESC LIMIT $2`,
      [videoId, limit, after?.score ?? null, after?.id ?? null],
    );
    return rows;
  }

  /** Direct replies, oldest first, after the cursor's id. */
  async listReplies(parentId: string, limit: number, after?: string): Promise<CommentRow[]> {
    const { rows } = await this.db.readPool().query<CommentRow>(
      `SELECT * FROM comments.comments
       WHERE parent_id = $1 AND ($3::uuid IS NULL OR id > $3)
       ORDER BY id ASC LIMIT $2`,
      [parentId, limit, after ?? null],
    );
    return rows;
  }
}
