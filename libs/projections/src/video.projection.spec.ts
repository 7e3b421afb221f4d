import { describe, expect, it } from '@jest/globals';
import { canSee, checkVideoChanged, isPublished } from './video.projection.js';
import { videoChangedEvent } from './video-changed.js';

const owner = '01900000-0000-7000-8000-000000000001';
const other = '01900000-0000-7000-8000-000000000002';
const base = { ownerId: owner, state: 'ready', visibility: 'public', deleted: false } as const;

describe('canSee', () => {
  it.each([
    ['ready public', {}, true, true, true],
    ['ready unlisted', { visibility: 'unlisted' }, true, true, true],
    ['ready private', { visibility: 'private' }, true, false, false],
    ['processing', { state: 'processing' }, true, false, false],
    ['awaiting upload', { state: 'awaiting_upload' }, true, false, false],
    ['failed', { state: 'failed' }, true, false, false],
    ['deleted', { deleted: true }, false, false, false],
  ] as const)('%s: owner %s, another user %s, anonymous %s', (_label, patch, forOwner, forOther, forAnonymous) => {
    const v = { ...base, ...patch };
    expect([canSee(v, owner), canSee(v, other), canSee(v, null)]).toEqual([forOwner, forOther, forAnonymous]);
  });

  it('sees nothing of an unknown video', () => {
    expect(canSee(undefined, owner)).toBe(false);
  });
});

describe('isPublished', () => {
  it('is ready, public and not deleted', () => {
    expect(isPublished(base)).toBe(true);
    expect(isPublished({ ...base, visibility: 'unlisted' })).toBe(false);
    expect(isPublished({ ...base, deleted: true })).toBe(false);
  });
});

describe('checkVideoChanged', () => {
  const good = videoChangedEvent({ videoId: '01900000-0000-7000-8000-00000000000a', version: 3, channelId: '01900000-0000-7000-8000-00000000000b', ownerId: owner });

  it('accepts a well-formed event', () => {
    expect(checkVideoChanged(good)).toEqual({ ok: true, event: good });
  });

  it.each([
    ['another type', { ...good, type: 'VideoUploaded.v1' }],
    ['a non-UUID id', { ...good, payload: { ...good.payload, videoId: 'x' } }],
    ['version 0', { ...good, payload: { ...good.payload, version: 0 } }],
    ['an unknown state', { ...good, payload: { ...good.payload, state: 'gone' } }],
    ['a bad publishedAt', { ...good, payload: { ...good.payload, publishedAt: 'yesterday' } }],
    ['no payload', { ...good, payload: null }],
    ['garbage', 'garbage'],
  ])('refuses %s', (_label, value) => {
    expect(checkVideoChanged(value).ok).toBe(false);
  });
});
