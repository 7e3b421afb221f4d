import { describe, expect, it } from '@jest/globals';
import { WorkQueue } from './work-queue.js';
import { backoffDelayMs } from '@kinora/events';

describe('WorkQueue', () => {
  it('deduplicates keys that wait', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands one key to two workers: a key added while processed comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await new Promise((r) => setImmediate(r));
    expect(second).toBeUndefined();
    q.done(k!);
    await new Promise((r) => setImmediate(r));
    expect(second).toBe('a');
  });

  it('backs off a failing key exponentially per key and forgets it on success', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
    expect(q.addRateLimited('a')).toBe(10);
    expect(q.addRateLimited('a')).toBe(20);
    expect(q.addRateLimited('a')).toBe(40);
    expect(q.addRateLimited('a')).toBe(50);
    expect(q.addRateLimited('b')).toBe(10);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(10);
    q.shutDown();
  });

  it('addAfter delivers later, and the earliest schedule wins', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 200);
    q.addAfter('a', 20);
    const t0 = Date.now();
    expect(await q.get()).toBe('a');
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(190);
  });

  it('after shutDown, waiting workers get undefined and drained() waits for in-flight keys', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    const waiting = q.get();
    q.add('b');
    let drained = false;
    q.shutDown();
    void q.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(await waiting).toBe('b'); // handed out before the shutdown
    q.done('b');
    expect(drained).toBe(false);
    q.done(k!);
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
    q.add('c');
    expect(q.length).toBe(0);
  });
});

describe('backoffDelayMs (the work queue\'s per-key delay)', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelayMs(n, { initialMs: 5, maxMs: 1000 }))).toEqual([0, 5, 10, 20, 1000]);
    expect(backoffDelayMs(5000, { initialMs: 5, maxMs: 300_000 })).toBe(300_000);
  });
});
