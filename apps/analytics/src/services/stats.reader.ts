import type { CounterRepository } from '../repositories/counter.repository.js';

export interface VideoStats {
  views: number;
  likes: number;
  dislikes: number;
  comments: number;
}

export interface ChannelStats {
  subscriberCount: number;
  videoCount: number;
}

/**
 * What other modules read the counters through (the video module's `VideoStatsReader`, the user module's
 * `ChannelStatsReader`): sums of the shards, cached in-process for `cacheMs` (counts only move at flushes anyway).
 * Unknown ids read as zeros.
 */
export interface StatsReader {
  statsOf(videoIds: readonly string[]): Promise<Map<string, VideoStats>>;
  channelStats(channelId: string): Promise<ChannelStats>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A small TTL cache with a size bound (oldest entries go first). */
class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get(key: string, now: number): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, now: number): void {
    if (this.ttlMs <= 0) return;
    this.map.delete(key);
    this.map.set(key, { value, expires: now + this.ttlMs });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class CachedStatsReader implements StatsReader {
  private readonly videos: TtlCache<VideoStats>;
  private readonly channels: TtlCache<ChannelStats>;

  constructor(
    private readonly counters: CounterRepository,
    opts: { cacheMs?: number; maxEntries?: number } = {},
  ) {
    this.videos = new TtlCache(opts.cacheMs ?? 5_000, opts.maxEntries ?? 50_000);
    this.channels = new TtlCache(opts.cacheMs ?? 5_000, opts.maxEntries ?? 50_000);
  }

  async statsOf(videoIds: readonly string[]): Promise<Map<string, VideoStats>> {
    const now = Date.now();
    const out = new Map<string, VideoStats>();
    const missing: string[] = [];
    for (const id of new Set(videoIds)) {
      const hit = this.videos.get(id, now);
      if (hit) out.set(id, hit);
      else if (UUID.test(id)) missing.push(id.toLowerCase());
      else out.set(id, { views: 0, likes: 0, dislikes: 0, comments: 0 });
    }
    if (missing.length > 0) {
      const read = await this.counters.videoCounts(missing);
      for (const id of videoIds) {
        if (out.has(id)) continue;
        const stats = read.get(id.toLowerCase()) ?? { views: 0, likes: 0, dislikes: 0, comments: 0 };
        this.videos.set(id, stats, now);
        out.set(id, stats);
      }
    }
    return out;
  }

  async channelStats(channelId: string): Promise<ChannelStats> {
    const now = Date.now();
    const hit = this.channels.get(channelId, now);
    if (hit) return hit;
    if (!UUID.test(channelId)) return { subscriberCount: 0, videoCount: 0 };
    const c = (await this.counters.channelCounts([channelId.toLowerCase()])).get(channelId.toLowerCase());
    const stats = { subscriberCount: c?.subscribers ?? 0, videoCount: c?.videos ?? 0 };
    this.channels.set(channelId, stats, now);
    return stats;
  }
}
