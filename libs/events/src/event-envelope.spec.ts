import { describe, expect, it } from '@jest/globals';
import { createEvent, toEventMessage } from './event-envelope.js';

describe('createEvent', () => {
  const input = { type: 'VideoLiked.v1', key: 'video-1', actor: { type: 'user', id: 'user-1' } as const, payload: { rating: 'like' } };

  it('wraps the payload in the shared envelope with a UUIDv7 id and an RFC 3339 occurredAt', () => {
    const before = Date.now();
    const event = createEvent(input);
    expect(event).toEqual({ id: expect.any(String), type: 'VideoLiked.v1', key: 'video-1', occurredAt: expect.any(String), actor: { type: 'user', id: 'user-1' }, payload: { rating: 'like' } });
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(event.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before);
  });

  it('gives ids that sort in creation order', () => {
    const ids = Array.from({ length: 50 }, () => createEvent(input).id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(50);
  });

  it('keeps a given occurredAt', () => {
    expect(createEvent({ ...input, occurredAt: new Date('2024-05-01T10:00:00Z') }).occurredAt).toBe('2024-05-01T10:00:00.000Z');
  });

  it.each(['VideoLiked', 'videoLiked.v1', 'VideoLiked.v0', 'VideoLiked.V1', 'Video Liked.v1', ''])('rejects the type %j', (type) => {
    expect(() => createEvent({ ...input, type })).toThrow(/invalid event type/);
  });

  it('rejects an empty key', () => {
    expect(() => createEvent({ ...input, key: '' })).toThrow(/key/);
  });
});

describe('toEventMessage', () => {
  it('keys the message by the event key and adds id and type headers', () => {
    const event = createEvent({ type: 'VideoViewed.v1', key: 'video-9', actor: { type: 'anonymous', id: null }, payload: {} });
    expect(toEventMessage(event, { traceparent: 'x' })).toEqual({
      key: 'video-9',
      value: event,
      headers: { traceparent: 'x', 'event-id': event.id, 'event-type': 'VideoViewed.v1' },
    });
  });
});
