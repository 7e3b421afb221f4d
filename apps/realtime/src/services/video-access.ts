import { canSee, type VideoAccessInfo, type VideoLookup } from '../ports.js';

/**
 * Who may see a video, from the video lookup with a short cache (one lookup per video at a time): joins and chat
 * messages of a popular video must not each cost a query. A change of visibility reaches realtime within `ttlMs`.
 */
export class VideoAccess {
  private readonly cache = new Map<string, { info: VideoAccessInfo | null; until: number }>();
  private readonly inflight = new Map<string, Promise<VideoAccessInfo | null>>();

  constructor(
    private readonly lookup: VideoLookup,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(videoId: string): Promise<VideoAccessInfo | null> {
    const hit = this.cache.get(videoId);
    if (hit && hit.until > Date.now()) return hit.info;
    let p = this.inflight.get(videoId);
    if (!p) {
      p = this.lookup(videoId).finally(() => this.inflight.delete(videoId));
      this.inflight.set(videoId, p);
    }
    const info = await p;
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(videoId, { info, until: Date.now() + this.ttlMs });
    return info;
  }

  /** The video when `userId` (null: anonymous) may see it, else null. */
  async visibleTo(videoId: string, userId: string | null): Promise<VideoAccessInfo | null> {
    const info = await this.get(videoId);
    return canSee(info, userId) ? info : null;
  }
}
