import {
  CommentCreatedEventV1,
  NotificationCreatedEventV1,
  SOCIAL_EVENT_TYPES,
  type CommentNewEvent,
  type Notification,
} from '@kinora/contracts';
import { validator } from '../validation.js';

// The one place that knows the social services' event payloads (libs/contracts social.schemas.ts): a change of
// those events is a change here and nowhere else in realtime.

const commentCreated = validator(CommentCreatedEventV1);
const notificationCreated = validator(NotificationCreatedEventV1);

export type Mapped<T> = { kind: 'emit'; value: T } | { kind: 'skip' } | { kind: 'invalid'; reason: string };

function firstError(v: { errors(value: unknown): { field: string; message: string }[] }, value: unknown): string {
  const e = v.errors(value)[0];
  return e ? `${e.field} ${e.message}` : 'invalid';
}

/** `CommentCreated.v1` on `video.comments` → `comment:new` to the video's room. Other comment events: skipped. */
export function toCommentNew(value: unknown): Mapped<{ eventId: string; videoId: string; event: CommentNewEvent }> {
  if ((value as { type?: unknown } | null)?.type !== SOCIAL_EVENT_TYPES.commentCreated) return { kind: 'skip' };
  if (!commentCreated.check(value)) return { kind: 'invalid', reason: firstError(commentCreated, value) };
  const { payload } = value;
  return { kind: 'emit', value: { eventId: value.id, videoId: payload.videoId, event: { videoId: payload.videoId, comment: payload.comment } } };
}

/** `NotificationCreated.v1` on `user.notifications` → `notification` to the user's room. */
export function toNotification(value: unknown): Mapped<{ eventId: string; userId: string; notification: Notification }> {
  if ((value as { type?: unknown } | null)?.type !== SOCIAL_EVENT_TYPES.notificationCreated) return { kind: 'skip' };
  if (!notificationCreated.check(value)) return { kind: 'invalid', reason: firstError(notificationCreated, value) };
  const { payload } = value;
  return { kind: 'emit', value: { eventId: value.id, userId: payload.userId, notification: payload.notification } };
}
