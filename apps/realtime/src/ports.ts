import type { Visibility, VideoState } from '@kinora/contracts';

/** The counters of a video that analytics keeps (`stats` of the video resource). */
export interface VideoCounters {
  views: number;
  likes: number;
  dislikes: number;
  comments: number;
}

/**
 * Where realtime reads the counters of the videos its clients watch. Embedded: analytics' stats reader,
 * in-process. A video missing from the answer counts as all zeros.
 */
export type CountsSource = (videoIds: readonly string[]) => Promise<Map<string, VideoCounters>>;

export const zeroCounts: CountsSource = async () => new Map();

/**
 * Counters kept current by analytics' `analytics.counters` events (libs/projections `CountersView`): `statsOf`
 * answers from its cache, and `onVideoCounters` tells when a video's totals moved, so realtime pushes them at once
 * instead of polling analytics.
 */
export interface CountersFeed {
  statsOf(videoIds: readonly string[]): Promise<Map<string, VideoCounters>>;
  onVideoCounters(listener: (updates: ReadonlyArray<{ videoId: string }>) => void): () => void;
}

/** What realtime needs to know about a video: who owns it and whether others may see it. */
export interface VideoAccessInfo {
  id: string;
  ownerId: string;
  visibility: Visibility;
  state: VideoState;
  deleted: boolean;
}

/** Looks a video up (a projection of `video.lifecycle`); null when it is unknown. */
export type VideoLookup = (videoId: string) => Promise<VideoAccessInfo | null>;

/**
 * The contract's rule: a video that is not `ready`, or is private, is visible only to its owner; a deleted one to
 * nobody. Unlisted videos are visible to anyone who has the id.
 */
export function canSee(video: VideoAccessInfo | null, userId: string | null): video is VideoAccessInfo {
  if (!video || video.deleted) return false;
  if (userId !== null && video.ownerId === userId) return true;
  return video.state === 'ready' && video.visibility !== 'private';
}
