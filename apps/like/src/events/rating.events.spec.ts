import { describe, expect, it } from '@jest/globals';
import { ratingDeltas } from './rating.events.js';

describe('ratingDeltas', () => {
  it.each([
    ['none', 'like', 1, 0],
    ['none', 'dislike', 0, 1],
    ['like', 'dislike', -1, 1],
    ['dislike', 'like', 1, -1],
    ['like', 'none', -1, 0],
    ['dislike', 'none', 0, -1],
    ['like', 'like', 0, 0],
  ] as const)('%s → %s is likes %i, dislikes %i', (previous, value, likes, dislikes) => {
    expect(ratingDeltas(previous, value)).toEqual({ likes, dislikes });
  });
});
