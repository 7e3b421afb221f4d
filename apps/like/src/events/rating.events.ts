import { SOCIAL_EVENT_TYPES, TOPICS, type RatingValue, type VideoRatingChangedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventMessage } from '@kinora/events';

/** What the like service publishes: `VideoRatingChanged.v1` on `video.likes`, keyed by video id. */
export const RATING_TOPIC = TOPICS.videoLikes;

function count(value: RatingValue, of: 'like' | 'dislike'): number {
  return value === of ? 1 : 0;
}

/** The counter deltas of a change: `like → dislike` is likes -1, dislikes +1. */
export function ratingDeltas(previous: RatingValue, value: RatingValue): VideoRatingChangedV1['deltas'] {
  return {
    likes: (count(value, 'like') - count(previous, 'like')) as -1 | 0 | 1,
    dislikes: (count(value, 'dislike') - count(previous, 'dislike')) as -1 | 0 | 1,
  };
}

export function ratingChangedMessage(videoId: string, userId: string, previous: RatingValue, value: RatingValue): EventMessage {
  const event = createEvent<VideoRatingChangedV1>({
    type: SOCIAL_EVENT_TYPES.videoRatingChanged,
    key: videoId,
    actor: { type: 'user', id: userId },
    payload: { videoId, userId, previous, value, deltas: ratingDeltas(previous, value) },
  });
  return toEventMessage(event);
}
