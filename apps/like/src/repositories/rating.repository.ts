import type pg from 'pg';
import type { RatingValue } from '@kinora/contracts';
import type { Database } from '@kinora/db';

/** All SQL on `likes.video_ratings`. */
export class RatingRepository {
  constructor(private readonly db: Database) {}

  /**
   * The user's rating, row-locked until the transaction ends, so concurrent changes of one user's rating run one
   * after the other. `create` first inserts a `none` row when there is none (two concurrent first ratings then
   * meet on the primary key instead of both inserting).
   */
  async lock(client: pg.ClientBase, videoId: string, userId: string, create: boolean): Promise<RatingValue | undefined> {
    if (create) {
      await client.query(
        `INSERT INTO likes.video_ratings (video_id, user_id, value) VALUES ($1, $2, 'none') ON CONFLICT (video_id, user_id) DO NOTHING`,
        [videoId, userId],
      );
    }
    const { rows } = await client.query<{ value: RatingValue }>(
      'SELECT value FROM likes.video_ratings WHERE video_id = $1 AND user_id = $2 FOR UPDATE',
      [videoId, userId],
    );
    return rows[0]?.value;
  }

  async set(client: pg.ClientBase, videoId: string, userId: string, value: RatingValue): Promise<void> {
    await client.query('UPDATE likes.video_ratings SET value = $3, updated_at = now() WHERE video_id = $1 AND user_id = $2', [videoId, userId, value]);
  }

  async get(videoId: string, userId: string): Promise<RatingValue> {
    const { rows } = await this.db
      .readPool()
      .query<{ value: RatingValue }>('SELECT value FROM likes.video_ratings WHERE video_id = $1 AND user_id = $2', [videoId, userId]);
    return rows[0]?.value ?? 'none';
  }
}
