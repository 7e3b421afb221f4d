import { EVENT_TYPES, TOPICS, type VideoChangedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventActor, type EventBus, type EventEnvelope } from '@kinora/events';

/**
 * A `VideoChanged.v1` envelope (for tests, tools and replays; the video service publishes the real ones).
 * Defaults: a ready public video, not deleted.
 */
export function videoChangedEvent(
  input: Pick<VideoChangedV1, 'videoId' | 'version' | 'channelId' | 'ownerId'> & Partial<VideoChangedV1>,
  actor: EventActor = { type: 'service', id: 'video' },
): EventEnvelope<VideoChangedV1> {
  const payload: VideoChangedV1 = {
    title: 'A video',
    tags: [],
    visibility: 'public',
    state: 'ready',
    publishedAt: null,
    durationSec: null,
    deleted: false,
    ...input,
  };
  return createEvent({ type: EVENT_TYPES.videoChanged, key: input.videoId, actor, payload });
}

/** Publishes `VideoChanged.v1` events on `video.lifecycle` (keyed by video id, as the video service does). */
export async function publishVideoChanged(bus: EventBus, events: EventEnvelope<VideoChangedV1>[]): Promise<void> {
  await bus.publish(TOPICS.videoLifecycle, events.map((e) => toEventMessage(e)));
}
