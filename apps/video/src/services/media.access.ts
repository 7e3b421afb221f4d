import { keyClass, type Cache } from '@kinora/cache';
import type { VideoRepository } from '../repositories/video.repository.js';

/**
 * Whether a video's media may be served without a signature, per video, in process only (a hot decision): a
 * player fetches a segment every few seconds and should not cost a query each time. A change evicts it on every
 * instance (the cache's invalidation feed); without Redis, another instance's change reaches it within the TTL.
 */
export const MEDIA_ACCESS_CLASS = keyClass<{ public: boolean }>({ name: 'media_access', ttlMs: 5_000, negativeTtlMs: 5_000, shared: false });

export class MediaAccess {
  constructor(
    private readonly videos: VideoRepository,
    private readonly cache: Cache,
  ) {}

  async isPublic(videoId: string): Promise<boolean> {
    return (await this.lookup(videoId))?.public === true;
  }

  async exists(videoId: string): Promise<boolean> {
    return (await this.lookup(videoId)) !== null;
  }

  /** Forgets a video (after a change committed). */
  invalidate(videoId: string): Promise<void> {
    return this.cache.invalidate(MEDIA_ACCESS_CLASS, videoId);
  }

  private lookup(videoId: string): Promise<{ public: boolean } | null> {
    return this.cache.get(MEDIA_ACCESS_CLASS, videoId, () => this.videos.mediaAccess(videoId));
  }
}
