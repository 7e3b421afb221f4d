import type { FeedVideo, Principal, SubscribedChannel, SubscriptionState } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { TransactionalPublisher } from '@kinora/events';
import { subscriptionErrors } from '../errors.js';
import { SUBSCRIPTIONS_TOPIC, subscriptionChangedMessage } from '../events/subscription.events.js';
import type { FeedRow, SubscriptionRepository, SubscriptionRow } from '../repositories/subscription.repository.js';
import type { ChannelDirectory } from './channel.directory.js';
import { decodeCursor, encodeCursor, isUuid } from '@kinora/http';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

function toSubscribedChannel(r: SubscriptionRow): SubscribedChannel {
  return { id: r.channel_id, handle: r.channel_handle, name: r.channel_name, ownerId: r.channel_owner_id, subscribedAt: r.created_at.toISOString() };
}

function toFeedVideo(r: FeedRow): FeedVideo {
  return {
    id: r.video_id,
    title: r.title,
    tags: r.tags,
    visibility: r.visibility,
    state: r.state,
    channel: { id: r.channel_id, handle: r.channel_handle, name: r.channel_name },
    ...(r.duration_sec !== null ? { durationSec: r.duration_sec } : {}),
    publishedAt: r.published_at.toISOString(),
  };
}

/** Subscriptions (idempotent both ways, never to one's own channel) and the subscriptions feed. */
export class SubscriptionService {
  constructor(
    private readonly deps: { database: Database; subscriptions: SubscriptionRepository; channels: ChannelDirectory; publisher: TransactionalPublisher },
  ) {}

  async subscribe(principal: Principal, channelId: string): Promise<void> {
    const channel = await this.deps.channels.channel(channelId);
    if (!channel) throw subscriptionErrors.CHANNEL_NOT_FOUND('No channel with this id');
    if (channel.ownerId === principal.userId) {
      throw subscriptionErrors.CANNOT_SUBSCRIBE_TO_OWN_CHANNEL('You cannot subscribe to your own channel', [{ field: '/params/channelId', message: 'is your own channel' }]);
    }
    const added = await this.deps.database.transaction(async (client) => {
      const isNew = await this.deps.subscriptions.subscribe(client, principal.userId, channel, new Date());
      if (isNew) await this.deps.publisher.publish(client, SUBSCRIPTIONS_TOPIC, [subscriptionChangedMessage(principal.userId, channelId, true)]);
      return isNew;
    });
    if (added) this.deps.publisher.committed();
  }

  async unsubscribe(principal: Principal, channelId: string): Promise<void> {
    const removed = await this.deps.database.transaction(async (client) => {
      const gone = await this.deps.subscriptions.unsubscribe(client, principal.userId, channelId);
      if (gone) await this.deps.publisher.publish(client, SUBSCRIPTIONS_TOPIC, [subscriptionChangedMessage(principal.userId, channelId, false)]);
      return gone;
    });
    if (removed) {
      this.deps.publisher.committed();
      return;
    }
    // Not subscribed: fine (idempotent), as long as the channel exists.
    if (!(await this.deps.channels.channel(channelId))) throw subscriptionErrors.CHANNEL_NOT_FOUND('No channel with this id');
  }

  async state(principal: Principal, channelId: string): Promise<SubscriptionState> {
    return { subscribed: await this.deps.subscriptions.isSubscribed(principal.userId, channelId) };
  }

  async list(principal: Principal, query: { limit?: number; cursor?: string }): Promise<Page<SubscribedChannel>> {
    const limit = query.limit ?? 20;
    const after = query.cursor ? decodeCursor('subscriptions', query.cursor, (k) => k.length === 2 && isTime(k[0]) && isUuid(k[1])) : undefined;
    const rows = await this.deps.subscriptions.list(principal.userId, limit + 1, after ? { at: new Date(after[0] as string), channelId: after[1] as string } : undefined);
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items[items.length - 1];
    return { items: items.map(toSubscribedChannel), nextCursor: more && last ? encodeCursor('subscriptions', [last.created_at.toISOString(), last.channel_id]) : null };
  }

  async feed(principal: Principal, query: { limit?: number; cursor?: string }): Promise<Page<FeedVideo>> {
    const limit = query.limit ?? 20;
    const after = query.cursor ? decodeCursor('feed', query.cursor, (k) => k.length === 2 && isTime(k[0]) && isUuid(k[1])) : undefined;
    const rows = await this.deps.subscriptions.feed(principal.userId, limit + 1, after ? { at: new Date(after[0] as string), videoId: after[1] as string } : undefined);
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items[items.length - 1];
    return { items: items.map(toFeedVideo), nextCursor: more && last ? encodeCursor('feed', [last.published_at.toISOString(), last.video_id]) : null };
  }
}
