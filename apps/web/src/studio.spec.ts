import { describe, expect, it } from '@jest/globals';
import type { Notification } from '@kinora/contracts';
import { mergeNotification, notificationText, unreadLabel } from './notifications/model.js';
import { chartGeometry, niceMax } from './studio/chart.js';
import { parseTags } from './studio/studioApi.js';

describe('the analytics chart geometry', () => {
  it('rounds the value axis up to 1, 2 or 5 × 10^n', () => {
    expect([0, -3, Number.NaN, 1, 3, 7, 10, 11, 240, 999].map(niceMax)).toEqual([1, 1, 1, 1, 5, 10, 10, 20, 500, 1000]);
  });

  it('draws one bar per bucket inside the plot, heights proportional to the views', () => {
    const series = [
      { t: '2026-12-07T00:00:00.000Z', views: 0 },
      { t: '2026-12-07T01:00:00.000Z', views: 5 },
      { t: '2026-12-07T02:00:00.000Z', views: 10 },
    ];
    const g = chartGeometry(series, 340, 224);
    expect(g.max).toBe(10);
    expect(g.bars).toHaveLength(3);
    const full = g.plot.bottom - g.plot.top;
    expect(g.bars.map((b) => b.h)).toEqual([0, full / 2, full]);
    for (const b of g.bars) {
      expect(b.y + b.h).toBeCloseTo(g.plot.bottom);
      expect(b.x).toBeGreaterThanOrEqual(g.plot.left);
      expect(b.x + b.w).toBeLessThanOrEqual(g.plot.right);
    }
    // Left to right in time, no overlap.
    expect(g.bars[0]!.x + g.bars[0]!.w).toBeLessThan(g.bars[1]!.x);
    expect(g.ticks.map((t) => t.label)).toEqual(['0', '5', '10']);
  });

  it('has no bars for an empty series and a unit axis', () => {
    const g = chartGeometry([]);
    expect(g.bars).toEqual([]);
    expect(g.max).toBe(1);
  });
});

describe('tags typed in one field', () => {
  it('splits on commas, trims, drops blanks and case-insensitive repeats', () => {
    expect(parseTags(' cats, Dogs ,, cats,CATS, dogs , birds ')).toEqual(['cats', 'Dogs', 'birds']);
    expect(parseTags('   ')).toEqual([]);
  });
});

describe('notifications', () => {
  const n = (id: string, createdAt: string, read = false): Notification => ({
    id,
    kind: 'video.published',
    payload: { videoId: '0190c0de-0000-7000-8000-000000000001', channelId: '0190c0de-0000-7000-8000-000000000002', title: `Video ${id}` },
    read,
    createdAt,
  });

  it('merges pushes and list pages newest first without repeating an id', () => {
    let list: Notification[] = [];
    list = mergeNotification(list, n('a', '2026-12-07T01:00:00.000Z'));
    list = mergeNotification(list, n('b', '2026-12-07T02:00:00.000Z'));
    list = mergeNotification(list, n('a', '2026-12-07T01:00:00.000Z', true));
    expect(list.map((x) => [x.id, x.read])).toEqual([
      ['b', false],
      ['a', true],
    ]);
  });

  it('shows the unread count exactly up to 99, and as a lower bound when unread ones may not be loaded', () => {
    const list = (flags: boolean[]) => flags.map((read, i) => n(`x${i}`, `2026-12-07T01:00:${String(59 - i).padStart(2, '0')}.000Z`, read));
    expect(unreadLabel([], false)).toBe('0');
    expect(unreadLabel(list([false, true, false]), false)).toBe('2');
    expect(unreadLabel(list([false, true, true]), true)).toBe('1'); // the oldest loaded is read: older ones are too
    expect(unreadLabel(list([false, true, false]), true)).toBe('2+');
    expect(unreadLabel(list([true, true]), true)).toBe('0');
    expect(unreadLabel(Array.from({ length: 100 }, (_, i) => n(`y${i}`, '2026-12-07T01:00:00.000Z')), true)).toBe('99+');
  });

  it('reads as a sentence', () => {
    expect(notificationText(n('a', '2026-12-07T01:00:00.000Z'))).toBe('New video: “Video a”');
    expect(
      notificationText({
        id: 'r',
        kind: 'comment.reply',
        read: false,
        createdAt: '2026-12-07T01:00:00.000Z',
        payload: { videoId: 'v', commentId: 'c', parentId: 'p', author: { id: 'u', username: 'ann', displayName: 'Ann' }, excerpt: 'Nice!' },
      }),
    ).toBe('Ann replied to your comment: “Nice!”');
  });
});
