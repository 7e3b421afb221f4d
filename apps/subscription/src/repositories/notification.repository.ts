import type pg from 'pg';
import type { NotificationKind } from '@kinora/contracts';
import type { Database } from '@kinora/db';

export interface NotificationRow {
  id: string;
  user_id: string;
  kind: NotificationKind;
  payload: Record<string, unknown>;
  dedupe_key: string;
  created_at: Date;
  read_at: Date | null;
}

export type NewNotification = Omit<NotificationRow, 'read_at'>;

/** All SQL on `subscriptions.notifications` and `subscriptions.announced_videos`. */
export class NotificationRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the notifications that do not exist yet (same user and dedupe key); returns the new ones. */
  async insert(client: pg.ClientBase, list: NewNotification[]): Promise<NotificationRow[]> {
    if (list.length === 0) return [];
    const { rows } = await client.query<NotificationRow>(
      `INSERT INTO subscriptions.notifications (id, user_id, kind, payload, dedupe_key, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[])
       ON CONFLICT (user_id, dedupe_key) DO NOTHING
       RETURNING *`,
      [
        list.map((n) => n.id),
        list.map((n) => n.user_id),
        list.map((n) => n.kind),
        list.map((n) => JSON.stringify(n.payload)),
        list.map((n) => n.dedupe_key),
        list.map((n) => n.created_at),
      ],
    );
    return rows;
  }

  /** Records that a video was announced; false when it already was. */
  async announce(client: pg.ClientBase, videoId: string, channelId: string): Promise<boolean> {
    const { rowCount } = await client.query(
      'INSERT INTO subscriptions.announced_videos (video_id, channel_id) VALUES ($1, $2) ON CONFLICT (video_id) DO NOTHING',
      [videoId, channelId],
    );
    return rowCount === 1;
  }

  /** The user's notifications, newest first, after the cursor's (created_at, id). */
  async list(userId: string, limit: number, after?: { at: Date; id: string }): Promise<NotificationRow[]> {
    const { rows } = await this.db.readPool().query<NotificationRow>(
      `SELECT * FROM subscriptions.notifications
       WHERE user_id = $1 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $2`,
      [userId, limit, after?.at ?? null, after?.id ?? null],
    );
    return rows;
  }

  /** Marks the user's notifications read: those of `ids` (others' ids are ignored), or all when `ids` is absent. */
  async markRead(userId: string, ids: string[] | undefined): Promise<number> {
    const { rowCount } = await this.db.execute(
      `UPDATE subscriptions.notifications SET read_at = now()
       WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))`,
      [userId, ids ?? null],
    );
    return rowCount ?? 0;
  }
}
