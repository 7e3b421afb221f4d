import type { VideoRepository } from '../repositories/video.repository.js';

/**
 * Whether a video's media may be served without a signature (public and ready) and whether it exists at all,
 * cached for a few seconds per video: a player fetches a segment every few seconds and should not cost a query
 * each time. A change (made private, deleted) reaches the media route within `ttlMs`.
 */
export class MediaAccess {
  private readonly cache = new Map<string, { at: number; value: { public: boolean } | null }>();

  constructor(
    private readonly videos: VideoRepository,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10_000,
  ) {}

  async isPublic(videoId: string): Promise<boolean> {
    return (await this.lookup(videoId))?.public === true;
  }

  async exists(videoId: string): Promise<boolean> {
    return (await this.lookup(videoId)) !== null;
  }

  /** Forgets a video (after a change made in this process). */
  invalidate(videoId: string): void {
    this.cache.delete(videoId);
  }

  private async lookup(videoId: string): Promise<{ public: boolean } | null> {
    const now = Date.now();
    const hit = this.cache.get(videoId);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = await this.videos.mediaAccess(videoId);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(videoId, { at: now, value });
    return value;
  }
}
