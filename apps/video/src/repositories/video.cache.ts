import { CACHE_TTLS, keyClass, type Cache } from '@kinora/cache';
import type { VideoRecord, VideoRepository } from './video.repository.js';

/** How many items of a feed's first page are cached; a request for fewer gets a slice of them. */
export const FEED_CACHE_ITEMS = 100;

const DATE_FIELDS = ['createdAt', 'updatedAt', 'publishedAt', 'deletedAt'] as const;

function reviveRecord(r: VideoRecord): VideoRecord {
  for (const f of DATE_FIELDS) {
    const v = r[f] as unknown;
    if (typeof v === 'string') (r as unknown as Record<string, Date>)[f] = new Date(v);
  }
  return r;
}

/**
 * Video metadata: the whole row, whoever may see it. The row is shared by every viewer; who may see it (owner,
 * private, unfinished) is decided per request after the cache (`canView`), so nothing private leaks through the
 * shared key. Changes evict it everywhere (pub/sub); "no such video" is remembered for a few seconds.
 */
export const VIDEO_CLASS = keyClass<VideoRecord>({
  name: 'video',
  ...CACHE_TTLS.metadata,
  decode: (text) => reviveRecord(JSON.parse(text) as VideoRecord),
});

/** First pages of the public feeds (`recent`, `trending`) and of channels: public ready videos only. */
export const FEED_CLASS = keyClass<VideoRecord[]>({
  name: 'feed',
  ...CACHE_TTLS.feed,
  decode: (text) => (JSON.parse(text) as VideoRecord[]).map(reviveRecord),
});

const PRIMARY = { primary: true } as const;

/**
 * The read side of videos through the cache. Misses read the primary (rows and feed pages alike): a fill right after
 * an invalidation must not store what a lagging replica still holds, for every instance and for minutes (the cache
 * takes the read load the replicas used to take).
 */
export class VideoCache {
  constructor(
    private readonly cache: Cache,
    private readonly videos: VideoRepository,
  ) {}

  /** The row (deleted rows are "not found"), from the cache. */
  async byId(id: string): Promise<VideoRecord | undefined> {
    const key = id.toLowerCase();
    return (await this.cache.get(VIDEO_CLASS, key, async () => (await this.videos.findById(key, { primary: true })) ?? null)) ?? undefined;
  }

  /** The row when this process holds it fresh (null: remembered as not found), at once; undefined otherwise. */
  peek(id: string): VideoRecord | null | undefined {
    return this.cache.peek(VIDEO_CLASS, id.toLowerCase());
  }

  /** Up to {@link FEED_CACHE_ITEMS} + 1 rows of a feed's first page (the extra one says whether a next page exists). */
  async firstPage(feed: 'recent' | 'trending'): Promise<VideoRecord[]> {
    const page = { limit: FEED_CACHE_ITEMS };
    const rows = await this.cache.get(FEED_CLASS, feed, () => (feed === 'trending' ? this.videos.listTrending(page, PRIMARY) : this.videos.listRecent(page, undefined, PRIMARY)));
    return rows ?? [];
  }

  async channelFirstPage(channelId: string): Promise<VideoRecord[]> {
    const key = `channel:${channelId.toLowerCase()}`;
    return (await this.cache.get(FEED_CLASS, key, () => this.videos.listRecent({ limit: FEED_CACHE_ITEMS }, channelId, PRIMARY))) ?? [];
  }

  /**
   * After a change of a video committed: its row, and the first pages it may be on or may have left (a video made
   * private or deleted leaves the feeds at once, not after their TTL).
   */
  async invalidate(id: string, channelId?: string): Promise<void> {
    const jobs = [this.cache.invalidate(VIDEO_CLASS, id.toLowerCase()), this.cache.invalidate(FEED_CLASS, 'recent'), this.cache.invalidate(FEED_CLASS, 'trending')];
    if (channelId) jobs.push(this.cache.invalidate(FEED_CLASS, `channel:${channelId.toLowerCase()}`));
    await Promise.all(jobs);
  }
}
