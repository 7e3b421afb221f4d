import type pg from 'pg';
import type { Database } from '@kinora/db';
import type { ChannelInfo } from '../services/channel.directory.js';

export interface SubscriptionRow {
  user_id: string;
  channel_id: string;
  channel_owner_id: string;
  channel_handle: string;
  channel_name: string;
  created_at: Date;
}

export interface FeedRow {
  video_id: string;
  title: string;
  tags: string[];
  visibility: 'public';
  state: 'ready';
  published_at: Date;
  duration_sec: number | null;
  channel_id: string;
  channel_handle: string;
  channel_name: string;
}

/** All SQL on `subscriptions.subscriptions` (and the feed over the video projection). */
export class SubscriptionRepository {
  constructor(private readonly db: Database) {}

  /** Subscribes; true when the subscription is new (an existing one only gets its channel snapshot refreshed). */
  async subscribe(client: pg.ClientBase, userId: string, channel: ChannelInfo, at: Date): Promise<boolean> {
    const inserted = await client.query(
      `INSERT INTO subscriptions.subscriptions (user_id, channel_id, channel_owner_id, channel_handle, channel_name, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, channel_id) DO NOTHING`,
      [userId, channel.id, channel.ownerId, channel.handle, channel.name, at],
    );
    if (inserted.rowCount === 1) return true;
    await client.query(
      `UPDATE subscriptions.subscriptions SET channel_owner_id = $3, channel_handle = $4, channel_name = $5
       WHERE user_id = $1 AND channel_id = $2`,
      [userId, channel.id, channel.ownerId, channel.handle, channel.name],
    );
    return false;
  }

  /** True when there was a subscription to remove. */
  async unsubscribe(client: pg.ClientBase, userId: string, channelId: string): Promise<boolean> {
    const { rowCount } = await client.query('DELETE FROM subscriptions.subscriptions WHERE user_id = $1 AND channel_id = $2', [userId, channelId]);
    return rowCount === 1;
  }

  async isSubscribed(userId: string, channelId: string): Promise<boolean> {
    const { rowCount } = await this.db.readPool().query('SELECT 1 FROM subscriptions.subscriptions WHERE user_id = $1 AND channel_id = $2', [userId, channelId]);
    return rowCount === 1;
  }

  /** The user's subscriptions, newest first, after the cursor's (created_at, channel_id). */
  async list(userId: string, limit: number, after?: { at: Date; channelId: string }): Promise<SubscriptionRow[]> {
    const { rows } = await this.db.readPool().query<SubscriptionRow>(
      `SELECT * FROM subscriptions.subscriptions
       WHERE user_id = $1 AND ($3::timestamptz IS NULL OR (created_at, channel_id) < ($3::timestamptz, $4::uuid))
       ORDER BY created_at DESC, channel_id DESC LIMIT $2`,
      [userId, limit, after?.at ?? null, after?.channelId ?? null],
    );
    return rows;
  }

  /** Subscribers of a channel who subscribed no later than `at` (a video published before one subscribed is not news to them). */
  async subscribersOf(client: pg.ClientBase, channelId: string, at: Date): Promise<string[]> {
    const { rows } = await client.query<{ user_id: string }>(
      'SELECT user_id FROM subscriptions.subscriptions WHERE channel_id = $1 AND created_at <= $2',
      [channelId, at],
    );
    return rows.map((r) => r.user_id);
  }

  /**
   * Ready public videos of the user's channels, newest first, after the cursor's (published_at, video_id): ONE
   * query whose work is bounded by subscriptions × limit index entries, however many videos the channels have —
   * for each subscription the newest `limit` eligible videos come from an index range scan
   * (`video_projection_channel_feed_idx`), then the best `limit` of those are kept.
   */
  async feed(userId: string, limit: number, after?: { at: Date; videoId: string }): Promise<FeedRow[]> {
    const { rows } = await this.db.readPool().query<FeedRow>(
      `SELECT v.video_id, v.title, v.tags, v.visibility, v.state, v.published_at, v.duration_sec,
              s.channel_id, s.channel_handle, s.channel_name
       FROM subscriptions.subscriptions s
       CROSS JOIN LATERAL (
         SELECT p.video_id, p.title, p.tags, p.visibility, p.state, p.published_at, p.duration_sec
         FROM subscriptions.video_projection p
         WHERE p.channel_id = s.channel_id
           AND p.state = 'ready' AND p.visibility = 'public' AND NOT p.deleted
           AND ($3::timestamptz IS NULL OR (p.published_at, p.video_id) < ($3::timestamptz, $4::uuid))
         ORDER BY p.published_at DESC, p.video_id DESC
         LIMIT $2
       ) v
       WHERE s.user_id = $1
       ORDER BY v.published_at DESC, v.video_id DESC
       LIMIT $2`,
      [userId, limit, after?.at ?? null, after?.videoId ?? null],
    );
    return rows;
  }
}
