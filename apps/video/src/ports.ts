import type { Principal } from '@kinora/contracts';
import type { VideoChannel, VideoStats } from '@kinora/contracts';

/**
 * Where the video service learns the uploader's channel (id, handle, name) when a video is created; the copy is
 * kept with the video. Embedded: the user module in-process. Cluster: the user service over HTTP.
 */
export interface ChannelDirectory {
  /** The principal's channel, or null when the user has none (yet: replicas may lag behind a registration). */
  /**
   * `lsn`: the caller's read-your-writes token (`Kinora-Lsn`), which names where the user service's database must be
   * for the registration this caller has seen: without it a replica that lags behind the registration says "no user".
   */
  channelOf(principal: Principal, request: ChannelRequest): Promise<VideoChannel | null>;
}

/** What of the caller's request a channel lookup passes on. */
export interface ChannelRequest {
  authorization?: string;
  lsn?: string;
}

/** Counters owned by analytics; zero until it reports. */
export interface VideoStatsReader {
  statsOf(videoIds: readonly string[]): Promise<Map<string, VideoStats>>;
  /** One video's totals when they are at hand without waiting (held fresh in process); undefined otherwise. */
  peek?(videoId: string): VideoStats | undefined;
}

export const zeroStats: VideoStatsReader = {
  statsOf: async () => new Map(),
};

export const ZERO_STATS: VideoStats = Object.freeze({ views: 0, likes: 0, dislikes: 0, comments: 0 });
