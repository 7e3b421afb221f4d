import {
  SOCIAL_EVENT_TYPES,
  TOPICS,
  type ChannelSubscriptionChangedV1,
  type Notification,
  type NotificationCreatedV1,
} from '@kinora/contracts';
import { createEvent, toEventMessage, type EventActor, type EventMessage } from '@kinora/events';

/** `ChannelSubscriptionChanged.v1` on `channel.subscriptions`, keyed by channel id. */
export const SUBSCRIPTIONS_TOPIC = TOPICS.channelSubscriptions;
/** `NotificationCreated.v1` on `user.notifications`, keyed by the user notified. */
export const NOTIFICATIONS_TOPIC = TOPICS.notifications;

export function subscriptionChangedMessage(userId: string, channelId: string, subscribed: boolean): EventMessage {
  const payload: ChannelSubscriptionChangedV1 = { channelId, userId, subscribed, delta: subscribed ? 1 : -1 };
  return toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.channelSubscriptionChanged, key: channelId, actor: { type: 'user', id: userId }, payload }));
}

export function notificationCreatedMessage(userId: string, notification: Notification, actor: EventActor): EventMessage {
  const payload: NotificationCreatedV1 = { userId, notification };
  return toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.notificationCreated, key: userId, actor, payload }));
}
