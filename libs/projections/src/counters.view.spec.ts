import { describe, expect, it } from '@jest/globals';
import { COUNTER_EVENT_TYPES, TOPICS, type ChannelCountersV1, type VideoCountersV1 } from '@kinora/contracts';
import type { ConsumedBatch, EventBus, SubscribeOptions } from '@kinora/events';
import { CountersView, type CountersLoader } from './counters.view.js';

const V1 = '01890a5d-ac96-774b-bcce-b302099a8057';
const V2 = '01890a5d-ac96-774b-bcce-b302099a8058';
const C1 = '01890a5d-ac96-774b-bcce-b302099a8059';

const video = (videoId: string, version: number, likes: number): VideoCountersV1 => ({ videoId, version: String(version), views: 10, likes, dislikes: 0, comments: 0 });

/** A loader whose answers the test sets, counting calls. */
function loader(): CountersLoader & { videoRows: Map<string, VideoCountersV1>; channelRows: Map<string, ChannelCountersV1>; calls: string[][]; fail: boolean; gate?: Promise<void> } {
  const l = {
    videoRows: new Map<string, VideoCountersV1>(),
    channelRows: new Map<string, ChannelCountersV1>(),
    calls: [] as string[][],
    fail: false,
    gate: undefined as Promise<void> | undefined,
    async videos(ids: readonly string[]) {
      l.calls.push([...ids]);
      if (l.gate) await l.gate;
      if (l.fail) throw new Error('analytics is down');
      return ids.flatMap((id) => (l.videoRows.has(id) ? [l.videoRows.get(id)!] : []));
    },
    async channels(ids: readonly string[]) {
      l.calls.push([...ids]);
      if (l.fail) throw new Error('analytics is down');
      return ids.flatMap((id) => (l.channelRows.has(id) ? [l.channelRows.get(id)!] : []));
    },
  };
  return l;
}

/** The EventBus port reduced to what the view uses: the test delivers batches to its handler. */
function feed(): EventBus & { deliver(values: unknown[]): Promise<void>; subscribed?: SubscribeOptions<unknown> } {
  const bus = {
    subscribed: undefined as SubscribeOptions<unknown> | undefined,
    async ensureTopics() {},
    async publish() {},
    async subscribe<T>(opts: SubscribeOptions<T>) {
      bus.subscribed = opts as SubscribeOptions<unknown>;
      return { close: async () => {} };
    },
    async close() {},
    async deliver(values: unknown[]) {
      const batch: ConsumedBatch<unknown> = {
        topic: TOPICS.counters,
        partition: 0,
        messages: values.map((value, i) => ({ topic: TOPICS.counters, partition: 0, offset: String(i), key: 'k', value, headers: {}, timestamp: new Date().toISOString() })),
      };
      await bus.subscribed!.handler(batch);
    },
  };
  return bus;
}

const videoEvent = (p: VideoCountersV1) => ({ type: COUNTER_EVENT_TYPES.videoCountersChanged, payload: p });

describe('CountersView', () => {
  it('loads what it lacks once, then answers from the cache; unknown and malformed ids read as zeros', async () => {
    const l = loader();
    l.videoRows.set(V1, video(V1, 3, 5));
    const view = new CountersView({ loader: l });
    const [a, b] = await Promise.all([view.statsOf([V1, V2, 'not-a-uuid']), view.statsOf([V1])]);
    expect(a.get(V1)).toEqual({ views: 10, likes: 5, dislikes: 0, comments: 0 });
    expect(a.get(V2)).toEqual({ views: 0, likes: 0, dislikes: 0, comments: 0 });
    expect(a.get('not-a-uuid')).toEqual({ views: 0, likes: 0, dislikes: 0, comments: 0 });
    expect(b.get(V1)?.likes).toBe(5);
    expect(l.calls).toEqual([[V1, V2]]); // the second read joined the first load
    await view.statsOf([V1.toUpperCase()]);
    expect(l.calls).toHaveLength(1);
  });

  it('keeps the newest version whatever order loads and events arrive in, and tells listeners of real moves', async () => {
    const l = loader();
    const bus = feed();
    l.videoRows.set(V1, video(V1, 5, 50));
    const view = new CountersView({ loader: l, bus });
    await view.start();
    expect(bus.subscribed).toMatchObject({ topics: [TOPICS.counters], fromBeginning: false });
    const moved: string[][] = [];
    view.onVideoCounters((u) => moved.push(u.map((x) => `${x.videoId}@${x.likes}`)));

    await view.statsOf([V1]);
    await bus.deliver([videoEvent(video(V1, 4, 40))]); // older than what was loaded: ignored
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(50);
    expect(moved).toEqual([]);
    await bus.deliver([videoEvent(video(V1, 6, 60)), { type: 'Other.v1', payload: {} }, videoEvent({ ...video(V1, 7, 70), likes: -1 })]);
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(60);
    expect(moved).toEqual([[`${V1}@60`]]);
    expect(l.calls).toHaveLength(1); // events kept it fresh: no reload

    // An event that overtakes a slow load wins over the older totals the load brings back.
    let open!: () => void;
    l.gate = new Promise<void>((r) => (open = r));
    l.videoRows.set(V2, video(V2, 1, 1));
    const reading = view.statsOf([V2]);
    await bus.deliver([videoEvent(video(V2, 2, 2))]);
    open();
    expect((await reading).get(V2)?.likes).toBe(2);
  });

  it('reloads totals older than maxAgeMs, and serves the last ones (or zeros) while analytics fails', async () => {
    let now = 1_000_000;
    const l = loader();
    l.videoRows.set(V1, video(V1, 1, 1));
    l.channelRows.set(C1, { channelId: C1, version: '2', subscriberCount: 7, videoCount: 3 });
    const view = new CountersView({ loader: l, maxAgeMs: 5_000, staleIfErrorMs: 60_000, now: () => now });
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(1);
    expect(await view.channelStats(C1)).toEqual({ subscriberCount: 7, videoCount: 3 });
    l.videoRows.set(V1, video(V1, 2, 2));
    now += 4_000;
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(1);
    now += 1_000;
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(2);

    l.fail = true;
    now += 10_000;
    expect((await view.statsOf([V1, V2])).get(V1)?.likes).toBe(2);
    expect((await view.statsOf([V2])).get(V2)).toEqual({ views: 0, likes: 0, dislikes: 0, comments: 0 });
    expect(await view.channelStats(C1)).toEqual({ subscriberCount: 7, videoCount: 3 });
    now += 61_000; // past stale-if-error: nothing left to serve
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(0);
  });

  it('peek answers held fresh totals at once, and the same object until a newer version arrives', async () => {
    let now = 1_000_000;
    const l = loader();
    const bus = feed();
    l.videoRows.set(V1, video(V1, 3, 5));
    const view = new CountersView({ loader: l, bus, maxAgeMs: 5_000, staleWhileRevalidateMs: 0, now: () => now });
    await view.start();
    expect(view.peek(V1)).toBeUndefined(); // not held yet
    const first = (await view.statsOf([V1])).get(V1);
    expect(view.peek(V1)).toBe(first);
    expect(view.peek(V1.toUpperCase())).toBe(first);
    // A reload with the same version keeps the held object (readers key rendered answers on it).
    now += 5_000;
    expect(view.peek(V1)).toBeUndefined(); // too old, no stale window: statsOf reloads
    expect((await view.statsOf([V1])).get(V1)).toBe(first);
    expect(l.calls).toHaveLength(2);
    expect(view.peek(V1)).toBe(first);
    // A newer version replaces it.
    await bus.deliver([videoEvent(video(V1, 4, 6))]);
    const second = view.peek(V1);
    expect(second).not.toBe(first);
    expect(second?.likes).toBe(6);
    expect(first?.likes).toBe(5); // the old object was not changed
  });

  it('answers stale totals at once within the stale-while-revalidate window and reloads them in the background, batched', async () => {
    let now = 1_000_000;
    const l = loader();
    const bus = feed();
    l.videoRows.set(V1, video(V1, 1, 1));
    l.videoRows.set(V2, video(V2, 1, 10));
    l.channelRows.set(C1, { channelId: C1, version: '1', subscriberCount: 1, videoCount: 1 });
    const view = new CountersView({ loader: l, bus, maxAgeMs: 5_000, staleWhileRevalidateMs: 60_000, now: () => now });
    await view.statsOf([V1, V2]);
    await view.channelStats(C1);
    expect(l.calls).toHaveLength(2);
    // Analytics moved on and the feed missed it.
    l.videoRows.set(V1, video(V1, 2, 2));
    l.videoRows.set(V2, video(V2, 2, 20));
    l.channelRows.set(C1, { channelId: C1, version: '2', subscriberCount: 2, videoCount: 1 });
    now += 6_000;
    // Stale: the held totals answer at once (peek and statsOf alike), and one background load takes both videos.
    expect(view.peek(V1)?.likes).toBe(1);
    expect((await view.statsOf([V2])).get(V2)?.likes).toBe(10);
    expect(view.peek(V1)?.likes).toBe(1);
    expect(await view.channelStats(C1)).toEqual({ subscriberCount: 1, videoCount: 1 });
    expect(l.calls).toHaveLength(2);
    await view.settled();
    expect(l.calls.slice(2).map((c) => [...c].sort())).toEqual([[V1, V2].sort(), [C1]]);
    expect(view.peek(V1)?.likes).toBe(2);
    expect((await view.statsOf([V2])).get(V2)?.likes).toBe(20);
    expect(await view.channelStats(C1)).toEqual({ subscriberCount: 2, videoCount: 1 });
    expect(l.calls).toHaveLength(4);

    // Past the window the read waits for the load, as without one.
    l.videoRows.set(V1, video(V1, 3, 3));
    now += 5_000 + 60_000;
    expect(view.peek(V1)).toBeUndefined();
    expect((await view.statsOf([V1])).get(V1)?.likes).toBe(3);
    expect(view.peek(V1)?.likes).toBe(3);
  });

  it('keeps answering held totals while analytics fails, and pauses background reloads after a failure', async () => {
    let now = 1_000_000;
    const l = loader();
    const bus = feed();
    l.videoRows.set(V1, video(V1, 1, 1));
    const view = new CountersView({ loader: l, bus, maxAgeMs: 5_000, staleWhileRevalidateMs: 60_000, now: () => now });
    await view.statsOf([V1]);
    l.fail = true;
    now += 6_000;
    expect(view.peek(V1)?.likes).toBe(1);
    await view.settled();
    expect(l.calls).toHaveLength(2); // the background load failed
    expect(view.peek(V1)?.likes).toBe(1);
    await view.settled();
    expect(l.calls).toHaveLength(2); // paused: no load per read while analytics is down
    l.fail = false;
    l.videoRows.set(V1, video(V1, 2, 2));
    now += 5_000; // the pause is over
    expect(view.peek(V1)?.likes).toBe(1);
    await view.settled();
    expect(view.peek(V1)?.likes).toBe(2);
  });

  it('serves the held totals while a load of the id runs', async () => {
    let now = 1_000_000;
    const l = loader();
    l.videoRows.set(V1, video(V1, 1, 1));
    const view = new CountersView({ loader: l, bus: feed(), maxAgeMs: 5_000, staleWhileRevalidateMs: 60_000, now: () => now });
    await view.statsOf([V1]);
    let open!: () => void;
    l.gate = new Promise<void>((r) => (open = r));
    l.videoRows.set(V1, video(V1, 2, 2));
    now += 6_000;
    expect(view.peek(V1)?.likes).toBe(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(l.calls).toHaveLength(2); // the background load runs
    expect(view.peek(V1)?.likes).toBe(1);
    open();
    await view.settled();
    expect(view.peek(V1)?.likes).toBe(2);
  });
});
