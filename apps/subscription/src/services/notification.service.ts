import type pg from 'pg';
import { uuidv7 } from 'uuidv7';
import {
  NOTIFICATION_KINDS,
  SOCIAL_EVENT_TYPES,
  type CommentCreatedV1,
  type CommentReplyPayload,
  type Notification,
  type Principal,
  type VideoPublishedPayload,
} from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { ConsumedBatch, EventActor, EventBusLogger, EventEnvelope, TransactionalPublisher } from '@kinora/events';
import { isPublished, type VideoChangeHandler } from '@kinora/projections';
import { NOTIFICATIONS_TOPIC, notificationCreatedMessage } from '../events/subscription.events.js';
import type { NewNotification, NotificationRepository, NotificationRow } from '../repositories/notification.repository.js';
import type { SubscriptionRepository } from '../repositories/subscription.repository.js';
import { decodeCursor, encodeCursor, isUuid } from '@kinora/http';
import type { Page } from './subscription.service.js';

export function toNotification(r: NotificationRow): Notification {
  return {
    id: r.id,
    kind: r.kind,
    payload: r.payload as unknown as Notification['payload'],
    read: r.read_at !== null,
    createdAt: r.created_at.toISOString(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The first 200 characters (code points) of a reply. */
function excerpt(text: string, max = 200): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Notifications: created from events (a subscribed channel's new public video, a reply to one of my comments),
 * stored, listed and marked read, and published on `user.notifications` for realtime delivery, each in the
 * transaction that stores it.
 */
export class NotificationService {
  constructor(
    private readonly deps: {
      database: Database;
      notifications: NotificationRepository;
      subscriptions: SubscriptionRepository;
      publisher: TransactionalPublisher;
      logger?: EventBusLogger;
    },
  ) {}

  async list(principal: Principal, query: { limit?: number; cursor?: string }): Promise<Page<Notification>> {
    const limit = query.limit ?? 20;
    const after = query.cursor
      ? decodeCursor('notifications', query.cursor, (k) => k.length === 2 && typeof k[0] === 'string' && !Number.isNaN(Date.parse(k[0])) && isUuid(k[1]))
      : undefined;
    const rows = await this.deps.notifications.list(principal.userId, limit + 1, after ? { at: new Date(after[0] as string), id: after[1] as string } : undefined);
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items[items.length - 1];
    return { items: items.map(toNotification), nextCursor: more && last ? encodeCursor('notifications', [last.created_at.toISOString(), last.id]) : null };
  }

  async markRead(principal: Principal, ids: string[] | undefined): Promise<void> {
    await this.deps.notifications.markRead(principal.userId, ids);
  }

  /** Stores notifications (skipping ones that exist) and publishes the new ones, in the caller's transaction. */
  private async create(client: pg.ClientBase, list: NewNotification[], actor: EventActor): Promise<number> {
    const created = await this.deps.notifications.insert(client, list);
    if (created.length > 0) {
      await this.deps.publisher.publish(
        client,
        NOTIFICATIONS_TOPIC,
        created.map((r) => notificationCreatedMessage(r.user_id, toNotification(r), actor)),
      );
    }
    return created.length;
  }

  /**
   * Video projection hook: the first time a video is seen ready and public, its channel's subscribers (those who
   * subscribed before it was published) are notified. Runs in the projection's transaction.
   */
  readonly onVideoChange: VideoChangeHandler = async ({ client, current }) => {
    if (!isPublished(current)) return;
    if (!(await this.deps.notifications.announce(client, current.id, current.channelId))) return;
    const publishedAt = current.publishedAt ?? new Date();
    const users = await this.deps.subscriptions.subscribersOf(client, current.channelId, publishedAt);
    const payload: VideoPublishedPayload = { videoId: current.id, channelId: current.channelId, title: current.title };
    const now = new Date();
    await this.create(
      client,
      users.map((userId) => ({ id: uuidv7(), user_id: userId, kind: NOTIFICATION_KINDS.videoPublished, payload, dedupe_key: `video.published:${current.id}`, created_at: now })),
      { type: 'service', id: 'subscription' },
    );
  };

  /** Consumer of `video.comments`: a reply to someone else's comment notifies that comment's author. */
  async onCommentEvents(batch: ConsumedBatch<unknown>): Promise<void> {
    const replies: Array<{ event: EventEnvelope<CommentCreatedV1>; to: string }> = [];
    for (const m of batch.messages) {
      const e = m.value as EventEnvelope<CommentCreatedV1> | null;
      if (e?.type !== SOCIAL_EVENT_TYPES.commentCreated) continue;
      const p = e.payload;
      const author = p?.comment?.author;
      if (!p || typeof p.parentAuthorId !== 'string' || !UUID.test(p.parentAuthorId) || !author || !p.comment.parentId || !UUID.test(p.videoId)) {
        if (p?.parentAuthorId !== null) this.deps.logger?.warn({ offset: m.offset, partition: m.partition }, 'skipping a malformed CommentCreated.v1');
        continue;
      }
      if (p.parentAuthorId === author.id) continue; // replying to oneself is not news
      replies.push({ event: e, to: p.parentAuthorId });
    }
    if (replies.length === 0) return;
    const now = new Date();
    await this.deps.database.transaction(async (client) => {
      for (const { event, to } of replies) {
        const c = event.payload.comment;
        const payload: CommentReplyPayload = { videoId: event.payload.videoId, commentId: c.id, parentId: c.parentId!, author: c.author!, excerpt: excerpt(c.text) };
        await this.create(client, [{ id: uuidv7(), user_id: to, kind: NOTIFICATION_KINDS.commentReply, payload, dedupe_key: `comment.reply:${c.id}`, created_at: now }], event.actor);
      }
    });
    this.deps.publisher.committed();
  }
}
