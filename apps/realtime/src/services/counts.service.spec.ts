import { afterEach, describe, expect, it } from '@jest/globals';
import type { VideoCounts } from '@kinora/contracts';
import { createLogger } from '@kinora/observability';
import type { VideoCounters } from '../ports.js';
import type { PresenceStore } from '../repositories/presence.store.js';
import { CountsService } from './counts.service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const logger = createLogger({ level: 'silent' });

function setup(opts: { pollMs?: number; minGapMs?: number; remote?: Map<string, number> } = {}) {
  const counters = new Map<string, VideoCounters>();
  const local = new Map<string, number>();
  const pushes: (VideoCounts & { at: number })[] = [];
  let failing = false;
  const presence: PresenceStore = {
    sync: async (_l, ids) => new Map(ids.map((id) => [id, opts.remote?.get(id) ?? 0])),
    peek: async (ids) => new Map(ids.map((id) => [id, opts.remote?.get(id) ?? 0])),
    remove: async () => {},
  };
  const service = new CountsService({
    source: async (ids) => {
      if (failing) throw new Error('down');
      return new Map(ids.filter((id) => counters.has(id)).map((id) => [id, counters.get(id)!]));
    },
    presence,
    localWatchers: () => local,
    push: (c) => pushes.push({ ...c, at: Date.now() }),
    logger,
    pollMs: opts.pollMs ?? 40,
    minGapMs: opts.minGapMs ?? 200,
  });
  services.push(service);
  return { service, counters, local, pushes, fail: (v: boolean) => (failing = v) };
}

const services: CountsService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

describe('CountsService', () => {
  it('answers a join with counters and watchers of every instance', async () => {
    const { service, counters, local } = setup({ remote: new Map([['v', 4]]) });
    counters.set('v', { views: 9, likes: 2, dislikes: 1, comments: 3 });
    local.set('v', 2);
    expect(await service.countsFor('v')).toEqual({ videoId: 'v', views: 9, likes: 2, dislikes: 1, comments: 3, watching: 6 });
    expect(await service.countsFor('unknown')).toEqual({ videoId: 'unknown', views: 0, likes: 0, dislikes: 0, comments: 0, watching: 0 });
  });

  it('pushes changes only, at most once per gap, coalescing what happened in between', async () => {
    const { service, counters, local, pushes } = setup();
    counters.set('v', { views: 1, likes: 0, dislikes: 0, comments: 0 });
    local.set('v', 1);
    service.start();
    await until('first push', () => pushes.length === 1);
    await sleep(300);
    expect(pushes).toHaveLength(1); // nothing changed
    for (let i = 2; i <= 12; i++) {
      counters.set('v', { views: i, likes: 0, dislikes: 0, comments: 0 });
      service.changed(['v']);
      await sleep(50);
    }
    await until('newest value', () => pushes.at(-1)!.views === 12);
    const gaps = pushes.slice(1).map((p, i) => p.at - pushes[i]!.at);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(195);
    const span = pushes.at(-1)!.at - pushes[1]!.at;
    expect(pushes.length - 1).toBeLessThanOrEqual(Math.floor(span / 195) + 1); // never more than one per gap
  });

  it('pushes a reported change at once when the gap allows', async () => {
    const { service, counters, local, pushes } = setup({ pollMs: 10_000 });
    counters.set('v', { views: 1, likes: 0, dislikes: 0, comments: 0 });
    local.set('v', 1);
    await service.countsFor('v');
    counters.set('v', { views: 2, likes: 0, dislikes: 0, comments: 0 });
    const t0 = Date.now();
    service.changed(['v']);
    await until('push', () => pushes.length > 0);
    expect(Date.now() - t0).toBeLessThan(1000); // not the 10 s poll
    expect(pushes.map((p) => p.views)).toEqual([2]);
  });

  it('keeps the last counters when the source fails, and forgets videos nobody watches', async () => {
    const { service, counters, local, pushes, fail } = setup();
    counters.set('v', { views: 5, likes: 0, dislikes: 0, comments: 0 });
    local.set('v', 1);
    service.start();
    await until('first push', () => pushes.length === 1);
    fail(true);
    local.set('v', 2);
    await until('watching 2 with the last counters', () => pushes.at(-1)?.watching === 2);
    expect(pushes.at(-1)).toMatchObject({ views: 5, watching: 2 });
    local.delete('v');
    const n = pushes.length;
    fail(false);
    counters.set('v', { views: 6, likes: 0, dislikes: 0, comments: 0 });
    await sleep(300);
    expect(pushes).toHaveLength(n);
  });
});
