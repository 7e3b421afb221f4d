import { uuidv7 } from 'uuidv7';
import type { EventMessage } from './event-bus.js';

/** Who caused an event: a signed-in user, a service acting on its own (`transcoder`), or an anonymous visitor. */
export type EventActor = { type: 'user'; id: string } | { type: 'service'; id: string } | { type: 'anonymous'; id: string | null };

/** The envelope every Kinora event carries; `payload` is the versioned body named by `type`. */
export interface EventEnvelope<T = unknown> {
  /** UUIDv7: unique, and sortable by creation time. Consumers deduplicate on it. */
  id: string;
  /** `<PascalCaseName>.v<N>`, e.g. `VideoLiked.v1`. */
  type: string;
  /** The partitioning key, also the message key (e.g. the video id). */
  key: string;
  /** RFC 3339 (UTC, milliseconds). */
  occurredAt: string;
  actor: EventActor;
  payload: T;
}

export interface CreateEventInput<T> {
  type: string;
  key: string;
  actor: EventActor;
  payload: T;
  /** Defaults to now. */
  occurredAt?: Date;
}

const EVENT_TYPE = /^[A-Z][A-Za-z0-9]*\.v[1-9][0-9]*$/;

export function createEvent<T>(input: CreateEventInput<T>): EventEnvelope<T> {
  if (!EVENT_TYPE.test(input.type)) {
    throw new TypeError(`invalid event type ${JSON.stringify(input.type)}: expected <PascalCaseName>.v<N>, e.g. VideoLiked.v1`);
  }
  if (input.key === '') throw new TypeError('an event key must not be empty');
  return {
    id: uuidv7(),
    type: input.type,
    key: input.key,
    occurredAt: (input.occurredAt ?? new Date()).toISOString(),
    actor: input.actor,
    payload: input.payload,
  };
}

/**
 * The message that carries an envelope: keyed by the envelope's key, with its id and type also as headers so
 * consumers (and the DLQ tooling) can route or skip a message without parsing its value.
 */
export function toEventMessage<T>(event: EventEnvelope<T>, headers: Record<string, string> = {}): EventMessage<EventEnvelope<T>> {
  return { key: event.key, value: event, headers: { ...headers, 'event-id': event.id, 'event-type': event.type } };
}
