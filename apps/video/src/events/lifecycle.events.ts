import type pg from 'pg';
import { EVENT_TYPES, TOPICS, type VideoChangedV1, type VideoUploadedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventActor, type EventEnvelope, type TransactionalPublisher } from '@kinora/events';
import type { VideoRecord } from '../repositories/video.repository.js';

export const VIDEO_SERVICE_ACTOR: EventActor = { type: 'service', id: 'video' };

export function videoChangedPayload(v: VideoRecord, deleted = false): VideoChangedV1 {
  return {
    videoId: v.id,
    version: v.version,
    channelId: v.channelId,
    ownerId: v.ownerId,
    title: v.title,
    tags: v.tags,
    visibility: v.visibility,
    state: v.state,
    publishedAt: v.publishedAt ? v.publishedAt.toISOString() : null,
    durationSec: v.durationSec,
    deleted,
  };
}

/**
 * Publishes what happened to videos on `video.lifecycle`, keyed by video id (one video's events stay ordered), from
 * inside the transaction of the change (a transactional outbox: the events exist if and only if it commits).
 */
export class LifecyclePublisher {
  constructor(private readonly publisher: TransactionalPublisher) {}

  /** After the transaction committed: deliver now rather than at the relay's next poll. */
  committed(): void {
    this.publisher.committed();
  }

  async changed(client: pg.ClientBase, v: VideoRecord, actor: EventActor, deleted = false): Promise<void> {
    const event = createEvent({ type: EVENT_TYPES.videoChanged, key: v.id, actor, payload: videoChangedPayload(v, deleted) });
    await this.publisher.publish(client, TOPICS.videoLifecycle, [toEventMessage(event)]);
  }

  /** The upload finished: the transcoder's job request, then the new snapshot (state `processing`). */
  async uploaded(client: pg.ClientBase, v: VideoRecord, upload: VideoUploadedV1, actor: EventActor): Promise<void> {
    const uploaded = createEvent({ type: EVENT_TYPES.videoUploaded, key: v.id, actor, payload: upload });
    const changed = createEvent({ type: EVENT_TYPES.videoChanged, key: v.id, actor, payload: videoChangedPayload(v) });
    await this.publisher.publish<EventEnvelope<unknown>>(client, TOPICS.videoLifecycle, [toEventMessage<unknown>(uploaded), toEventMessage<unknown>(changed)]);
  }
}
