import { describe, expect, it } from '@jest/globals';
import { ANALYTICS_EVENT_TYPES, SOCIAL_EVENT_TYPES } from '@kinora/contracts';
import { counterEffect, countsAsChannelVideo, UnprocessableEventError } from './engagement.mapping.js';

const videoId = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const channelId = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c';
const env = (type: string, payload: object, occurredAt = '2026-03-04T05:06:07.089Z') => ({ id: 'x', type, key: videoId, occurredAt, actor: { type: 'anonymous', id: null }, payload });
const HOUR = Date.UTC(2026, 2, 4, 5);

describe('counterEffect', () => {
  it('maps each engagement event to its deltas, bucketed by the UTC hour it happened in', () => {
    expect(counterEffect(env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId, watchedSec: 3 }))).toEqual({ kind: 'video', id: videoId, hour: HOUR, views: 1, likes: 0, dislikes: 0, comments: 0 });
    expect(counterEffect(env(SOCIAL_EVENT_TYPES.videoRatingChanged, { videoId, deltas: { likes: -1, dislikes: 1 } }))).toMatchObject({ likes: -1, dislikes: 1, views: 0 });
    expect(counterEffect(env(SOCIAL_EVENT_TYPES.commentCreated, { videoId }))).toMatchObject({ comments: 1 });
    expect(counterEffect(env(SOCIAL_EVENT_TYPES.commentDeleted, { videoId }))).toMatchObject({ comments: -1 });
    expect(counterEffect(env(SOCIAL_EVENT_TYPES.channelSubscriptionChanged, { channelId, delta: -1 }))).toEqual({ kind: 'channel', id: channelId, subscribers: -1, videos: 0 });
    // Upper-case ids are the same entity.
    expect(counterEffect(env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId: videoId.toUpperCase() }))).toMatchObject({ id: videoId });
    // Offsets other than Z are parsed too.
    expect(counterEffect(env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId }, '2026-03-04T07:30:00+02:00'))).toMatchObject({ hour: HOUR });
  });

  it('counts nothing for event types it does not know (newer producers)', () => {
    expect(counterEffect(env('SomethingNew.v1', { videoId }))).toEqual({ kind: 'none' });
  });

  it.each([
    ['not an object', 'text'],
    ['no type', { payload: {} }],
    ['no payload', { type: ANALYTICS_EVENT_TYPES.videoViewed }],
    ['a video id that is not a UUID', env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId: 'v1' })],
    ['a bad date', env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId }, 'yesterday')],
    ['an impossible hour', env(ANALYTICS_EVENT_TYPES.videoViewed, { videoId }, '2026-13-04T05:06:07Z')],
    ['rating deltas out of range', env(SOCIAL_EVENT_TYPES.videoRatingChanged, { videoId, deltas: { likes: 2, dislikes: 0 } })],
    ['no rating deltas', env(SOCIAL_EVENT_TYPES.videoRatingChanged, { videoId })],
    ['a subscription delta of 0', env(SOCIAL_EVENT_TYPES.channelSubscriptionChanged, { channelId, delta: 0 })],
  ])('refuses %s (dead-lettered by the consumer)', (_what, value) => {
    expect(() => counterEffect(value)).toThrow(UnprocessableEventError);
  });
});

describe('countsAsChannelVideo', () => {
  it('counts ready public videos that are not deleted', () => {
    expect(countsAsChannelVideo({ state: 'ready', visibility: 'public', deleted: false })).toBe(true);
    expect(countsAsChannelVideo({ state: 'ready', visibility: 'unlisted', deleted: false })).toBe(false);
    expect(countsAsChannelVideo({ state: 'processing', visibility: 'public', deleted: false })).toBe(false);
    expect(countsAsChannelVideo({ state: 'ready', visibility: 'public', deleted: true })).toBe(false);
    expect(countsAsChannelVideo(undefined)).toBe(false);
  });
});
