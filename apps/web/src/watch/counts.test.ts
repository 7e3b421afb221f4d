import { describe, expect, it } from 'vitest';
import { initialCounts, PENDING_MS, pushed, rated, reverted, shownCounts, type Counts } from './counts.js';

const server = (likes: number, dislikes = 0): Counts => ({ views: 3, likes, dislikes, comments: 0 });

describe('the watch page counts', () => {
  it('keeps an optimistic like over an older push until a push reflects it', () => {
    let s = rated(initialCounts(server(4)), 'none', 'like', 1000);
    expect(shownCounts(s).likes).toBe(5);
    // A push computed before the like landed: still 4 on the server, the like stays shown.
    s = pushed(s, server(4), 1500);
    expect(shownCounts(s).likes).toBe(5);
    // The push that counts it: 5, and no longer added on top.
    s = pushed(s, server(5), 2000);
    expect(s.pending).toBeNull();
    expect(shownCounts(s).likes).toBe(5);
    s = pushed(s, server(6), 2500);
    expect(shownCounts(s).likes).toBe(6);
  });

  it('moves a like to a dislike as one pending change on both counts', () => {
    let s = rated(initialCounts(server(1, 0)), 'none', 'like', 0);
    s = pushed(s, server(2, 0), 10);
    expect(s.pending).toBeNull();
    s = rated(s, 'like', 'dislike', 20);
    expect(shownCounts(s)).toMatchObject({ likes: 1, dislikes: 1 });
    // Half reflected (the unlike counted, the dislike not yet): kept.
    s = pushed(s, server(1, 0), 30);
    expect(shownCounts(s)).toMatchObject({ likes: 0, dislikes: 1 });
    s = pushed(s, server(1, 1), 40);
    expect(s.pending).toBeNull();
    expect(shownCounts(s)).toMatchObject({ likes: 1, dislikes: 1 });
  });

  it('takes back a change the API refused, and a like undone before any push leaves nothing pending', () => {
    let s = rated(initialCounts(server(0)), 'none', 'like', 0);
    s = reverted(s, 'none', 'like', 5);
    expect(s.pending).toBeNull();
    expect(shownCounts(s).likes).toBe(0);
    s = rated(rated(s, 'none', 'like', 10), 'like', 'none', 20);
    expect(s.pending).toBeNull();
  });

  it('gives up on a change no push reflects after the pending time, and never shows below zero', () => {
    let s = rated(initialCounts(server(0)), 'none', 'like', 0);
    s = pushed(s, server(0), PENDING_MS + 1);
    expect(s.pending).toBeNull();
    expect(shownCounts(s).likes).toBe(0);
    s = rated(initialCounts(server(0)), 'like', 'none', 0);
    expect(shownCounts(s).likes).toBe(0);
  });
});
