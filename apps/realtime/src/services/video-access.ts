import { keyClass, LayeredCache, type Cache, type KeyClass } from '@kinora/cache';
import { canSee, type VideoAccessInfo, type VideoLookup } from '../ports.js';

/**
 * Who may see a video, from the video lookup through the process's cache (an in-process key class: one lookup per
 * video at a time, unknown videos remembered as briefly as known ones): joins and chat messages of a popular video
 * must not each cost a query. A change of visibility reaches realtime within `ttlMs`.
 */
export class VideoAccess {
  private readonly cls: KeyClass<VideoAccessInfo>;

  constructor(
    private readonly lookup: VideoLookup,
    ttlMs: number,
    private readonly cache: Cache = new LayeredCache({ maxEntries: 10_000 }),
  ) {
    this.cls = keyClass<VideoAccessInfo>({ name: 'realtime_video_access', ttlMs, negativeTtlMs: ttlMs, shared: false });
  }

  get(videoId: string): Promise<VideoAccessInfo | null> {
    return this.cache.get(this.cls, videoId, () => this.lookup(videoId));
  }

  /** The video when `userId` (null: anonymous) may see it, else null. */
  async visibleTo(videoId: string, userId: string | null): Promise<VideoAccessInfo | null> {
    const info = await this.get(videoId);
    return canSee(info, userId) ? info : null;
  }
}
