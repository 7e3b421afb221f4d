import { describe, expect, it } from '@jest/globals';
import { uuidv7 } from 'uuidv7';
import { parseEngagement } from './engagement.js';

const videoId = uuidv7();
const userId = uuidv7();
const envelope = (type: string, payload: unknown, actor: unknown = { type: 'user', id: userId }) => ({
  id: uuidv7(),
  type,
  key: videoId,
  occurredAt: '2026-12-07T01:00:00.000Z',
  actor,
  payload,
});

describe('parseEngagement', () => {
  it('reads a signed-in view, an anonymous view and a rating change', () => {
    expect(parseEngagement(envelope('VideoViewed.v1', { videoId, watchedSec: null }))).toEqual(
      expect.objectContaining({ kind: 'view', videoId, userId, at: new Date('2026-12-07T01:00:00.000Z') }),
    );
    expect(parseEngagement(envelope('VideoViewed.v1', { videoId, watchedSec: 3 }, { type: 'anonymous', id: null }))).toEqual(
      expect.objectContaining({ kind: 'view', userId: null }),
    );
    const payload = { videoId, userId, previous: 'like', value: 'dislike', deltas: { likes: -1, dislikes: 1 } };
    expect(parseEngagement(envelope('VideoRatingChanged.v1', payload))).toEqual(expect.objectContaining({ kind: 'rating', liked: false, likesDelta: -1 }));
  });

  it('skips other types and malformed envelopes', () => {
    expect(parseEngagement(envelope('VideoChanged.v1', { videoId }))).toBeNull();
    expect(parseEngagement(envelope('VideoViewed.v1', { videoId: 'nope' }))).toBeNull();
    expect(parseEngagement(envelope('VideoRatingChanged.v1', { videoId, value: 'like' }))).toBeNull();
    expect(parseEngagement({ ...envelope('VideoViewed.v1', { videoId }), id: 'x' })).toBeNull();
    expect(parseEngagement(null)).toBeNull();
    expect(parseEngagement('text')).toBeNull();
  });
});
