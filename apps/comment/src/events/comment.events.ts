import { SOCIAL_EVENT_TYPES, TOPICS, type CommentCreatedV1, type CommentDeletedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventMessage } from '@kinora/events';

/** What the comment service publishes: `CommentCreated.v1` and `CommentDeleted.v1` on `video.comments`, keyed by video id. */
export const COMMENTS_TOPIC = TOPICS.videoComments;

export function commentCreatedMessage(actorId: string, payload: CommentCreatedV1): EventMessage {
  return toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.commentCreated, key: payload.videoId, actor: { type: 'user', id: actorId }, payload }));
}

export function commentDeletedMessage(actorId: string, payload: CommentDeletedV1): EventMessage {
  return toEventMessage(createEvent({ type: SOCIAL_EVENT_TYPES.commentDeleted, key: payload.videoId, actor: { type: 'user', id: actorId }, payload }));
}
