import type { Redis } from 'ioredis';

/** Decides whether a view is the first of its viewer for a video within the window. */
export interface ViewDedupe {
  /** True the first time `(videoId, viewer)` is seen within the window, false afterwards. */
  firstView(videoId: string, viewer: string): Promise<boolean>;
}

/** Shared by every instance: `SET key 1 NX EX window`. */
export class RedisViewDedupe implements ViewDedupe {
  constructor(
    private readonly redis: Redis,
    private readonly windowSec: number,
    private readonly prefix = 'kinora:analytics:view:',
  ) {}

  async firstView(videoId: string, viewer: string): Promise<boolean> {
    const res = await this.redis.set(`${this.prefix}${videoId}:${viewer}`, '1', 'EX', this.windowSec, 'NX');
    return res === 'OK';
  }
}

/**
 * Embedded mode: a bounded in-process map (insertion order = age) with expiry. When full, the oldest entries go
 * first, so under a flood a viewer may be counted again before the hour is over; never the other way round.
 */
export class InProcessViewDedupe implements ViewDedupe {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  async firstView(videoId: string, viewer: string): Promise<boolean> {
    const key = `${videoId}:${viewer}`;
    const t = this.now();
    const until = this.seen.get(key);
    if (until !== undefined && until > t) return false;
    this.seen.delete(key);
    this.seen.set(key, t + this.windowMs);
    if (this.seen.size > this.maxEntries) {
      for (const [k, u] of this.seen) {
        if (this.seen.size <= this.maxEntries && u > t) break;
        this.seen.delete(k);
      }
    }
    return true;
  }
}
