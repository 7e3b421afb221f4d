import type pg from 'pg';
import {
  EVENT_TYPES,
  TOPICS,
  type TranscodeFailedV1,
  type TranscodeProgressV1,
  type TranscodeSucceededV1,
} from '@kinora/contracts';
import { createEvent, toEventMessage, type EventBus, type EventEnvelope, type EventMessage } from '@kinora/events';

export const TRANSCODER_ACTOR = { type: 'service', id: 'transcoder' } as const;

/** An adapter that can write events inside the caller's transaction (the in-process bus: an outbox). */
type TransactionalPublish = (topic: string, messages: EventMessage[], options?: { client?: pg.ClientBase }) => Promise<void>;

function message<T>(type: string, videoId: string, payload: T): EventMessage<EventEnvelope<T>> {
  return toEventMessage(createEvent({ type, key: videoId, actor: TRANSCODER_ACTOR, payload }));
}

/**
 * What the transcoder writes to `video.transcoded` (key = video id, so one video's events stay in order).
 */
export class TranscodeEventPublisher {
  constructor(
    private readonly bus: EventBus,
    /**
     * Pass the transaction's client to `publish` (the in-process bus then writes the event in that transaction:
     * state change and event commit together). An adapter without the option ignores it and publishes at once,
     * before the caller commits: a crash in between repeats the job and its event (at-least-once), never loses it.
     */
    private readonly publishInTransaction: boolean,
  ) {}

  progress(payload: TranscodeProgressV1): Promise<void> {
    return this.bus.publish(TOPICS.videoTranscoded, [message(EVENT_TYPES.transcodeProgress, payload.videoId, payload)]);
  }

  succeeded(client: pg.ClientBase, payload: TranscodeSucceededV1): Promise<void> {
    return this.inTransaction(client, [message(EVENT_TYPES.transcodeSucceeded, payload.videoId, payload)]);
  }

  failed(client: pg.ClientBase, payload: TranscodeFailedV1): Promise<void> {
    return this.inTransaction(client, [message(EVENT_TYPES.transcodeFailed, payload.videoId, payload)]);
  }

  /** Malformed input events, with the error, to `<topic>.dlq`. */
  deadLetter(client: pg.ClientBase, topic: string, messages: EventMessage[]): Promise<void> {
    return this.inTransaction(client, messages, `${topic}.dlq`);
  }

  private inTransaction(client: pg.ClientBase, messages: EventMessage[], topic: string = TOPICS.videoTranscoded): Promise<void> {
    if (!this.publishInTransaction) return this.bus.publish(topic, messages);
    return (this.bus.publish as TransactionalPublish).call(this.bus, topic, messages, { client });
  }
}
